"""`shopops demo`: the sandbox marketplaces → a real Prefect run → the SQLite warehouse.

Nothing to configure: it starts the sandbox on loopback (two Shopify shops, one WooCommerce
store), writes a sources file for it, migrates the warehouse, runs `ingest-orders` over the last
`days` days, imports the purchasing team's data (supplier terms, stock history, purchase orders),
the promotion calendar and the pricing sheets, runs the satisfaction survey over the days before
today, then `daily-operations` for today: the load, its gate, and replenishment (the reminder goes
to the sandbox's webhook), price monitoring (a polite crawl of the sandbox's competitor sites),
promotion review and the satisfaction survey side by side (the sandbox's desk, survey provider,
SMTP server and SMS endpoint); then back-tests the policy and prints what happened.
"""

from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path

import yaml
from sqlalchemy import func, select

from shopops.settings import get_settings, reset_settings_cache


def run_demo(days: int = 90) -> int:
    from connectors.sandbox import Sandbox, SandboxConfig

    settings = get_settings()
    data_dir = settings.data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    config = replace(SandboxConfig.demo(), days=days)
    print(f"Starting the sandbox marketplaces ({', '.join(s.name for s in config.stores)}) with {days} days of orders. "
          "The Shopify shops enforce Shopify's real limit of 2 calls a second, and the connectors pace "
          "themselves under it, so this takes a minute or two.")
    with Sandbox(config) as sandbox:
        sources_file = data_dir / "sandbox-sources.yaml"
        sources = sandbox.sources()
        for source in sources:
            store = next(s for s in config.stores if s.name == source["name"])
            source["currency"] = store.currency
        sources_file.write_text(yaml.safe_dump({"sources": sources, "services": sandbox.support_settings()},
                                               sort_keys=False))
        os.environ.update(sandbox.credentials())
        os.environ["SHOPOPS_SOURCES_FILE"] = str(sources_file)
        reset_settings_cache()
        settings = get_settings()

        from warehouse.migrate import upgrade

        upgrade()
        from flows.ingest import ingest_orders
        from shopops.prefect_api import local_prefect_api

        from flows.daily_operations import daily_operations
        from flows.replenishment import replenishment_backtest
        from shopops.blocks import save_reminder_block

        with local_prefect_api():  # PREFECT_API_URL if set (your server's UI), else a temporary one
            summary = ingest_orders(start=None, end=None)  # the first load: the whole history
            supply = _import_purchasing_data(sandbox, data_dir)
            calendar = _import_promotion_calendar(sandbox, data_dir)  # before replenishment: it skips promotion days
            reminder_block = save_reminder_block("sandbox-purchasing", sandbox.notification_url("purchasing"))
            tracked = _import_pricing_data(sandbox, data_dir)
            surveys = _run_surveys(sandbox)  # the days before today, so today's scores have answers
            print("\nRunning daily-operations for today: the load up to now, its gate, then replenishment, price "
                  "monitoring, promotion review and the satisfaction survey side by side.")
            day = daily_operations(parameters={"replenishment": {"history_days": days, "reminder_block": reminder_block}})
            backtest = replenishment_backtest(test_days=28, history_days=max(days - 28, 14))
        received = sandbox.notifications("purchasing")
    results = day["results"]
    plan, pricing, promotions = results["replenishment"], results["price-monitoring"], results["promotion-review"]
    surveys.append(results["satisfaction-survey"])

    _report(summary, supply, settings)
    print(f"\nDaily operations for {day['as_of']}: orders of every source loaded up to {day['cut_off'][:16]} UTC and "
          "reconciled with the load audit (the gate), then " + ", ".join(
              f"{name} {day[name]}" for name in ("replenishment", "price-monitoring", "promotion-review",
                                                 "satisfaction-survey")) + ".")
    _report_replenishment(plan, received[-1]["body"]["subject"] if received else None)
    _report_backtest(backtest)
    _report_pricing(pricing, tracked)
    _report_promotions(promotions, calendar)
    _report_surveys(surveys)
    return 0


SURVEY_DAYS = 10


def _run_surveys(sandbox) -> list[dict]:
    """The satisfaction survey of each of the days before today, the sandbox's clock at noon of each, so the
    invitations of one day are answered in the days after (its customers answer within three days)."""
    from datetime import datetime, time, timedelta, timezone

    from flows.satisfaction_survey import satisfaction_survey, survey_dispatch

    anchor = sandbox.clock.now()
    days = [(anchor - timedelta(days=n)).date() for n in range(SURVEY_DAYS - 1, 0, -1)]  # today: daily-operations
    try:
        summaries = []
        for day in days:
            sandbox.clock.set(datetime.combine(day, time(12), tzinfo=timezone.utc))
            summaries.append(satisfaction_survey(as_of=day))
            # The hourly dispatch when it is morning in New York: shop-us's customers were asleep at 10:00 UTC.
            afternoon = datetime.combine(day, time(14), tzinfo=timezone.utc)
            sandbox.clock.set(afternoon)
            survey_dispatch(at=afternoon)
        return summaries
    finally:
        sandbox.clock.set(anchor)


def _report_surveys(summaries: list[dict]) -> None:
    from warehouse.engine import get_engine

    last = summaries[-1]
    with get_engine().connect() as conn:
        counts = dict(conn.exec_driver_sql("SELECT status, COUNT(*) FROM survey_invitations GROUP BY status").all())
        validity = dict(conn.exec_driver_sql("SELECT validity, COUNT(*) FROM survey_responses GROUP BY validity").all())
    levels = last.get("service_levels", {})
    print(f"\nSatisfaction surveys, {summaries[0]['as_of']} to {last['as_of']}: {counts.get('sent', 0)} invitations sent "
          f"(by e-mail to the sandbox's SMTP server, by SMS to its Twilio endpoint), {counts.get('suppressed', 0)} "
          f"suppressed with their reasons, {counts.get('deferred', 0)} waiting for the end of quiet hours; "
          f"{validity.get('valid', 0)} answers counted, {sum(validity.values()) - validity.get('valid', 0)} refused "
          f"(tampered, replayed, expired). On {last['as_of']}: NPS {last['scores'].get('nps')}, CSAT "
          f"{last['scores'].get('csat')}%; complaints answered in time {levels.get('first_reply_sla')}%, chats within "
          f"30 s {levels.get('chat_first_response')}%; {last['breaches']} complaints past their deadline, "
          f"{last['at_risk']} close to it (tables survey_invitations, survey_responses, satisfaction_scores, "
          "sla_breaches, complaint_causes; the runs' artifacts hold the scores and the breach list).")


def _import_promotion_calendar(sandbox, data_dir: Path) -> int:
    """The marketing team's promotion calendar, as the sandbox writes it."""
    from tasks.promotions.calendar import import_calendar
    from warehouse.engine import get_engine

    return import_calendar(get_engine(), sandbox.write_promotion_calendar(data_dir / "sandbox-promotions.csv")).loaded


def _report_promotions(summary: dict, loaded: int) -> None:
    print(f"\nPromotion review for {summary['as_of']}: {summary['promotions']} of the {loaded} promotions in the "
          f"calendar reviewed ({summary.get('provisional', 0)} still running): {summary.get('repeat', 0)} to repeat, "
          f"{summary.get('adjust', 0)} to adjust, {summary.get('stop', 0)} to stop, "
          f"{summary.get('not enough data', 0)} without enough data to say; "
          f"{summary.get('attributed_lines', 0)} order lines attributed "
          "(tables promotion_reviews and promotion_attributions; the scorecard is the run's artifact).")


DEMO_TRACKED_SKUS = 30  # per competitor: a polite crawl (a second between pages) of all 5,000 pages takes 15 minutes


def _import_pricing_data(sandbox, data_dir: Path) -> int:
    """The pricing team's sheets, from the sandbox: the competitor catalogue (a sample of it, the
    traffic SKUs first) and the pricing rules; the crawler may visit the sandbox's loopback sites."""
    import pandas as pd

    from tasks.pricing.sheets import import_catalogue, import_rules
    from warehouse.engine import get_engine

    engine = get_engine()
    rules = pd.read_csv(sandbox.write_pricing_rules_csv(data_dir / "sandbox-pricing-rules.csv"), dtype=str,
                        keep_default_na=False)
    import_rules(engine, data_dir / "sandbox-pricing-rules.csv")
    catalogue = pd.read_csv(sandbox.write_competitor_catalogue_csv(data_dir / "sandbox-competitors.csv"), dtype=str,
                            keep_default_na=False)
    traffic = set(rules.loc[rules["role"] == "traffic", "sku"])
    catalogue = catalogue.assign(_traffic=~catalogue["sku"].isin(traffic)).sort_values(["competitor", "_traffic", "sku"])
    sample = catalogue.groupby("competitor").head(DEMO_TRACKED_SKUS).drop(columns="_traffic")
    sample.to_csv(data_dir / "sandbox-competitors-tracked.csv", index=False)
    import_catalogue(engine, data_dir / "sandbox-competitors-tracked.csv")
    # The sandbox's sites are on 127.0.0.1, which the crawler refuses unless allowed; they price in
    # their own currency at par with ours.
    os.environ["SHOPOPS_CRAWLER_ALLOWED_HOSTS"] = '["127.0.0.1"]'
    os.environ["SHOPOPS_PRICING_FX_RATES"] = json.dumps({site.currency: 1.0 for site in sandbox.config.competitors})
    reset_settings_cache()
    return len(sample)


def _report_pricing(pricing: dict, tracked: int) -> None:
    crawl = pricing["crawl"] or {}
    print(f"\nPrice monitoring for {pricing['as_of']}: {crawl.get('pages', 0)} competitor pages crawled politely "
          f"({tracked} tracked; statuses {crawl.get('statuses', {})}).")
    print(f"  {pricing['skus']} SKUs priced: {pricing['raise']} to raise, {pricing['lower']} to lower, "
          f"{pricing['keep']} kept, {pricing['review']} to review; {pricing['floor_binds']} held at the cost floor, "
          f"{pricing['out_of_band']} outside their band; {pricing['alerts']} alerts "
          "(tables market_prices, price_recommendations, price_alerts, competitor_health).")
    broken = ", ".join(pricing["broken_competitors"]) or "none"
    print(f"  Competitors whose pages could not be read: {broken}")


def _import_purchasing_data(sandbox, data_dir: Path) -> dict:
    """What the purchasing team would hand over: supplier terms, the ERP's stock history, open and
    received purchase orders (the sandbox writes them as CSV, the importers read them)."""
    from tasks.purchasing import import_purchase_orders
    from tasks.stock_history import import_stock_history
    from tasks.supply import import_supply
    from warehouse.engine import get_engine

    engine = get_engine()
    supply = import_supply(engine, sandbox.write_supply_csv(data_dir / "sandbox-supply.csv"))
    stock = import_stock_history(engine, sandbox.write_stock_history_csv(data_dir / "sandbox-stock-history.csv"))
    orders = import_purchase_orders(engine, sandbox.write_purchase_orders_csv(data_dir / "sandbox-purchase-orders.csv"))
    return {"supplier terms": supply.loaded, "stock history changes": stock.stored,
            "purchase order lines": orders.loaded, "open purchase order lines": orders.open_lines}


def _report_replenishment(plan: dict, reminder_subject: str | None) -> None:
    from warehouse.engine import get_engine
    from warehouse.models import StockAlert

    with get_engine().connect() as conn:
        urgent = conn.execute(select(StockAlert.sku, StockAlert.location, StockAlert.level, StockAlert.reason,
                                     StockAlert.suggested_quantity)
                              .where(StockAlert.as_of_date == plan["as_of"], StockAlert.level == "critical")
                              .order_by(StockAlert.revenue_at_risk.desc()).limit(5)).all()
    print(f"\nReplenishment for {plan['as_of']}: {plan['skus_planned']} SKUs planned, {plan['to_order']} to order; "
          f"{plan['critical']} critical, {plan['warning']} warning, {plan['watch']} watch, "
          f"{plan['delisting_warnings']} delisting warnings (tables replenishment_suggestions and stock_alerts).")
    for sku, pool, level, reason, quantity in urgent:
        print(f"  {level:<8} {sku} ({pool}): {reason}; order {quantity}")
    if plan["purchase_lists"]:
        print(f"  {len(plan['purchase_lists'])} purchase lists, one per supplier, in {Path(plan['purchase_lists'][0]).parent}")
    if reminder_subject:
        print(f"  Reminder to purchasing ({plan['reminder']}, received by the sandbox's webhook): {reminder_subject}")


def _report_backtest(backtest: dict) -> None:
    print(f"\nBack-test: the policy planned on {backtest['split']}, played over the real sales to {backtest['as_of']}:")
    for tier in backtest["tiers"]:
        reached = "n/a" if tier["cycles"] == 0 else f"{100 * tier['cycle_service_level']:.1f}%"
        print(f"  {tier['tier']:<34} cycle service level {reached} (target {100 * tier['target_service_level']:.0f}%) "
              f"over {tier['cycles']} cycles, fill rate {100 * tier['fill_rate']:.1f}%")


def _report(summary: list[dict], purchasing: dict, settings) -> None:
    from warehouse.engine import get_engine
    from warehouse.models import Order, OrderLine, Product, Quarantine

    columns = ["source", "fetched", "inserted", "updated", "unchanged", "duplicates", "quarantined", "seconds"]
    print("\nOrders per source (fetched = inserted + updated + unchanged + duplicates + quarantined):")
    widths = {c: max(len(c), *(len(str(r[c])) for r in summary)) for c in columns}
    print("  " + "  ".join(c.rjust(widths[c]) if c != "source" else c.ljust(widths[c]) for c in columns))
    for row in summary:
        print("  " + "  ".join(str(row[c]).rjust(widths[c]) if c != "source" else str(row[c]).ljust(widths[c]) for c in columns))

    engine = get_engine()
    with engine.connect() as conn:
        orders = conn.execute(select(func.count()).select_from(Order)).scalar_one()
        lines = conn.execute(select(func.count()).select_from(OrderLine)).scalar_one()
        products = conn.execute(select(func.count()).select_from(Product)).scalar_one()
        examples = conn.execute(select(Quarantine.source, Quarantine.external_id, Quarantine.reasons)
                                .where(Quarantine.stream == "orders").order_by(Quarantine.id).limit(5)).all()
    print(f"\nWarehouse: {engine.url.render_as_string(hide_password=True)}")
    print(f"  {orders} orders, {lines} order lines, {products} products; purchasing data imported: "
          + ", ".join(f"{count} {what}" for what, count in purchasing.items()))
    if examples:
        print("  Some quarantined orders and why:")
        for source, external_id, reasons in examples:
            print(f"    {source} #{external_id or '(no id)'}: {'; '.join(json.loads(reasons))}")
    docs = settings.resolved_data_docs_dir() / "gx" / "uncommitted" / "data_docs" / "local_site" / "index.html"
    if docs.exists():
        print(f"  Data Docs (Great Expectations results): {docs.resolve()}")
    print(f"  Sources file used: {Path(os.environ['SHOPOPS_SOURCES_FILE'])}")
