"""The `shopops` command."""

from __future__ import annotations

import argparse
import logging
import sys
from datetime import datetime, timezone
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="shopops", description="Operations pipeline of a multi-marketplace retailer.")
    commands = parser.add_subparsers(dest="command", required=True)

    demo = commands.add_parser("demo", help="Start the sandbox marketplaces and ingest the last 90 days into the warehouse.")
    demo.add_argument("--days", type=int, default=90, help="history to generate and ingest (default 90)")

    sandbox = commands.add_parser("sandbox", help="Serve the sandbox marketplaces on loopback until interrupted.")
    sandbox.add_argument("--port", type=int, default=8765)
    sandbox.add_argument("--seed", type=int, default=7)
    sandbox.add_argument("--days", type=int, default=90)
    sandbox.add_argument("--orders", type=int, help="scale to about this many orders (benchmark mode, no rate limit)")
    sandbox.add_argument("--anchor", type=_utc_time, help="when the generated history ends (default: now, to the hour)")
    sandbox.add_argument("--write-sources", type=Path, metavar="FILE",
                         help="write a sources.yaml pointing at this sandbox (credentials as env variables)")

    db = commands.add_parser("db", help="Warehouse schema.")
    db_commands = db.add_subparsers(dest="db_command", required=True)
    db_commands.add_parser("upgrade", help="Create or migrate the warehouse to the current schema.")
    db_commands.add_parser("current", help="Show the warehouse's schema revision.")

    ingest = commands.add_parser("ingest", help="Run the ingest-orders flow once, here.")
    ingest.add_argument("--source", action="append", dest="sources", help="a source name (repeatable); default all")
    ingest.add_argument("--start", type=_utc_time, help="window start, ISO 8601 (UTC if no offset)")
    ingest.add_argument("--end", type=_utc_time, help="window end, ISO 8601 (UTC if no offset)")

    restore = commands.add_parser("restore", help="Rebuild orders from the raw payloads in the warehouse, here "
                                  "(after a fix to a normaliser or rule, or lost rows); no marketplace is asked.")
    restore.add_argument("--source", action="append", dest="sources", help="a source name (repeatable); default all")
    restore.add_argument("--start", type=_utc_time, help="orders updated at or after, ISO 8601 (UTC if no offset)")
    restore.add_argument("--end", type=_utc_time, help="orders updated before, ISO 8601 (UTC if no offset)")

    backfill = commands.add_parser("backfill", help="Run a flow over a past date range in chunks, here (resumes "
                                   "a backfill with the same arguments from its first unfinished chunk).")
    backfill.add_argument("flow", choices=["ingest-orders", "daily-operations", "replenishment", "price-monitoring",
                                           "promotion-review", "satisfaction-survey"])
    backfill.add_argument("--start", type=_day, required=True, help="first business date, YYYY-MM-DD")
    backfill.add_argument("--end", type=_day, required=True, help="last business date (included), YYYY-MM-DD")
    backfill.add_argument("--chunk", choices=["day", "week", "month"], default="day")
    backfill.add_argument("--max-concurrent", type=int, default=1, help="chunks at once (default 1: in date order)")
    backfill.add_argument("--restart", action="store_true", help="run the completed chunks again too")

    products = commands.add_parser("products", help="Product catalogue.")
    product_commands = products.add_subparsers(dest="products_command", required=True)
    supply = product_commands.add_parser("import-supply", help="Load pack sizes, MOQs, lead times and suppliers from a CSV.")
    supply.add_argument("file", type=Path)
    stock_history = product_commands.add_parser(
        "import-stock-history", help="Load end-of-day stock from before shopops ran (an ERP export, CSV).")
    stock_history.add_argument("file", type=Path)

    purchasing = commands.add_parser("purchasing", help="Purchase orders.")
    purchasing_commands = purchasing.add_subparsers(dest="purchasing_command", required=True)
    orders = purchasing_commands.add_parser(
        "import-orders", help="Load purchase orders (the purchasing system's CSV export); re-importing updates them.")
    orders.add_argument("file", type=Path)

    pricing = commands.add_parser("pricing", help="Price monitoring sheets.")
    pricing_commands = pricing.add_subparsers(dest="pricing_command", required=True)
    pricing_commands.add_parser(
        "import-catalogue", help="Load the competitor catalogue (sku,competitor,url,price_selector,active).").add_argument(
        "file", type=Path)
    pricing_commands.add_parser(
        "import-rules", help="Load the pricing rules (sku,role,min_margin,member_price).").add_argument("file", type=Path)

    promotions = commands.add_parser("promotions", help="The promotion calendar.")
    promotion_commands = promotions.add_subparsers(dest="promotions_command", required=True)
    promotion_commands.add_parser(
        "import-calendar", help="Load the promotion calendar (CSV: promotion_id,name,type,parameters,starts_at,"
        "ends_at,skus,categories,channels,member_only,codes); re-importing updates it.").add_argument("file", type=Path)
    promotion_commands.add_parser(
        "import-marketplaces", help="Read the promotions the marketplaces store (Shopify price rules, WooCommerce "
        "coupons); the promotion-review flow also does this first.").add_argument(
        "--sources", nargs="*", help="only these sources (default: every one in the sources file)")

    blocks = commands.add_parser("blocks", help="Prefect blocks shopops uses.")
    block_commands = blocks.add_subparsers(dest="blocks_command", required=True)
    block_commands.add_parser("register", help="Register shopops's block types (shopops-warehouse, "
                              "shopops-marketplace-credentials) with the Prefect API, so the UI can create them.")
    remind = block_commands.add_parser(
        "create-reminder", help="Save a webhook notification block for the replenishment reminder to purchasing.")
    remind.add_argument("--url", required=True, help="where the reminder is POSTed as JSON {subject, body}")
    remind.add_argument("--name", default="purchasing", help="block name (default: purchasing)")

    report = commands.add_parser("report", help="Reports from the warehouse.")
    report_commands = report.add_subparsers(dest="report_command", required=True)
    net_sales = report_commands.add_parser(
        "net-sales", help="Gross − discounts − refunds per business day, source and currency (refunds on their own day).")
    net_sales.add_argument("--start", type=_day, required=True, help="first day, YYYY-MM-DD")
    net_sales.add_argument("--end", type=_day, required=True, help="last day (included), YYYY-MM-DD")
    net_sales.add_argument("--by", choices=["refund", "order"], default="refund",
                           help="date refunds by the refund (default) or by their order")
    net_sales.add_argument("--convert", action="store_true",
                           help="add each amount in SHOPOPS_REPORTING_CURRENCY at the day's rate (shopops fx import)")
    fx = commands.add_parser("fx", help="Exchange rates into the reporting currency.")
    fx_commands = fx.add_subparsers(dest="fx_command", required=True)
    fx_commands.add_parser("import", help="Load dated rates from a CSV (date,currency,rate: one unit of currency in "
                           "the reporting currency).").add_argument("file", type=Path)

    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # Libraries' chatter (one line per Prefect API call, Alembic's plugin set-up, GE's temporary
    # folders) would bury the pipeline's own progress lines.
    for noisy in ("httpx", "alembic.runtime.plugins", "great_expectations"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    from shopops.logs import install_redaction

    install_redaction()
    if args.command == "demo":
        from shopops.demo import run_demo

        return run_demo(days=args.days)
    if args.command == "sandbox":
        return _serve_sandbox(args)
    if args.command == "db":
        return _db(args)
    if args.command == "ingest":
        from flows.ingest import ingest_orders

        summary = ingest_orders(sources=args.sources, start=args.start, end=args.end)
        _print_table(summary, ["source", "status", "fetched", "inserted", "updated", "unchanged", "duplicates", "quarantined"])
        return 0
    if args.command == "restore":
        from flows.restore import restore_orders

        summary = restore_orders(sources=args.sources, start=args.start, end=args.end)
        _print_table(summary, ["source", "status", "fetched", "inserted", "updated", "unchanged", "quarantined"])
        return 0
    if args.command == "backfill":
        from flows.backfill import backfill as run_backfill

        summary = run_backfill(flow=args.flow, start=args.start, end=args.end, chunk=args.chunk,
                               max_concurrent=args.max_concurrent, restart=args.restart)
        print(f"backfill {args.flow} {args.start} → {args.end}: {summary['completed']} of {summary['chunks']} "
              f"chunks completed")
        return 0
    if args.command == "products" and args.products_command == "import-supply":
        from tasks.supply import import_supply

        return _import(import_supply, args.file, lambda r: f"{r.loaded} SKUs updated from {args.file}")
    if args.command == "products":
        from tasks.stock_history import import_stock_history

        return _import(import_stock_history, args.file, lambda r: f"{r.rows} stock rows read from {args.file}; "
                       f"{r.stored} changes stored (the rest repeat the day before)")
    if args.command == "purchasing":
        from tasks.purchasing import import_purchase_orders

        return _import(import_purchase_orders, args.file, lambda r: f"{r.loaded} purchase order lines loaded from "
                       f"{args.file} ({r.open_lines} open)")
    if args.command == "pricing":
        from tasks.pricing.sheets import import_catalogue, import_rules

        importer, what = ((import_catalogue, "competitor pages") if args.pricing_command == "import-catalogue"
                          else (import_rules, "pricing rules"))
        return _import(importer, args.file, lambda r: f"{r.loaded} {what} loaded from {args.file}")
    if args.command == "promotions" and args.promotions_command == "import-marketplaces":
        return _import_marketplace_promotions(args.sources)
    if args.command == "promotions":
        from tasks.promotions.calendar import import_calendar

        return _import(import_calendar, args.file, lambda r: f"{r.loaded} promotions loaded from {args.file}")
    if args.command == "report":
        from datetime import timedelta

        from shopops.settings import get_settings
        from tasks.operations.net_sales import net_sales_by_day
        from warehouse.engine import get_engine

        from tasks.fx import MissingRate

        settings = get_settings()
        try:
            table = net_sales_by_day(get_engine(), args.start, args.end + timedelta(days=1), settings.business_timezone,
                                     by=args.by, reporting=settings.reporting_currency if args.convert else None)
        except MissingRate as exc:
            print(f"net sales: {exc}", file=sys.stderr)
            return 1
        _print_table(table.to_dict("records"), list(table.columns))
        return 0
    if args.command == "fx":
        from tasks.fx import import_fx_rates

        return _import(import_fx_rates, args.file, lambda r: f"{r.loaded} exchange rates loaded from {args.file}")
    if args.command == "blocks" and args.blocks_command == "register":
        from shopops.blocks import register_block_types

        print(f"registered block types: {', '.join(register_block_types())} (Blocks → Add in the Prefect UI)")
        return 0
    if args.command == "blocks":
        from shopops.blocks import save_reminder_block

        print(f"saved notification block {save_reminder_block(args.name, args.url)}; pass it to replenishment "
              "as reminder_block")
        return 0
    return 2


def _import_marketplace_promotions(names: list[str] | None) -> int:
    from connectors.sources import load_sources
    from shopops.settings import get_settings
    from tasks.promotions.marketplace import import_marketplace_promotions
    from warehouse.engine import get_engine

    from warehouse.migrate import check_schema

    engine = get_engine()
    check_schema(engine)
    results = import_marketplace_promotions(engine, load_sources(get_settings().resolved_sources_file(), names))
    for result in results:
        print(f"{result.source}: " + (f"failed: {result.error}" if result.error else
                                      f"{result.loaded} promotions loaded, {len(result.problems)} not reviewable"))
        for problem in result.problems:
            print(f"  {problem}")
    return 1 if any(result.error for result in results) else 0


def _db(args) -> int:
    from shopops.settings import get_settings
    from warehouse.engine import get_engine
    from warehouse.migrate import current_revision, head_revision, upgrade

    url = get_settings().resolved_warehouse_url()
    where = get_engine(url).url.render_as_string(hide_password=True)
    if args.db_command == "upgrade":
        revision = upgrade(url)
        print(f"warehouse {where} is at revision {revision} (head {head_revision()})")
    else:
        print(f"warehouse {where}: revision {current_revision(get_engine(url))} (head {head_revision()})")
    return 0


def _import(importer, path: Path, describe) -> int:
    """Run a sheet importer on the warehouse; every skipped row is printed, and makes the exit code 1."""
    from warehouse.engine import get_engine
    from warehouse.migrate import check_schema

    engine = get_engine()
    check_schema(engine)
    result = importer(engine, path)
    print(describe(result))
    for problem in result.problems:
        print(f"  skipped {problem}")
    return 1 if result.problems else 0


def _serve_sandbox(args) -> int:
    import time
    from dataclasses import replace

    import yaml

    from connectors.sandbox import Sandbox, SandboxConfig, serve_forever

    if args.orders:  # benchmark scale: the days and rates are derived from the order count
        config = replace(SandboxConfig.bench(args.orders, anchor=args.anchor), seed=args.seed)
    else:
        config = replace(SandboxConfig.demo(anchor=args.anchor), seed=args.seed, days=args.days)
    if not args.write_sources:
        serve_forever(config, port=args.port)
        return 0
    with Sandbox(config, port=args.port) as sandbox:
        args.write_sources.write_text(yaml.safe_dump({"sources": sandbox.sources()}, sort_keys=False))
        print(f"sandbox serving on {sandbox.url}; sources file {args.write_sources}; credentials:", flush=True)
        for name, value in sandbox.credentials().items():
            print(f"  export {name}={value}", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass
    return 0


def _utc_time(value: str) -> datetime:
    moment = datetime.fromisoformat(value)
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


def _day(value: str):
    from datetime import date

    return date.fromisoformat(value)


def _print_table(rows: list[dict], columns: list[str]) -> None:
    widths = {c: max(len(c), *(len(str(r.get(c, ""))) for r in rows)) if rows else len(c) for c in columns}
    print("  ".join(c.ljust(widths[c]) for c in columns))
    for row in rows:
        print("  ".join(str(row.get(c, "")).ljust(widths[c]) for c in columns))


if __name__ == "__main__":
    sys.exit(main())
