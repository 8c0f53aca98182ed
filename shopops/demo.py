"""`shopops demo`: the sandbox marketplaces → a real Prefect run → the SQLite warehouse.

Nothing to configure: it starts the sandbox on loopback (two Shopify shops, one WooCommerce
store), writes a sources file for it, migrates the warehouse, runs `ingest-orders` over the last
`days` days, loads the sandbox's supplier catalogue and prints what happened per source.
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
        sources_file.write_text(yaml.safe_dump({"sources": sources}, sort_keys=False))
        os.environ.update(sandbox.credentials())
        os.environ["SHOPOPS_SOURCES_FILE"] = str(sources_file)
        reset_settings_cache()
        settings = get_settings()

        from warehouse.migrate import upgrade

        upgrade()
        from flows.ingest import ingest_orders
        from shopops.prefect_api import local_prefect_api

        from flows.replenishment import replenishment
        from tasks.supply import import_supply
        from warehouse.engine import get_engine

        with local_prefect_api():  # PREFECT_API_URL if set (your server's UI), else a temporary one
            summary = ingest_orders(start=None, end=None)
            supply_file = data_dir / "sandbox-supply.csv"
            sandbox.write_supply_csv(supply_file)
            supply = import_supply(get_engine(), supply_file)
            plan = replenishment(history_days=days)

    _report(summary, supply.loaded, settings)
    _report_replenishment(plan)
    return 0


def _report_replenishment(plan: dict) -> None:
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


def _report(summary: list[dict], supply_loaded: int, settings) -> None:
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
    print(f"  {orders} orders, {lines} order lines, {products} products ({supply_loaded} with supplier terms)")
    if examples:
        print("  Some quarantined orders and why:")
        for source, external_id, reasons in examples:
            print(f"    {source} #{external_id or '(no id)'}: {'; '.join(json.loads(reasons))}")
    docs = settings.resolved_data_docs_dir() / "gx" / "uncommitted" / "data_docs" / "local_site" / "index.html"
    if docs.exists():
        print(f"  Data Docs (Great Expectations results): {docs.resolve()}")
    print(f"  Sources file used: {Path(os.environ['SHOPOPS_SOURCES_FILE'])}")
