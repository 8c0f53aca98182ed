"""replenishment: reorder suggestions and stock alerts for one business date.

Parameters, ordering and artifacts only; the work is in tasks/replenishment/.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta, timezone

import pandas as pd
from prefect import flow
from prefect.artifacts import create_table_artifact
from prefect.runtime import flow_run

from connectors.sources import load_sources
from flows.alerts import FAILURE_HOOKS
from flows.business_date import business_date
from flows.run_lock import one_run_per_date
from shopops.blocks import notify
from shopops.logs import get_logger, install_redaction
from shopops.settings import get_settings
from tasks.replenishment.backtest import backtest
from tasks.replenishment.plan import PlanSettings, build_plan
from tasks.replenishment.policy import SlowMoverSettings
from tasks.replenishment.purchase_lists import reminder, write_purchase_lists
from tasks.replenishment.store import ALERT_ORDER, replace_plan
from warehouse.engine import get_engine, write_transaction
from warehouse.migrate import check_schema


def _run_name(title: str):
    """A flow-run name that says what and for which date, e.g. "replenishment · 2026-11-20"."""
    return lambda: f"{title} · {(flow_run.parameters or {}).get('as_of') or 'scheduled date'}"


@flow(**FAILURE_HOOKS, name="replenishment", flow_run_name=_run_name("replenishment"), log_prints=False,
      description="Demand per SKU and stock pool, safety stock, reorder points and quantities, "
                  "and stock alerts for one business date.")
@one_run_per_date("replenishment")
def replenishment(as_of: date | None = None, history_days: int = 90, best_seller_cover_days: float = 15.0,
                  best_seller_revenue_share: float = 0.8, service_level: float = 0.95, review_days: float = 7.0,
                  target_cover_days: float = 30.0, default_lead_time_days: int = 14,
                  slow_mover_days: int = 30, return_rate_threshold: float = 0.2, hysteresis: float = 0.1,
                  reminder_block: str | None = None) -> dict:
    """Write replenishment_suggestions and stock_alerts for `as_of` (re-running replaces that date's rows).

    Args:
        as_of: Business date to plan for. Empty: the date the run was scheduled for, in the business time zone.
        history_days: Days of sales before `as_of` that demand is learnt from.
        best_seller_cover_days: Safety stock of best sellers, in days of forecast sales.
        best_seller_revenue_share: Best sellers are the SKUs making up this share of revenue, top down.
        service_level: Target probability of not running out during a lead time (others than best sellers).
        review_days: An order should last until the next review this many days later.
        target_cover_days: Below this many days of stock on hand a SKU is on the watch list.
        default_lead_time_days: Lead time of SKUs without supplier terms.
        slow_mover_days: A SKU in stock that has not sold for this many in-stock days gets a
            delisting warning (listings younger than this and pre-sale SKUs are exempt).
        return_rate_threshold: A SKU whose returned share of units sold passes this (once 10 have
            sold) gets a delisting warning.
        hysteresis: Yesterday's alert level is kept until its threshold is cleared by this share,
            so alerts do not flap on noise (0 turns it off).
        reminder_block: Prefect notification block that sends purchasing the reminder, as
            "<block-type>/<name>" (e.g. "custom-webhook/purchasing"). Empty: no reminder.
    """
    install_redaction()
    log = get_logger("shopops.flows")
    settings = PlanSettings(
        history_days=history_days, best_seller_cover_days=best_seller_cover_days,
        best_seller_revenue_share=best_seller_revenue_share, service_level=service_level,
        review_days=review_days, target_cover_days=target_cover_days, default_lead_time_days=default_lead_time_days,
        hysteresis=hysteresis, slow_movers=SlowMoverSettings(
            idle_days=slow_mover_days, new_listing_days=slow_mover_days, return_rate=return_rate_threshold))
    engine = get_engine()
    check_schema(engine)
    run_id = str(flow_run.id or uuid.uuid4())

    with engine.connect() as conn:
        plan = build_plan(conn, as_of, _stock_pools(), settings)
    with write_transaction(engine) as conn:
        alerts = replace_plan(conn, plan.rows, as_of, run_id, datetime.now(timezone.utc))
    lists = write_purchase_lists(plan.rows, as_of, get_settings().resolved_purchase_lists_dir())
    if not plan.previous_plan:
        log.info("replenishment %s: the day before was not planned, so no level is held over (hysteresis "
                 "starts tomorrow)", as_of)
    if plan.overdue_units:
        log.warning("replenishment %s: %d units on purchase orders are overdue (expected before today, not "
                    "received); they still count as on order", as_of, plan.overdue_units)
    for source, units in plan.unplanned_units.items():
        log.warning("replenishment: %d units sold by %s in the last %d days have no stock pool to plan them in "
                    "(set `stock_pool:` for %s in sources.yaml)", units, source, history_days, source)

    levels = alerts["level"].value_counts().to_dict()
    summary = {"as_of": as_of.isoformat(), "skus_planned": len(plan.rows),
               "to_order": int((plan.rows["suggested_quantity"] > 0).sum()),
               "delisting_warnings": int(plan.rows["delisting_warning"].sum()),
               "purchase_lists": [str(item.path) for item in lists],
               **{level: int(levels.get(level, 0)) for level in ALERT_ORDER}}
    log.info("replenishment %s: %d SKUs planned, %d to order; %d critical, %d warning, %d watch; "
             "%d delisting warnings", as_of, summary["skus_planned"], summary["to_order"], summary["critical"],
             summary["warning"], summary["watch"], summary["delisting_warnings"])
    summary["reminder"] = _remind(reminder_block, as_of, summary, alerts, lists, log)
    create_table_artifact(
        key="replenishment-alerts", table=_alert_table(alerts),
        description=f"Stock alerts for {as_of}: critical and warning first, then by revenue at risk "
                    f"({summary['critical']} critical, {summary['warning']} warning, {summary['watch']} watch).")
    return summary


@flow(**FAILURE_HOOKS, name="replenishment-backtest", flow_run_name=_run_name("replenishment back-test"), log_prints=False,
      description="The service level the replenishment policy would have reached over the last days, "
                  "against its target.")
def replenishment_backtest(as_of: date | None = None, test_days: int = 28, history_days: int = 90,
                           best_seller_cover_days: float = 15.0, best_seller_revenue_share: float = 0.8,
                           service_level: float = 0.95, review_days: float = 7.0,
                           default_lead_time_days: int = 14) -> dict:
    """Plan as the daily run would have on `as_of − test_days`, play that policy over the real sales
    up to `as_of`, and report the cycle service level and fill rate per tier (reads only).

    Args:
        as_of: The test ends the day before this date. Empty: the date the run was scheduled for, in the business time zone.
        test_days: Days the policy is played over; lead times longer than this complete no cycle.
        history_days: Days of sales before the split that demand is learnt from.
        best_seller_cover_days: Safety stock of best sellers, in days of forecast sales.
        best_seller_revenue_share: Best sellers are the SKUs making up this share of revenue, top down.
        service_level: The target the formula's safety stock is set for, and the one reported against.
        review_days: An order should last until the next review this many days later.
        default_lead_time_days: Lead time of SKUs without supplier terms.
    """
    install_redaction()
    log = get_logger("shopops.flows")
    as_of = business_date(as_of)
    settings = PlanSettings(
        history_days=history_days, best_seller_cover_days=best_seller_cover_days,
        best_seller_revenue_share=best_seller_revenue_share, service_level=service_level,
        review_days=review_days, default_lead_time_days=default_lead_time_days)
    engine = get_engine()
    check_schema(engine)
    with engine.connect() as conn:
        result = backtest(conn, as_of, _stock_pools(), settings, test_days)
    tiers = result.summary.to_dict("records")
    for tier in tiers:
        log.info("replenishment back-test %s → %s, %s: %d items, %d cycles, cycle service level %s (target %.0f%%), "
                 "fill rate %s", result.split, result.as_of, tier["tier"], tier["items"], tier["cycles"],
                 _percent(tier["cycle_service_level"]), 100 * service_level, _percent(tier["fill_rate"]))
    create_table_artifact(
        key="replenishment-backtest", table=[{
            "tier": t["tier"], "items": t["items"], "orders": t["orders"], "cycles": t["cycles"],
            "cycles with a lost sale": t["cycles_short"], "cycle service level": _percent(t["cycle_service_level"]),
            "target": _percent(t["target_service_level"]), "fill rate": _percent(t["fill_rate"]),
        } for t in tiers],
        description=f"The policy planned on {result.split}, played over the real sales to {as_of - timedelta(days=1)}.")
    return {"split": result.split.isoformat(), "as_of": as_of.isoformat(), "tiers": tiers}


def _percent(share: float) -> str:
    return "n/a" if pd.isna(share) else f"{100 * share:.1f}%"



def _remind(block_name, as_of, summary, alerts, lists, log) -> str:
    """Send the reminder; a failure is logged and reported, never undoes the committed plan."""
    if not block_name:
        return "not configured"
    subject, body = reminder(as_of, summary, alerts, lists)
    try:
        notify(block_name, subject, body)
    except Exception as error:  # the plan is stored; purchasing can still read the lists
        log.error("replenishment %s: reminder through %s not sent: %s", as_of, block_name, error)
        return f"failed: {error}"
    log.info("replenishment %s: reminder sent through %s", as_of, block_name)
    return "sent"



def _stock_pools() -> dict[str, str]:
    path = get_settings().resolved_sources_file()
    if not path.exists():
        return {}
    return {s.name: s.options.get("stock_pool", s.name) for s in load_sources(path, None)}


def _alert_table(alerts, limit: int = 200) -> list[dict]:
    shown = alerts.head(limit)
    return [{
        "level": row.level, "sku": row.sku, "pool": row.location, "reason": row.reason,
        "days of cover": None if pd.isna(row.days_of_cover) else round(row.days_of_cover, 1),
        "stock-out": str(row.stockout_date or ""), "order": int(row.suggested_quantity),
        "on order": int(row.on_order),
        "revenue at risk": round(row.revenue_at_risk, 2),
    } for row in shown.itertuples()]
