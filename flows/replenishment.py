"""replenishment: reorder suggestions and stock alerts for one business date.

Parameters, ordering and artifacts only; the work is in tasks/replenishment/.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime, timezone

import pandas as pd
from prefect import flow
from prefect.artifacts import create_table_artifact
from prefect.runtime import flow_run

from connectors.sources import load_sources
from shopops.logs import get_logger, install_redaction
from shopops.settings import get_settings
from tasks.replenishment.plan import PlanSettings, build_plan
from tasks.replenishment.policy import SlowMoverSettings
from tasks.replenishment.store import ALERT_ORDER, replace_plan
from warehouse.engine import get_engine, write_transaction
from warehouse.migrate import check_schema


def _run_name() -> str:
    return f"replenishment · {(flow_run.parameters or {}).get('as_of') or 'scheduled date'}"


@flow(name="replenishment", flow_run_name=_run_name, log_prints=False,
      description="Demand per SKU and stock pool, safety stock, reorder points and quantities, "
                  "and stock alerts for one business date.")
def replenishment(as_of: date | None = None, history_days: int = 90, best_seller_cover_days: float = 15.0,
                  best_seller_revenue_share: float = 0.8, service_level: float = 0.95, review_days: float = 7.0,
                  target_cover_days: float = 30.0, default_lead_time_days: int = 14,
                  slow_mover_days: int = 30) -> dict:
    """Write replenishment_suggestions and stock_alerts for `as_of` (re-running replaces that date's rows).

    Args:
        as_of: Business date to plan for. Empty: the date the run was scheduled for (UTC).
        history_days: Days of sales before `as_of` that demand is learnt from.
        best_seller_cover_days: Safety stock of best sellers, in days of forecast sales.
        best_seller_revenue_share: Best sellers are the SKUs making up this share of revenue, top down.
        service_level: Target probability of not running out during a lead time (others than best sellers).
        review_days: An order should last until the next review this many days later.
        target_cover_days: Below this many days of stock on hand a SKU is on the watch list.
        default_lead_time_days: Lead time of SKUs without supplier terms.
        slow_mover_days: A SKU in stock that has not sold for this many in-stock days gets a
            delisting warning (listings younger than this and pre-sale SKUs are exempt).
    """
    install_redaction()
    log = get_logger("shopops.flows")
    as_of = as_of or _scheduled_date()
    as_of = date(as_of.year, as_of.month, as_of.day)  # a plain date: Prefect may hand over a subclass
    settings = PlanSettings(
        history_days=history_days, best_seller_cover_days=best_seller_cover_days,
        best_seller_revenue_share=best_seller_revenue_share, service_level=service_level,
        review_days=review_days, target_cover_days=target_cover_days, default_lead_time_days=default_lead_time_days,
        slow_movers=SlowMoverSettings(idle_days=slow_mover_days, new_listing_days=slow_mover_days))
    engine = get_engine()
    check_schema(engine)
    run_id = str(flow_run.id or uuid.uuid4())

    with engine.connect() as conn:
        plan = build_plan(conn, as_of, _stock_pools(), settings)
    with write_transaction(engine) as conn:
        alerts = replace_plan(conn, plan.rows, as_of, run_id, datetime.now(timezone.utc))
    for source, units in plan.unplanned_units.items():
        log.warning("replenishment: %d units sold by %s in the last %d days have no stock pool to plan them in "
                    "(set `stock_pool:` for %s in sources.yaml)", units, source, history_days, source)

    levels = alerts["level"].value_counts().to_dict()
    summary = {"as_of": as_of.isoformat(), "skus_planned": len(plan.rows),
               "to_order": int((plan.rows["suggested_quantity"] > 0).sum()),
               "delisting_warnings": int(plan.rows["delisting_warning"].sum()),
               **{level: int(levels.get(level, 0)) for level in ALERT_ORDER}}
    log.info("replenishment %s: %d SKUs planned, %d to order; %d critical, %d warning, %d watch; "
             "%d delisting warnings", as_of, summary["skus_planned"], summary["to_order"], summary["critical"],
             summary["warning"], summary["watch"], summary["delisting_warnings"])
    create_table_artifact(
        key="replenishment-alerts", table=_alert_table(alerts),
        description=f"Stock alerts for {as_of}: critical and warning first, then by revenue at risk "
                    f"({summary['critical']} critical, {summary['warning']} warning, {summary['watch']} watch).")
    return summary


def _scheduled_date() -> date:
    scheduled = flow_run.scheduled_start_time
    return (scheduled.astimezone(timezone.utc) if scheduled else datetime.now(timezone.utc)).date()


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
        "revenue at risk": round(row.revenue_at_risk, 2),
    } for row in shown.itertuples()]
