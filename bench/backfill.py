"""Scale benchmark: a one-million-order backfill into PostgreSQL through the real flows, then the
four operational flows over the result, and dlt's REST source over the same sandbox endpoint.

    python -m bench.backfill --orders 1000000              # needs PostgreSQL at 127.0.0.1:5432
    pip install -c constraints.txt -e '.[bench]'           # for the dlt comparison (else skipped)

Prints orders/s of the backfill end to end, the CPU of every process during it, each ingest stage's
share, the time of each operational flow, the peak memory of this process and of its largest child
(the local Prefect API server), and dlt's orders/s on a part of the same Shopify shop's window,
with the ratio. The sandbox runs in its own process, in bench mode
(no rate limit), and its memory is not counted: it stands in for the marketplaces.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from bench.cpu_split import CpuMeter
from bench.ingest import _cpu_seconds, _fresh_warehouse, _rss_mb, _start_sandbox, print_stage_shares

HISTORY_DAYS = 90


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--chunk", choices=["day", "week", "month"], default="month", help="backfill chunk size")
    parser.add_argument("--dlt-days", type=int, default=7, help="days of one Shopify shop dlt loads (0: skip dlt)")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="shopops-bench-"))
    anchor = datetime.now(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)
    os.environ.update({"SHOPOPS_DATA_DIR": str(workdir), "SHOPOPS_SOURCES_FILE": str(workdir / "sources.yaml"),
                       "SHOPOPS_WAREHOUSE_URL": _fresh_warehouse("postgres", workdir),
                       "SHOPOPS_INITIAL_HISTORY_DAYS": str(HISTORY_DAYS)})
    print(f"generating {args.orders:,} orders in the sandbox …", flush=True)
    sandbox = _start_sandbox(args.orders, anchor, workdir / "sources.yaml")
    try:
        ours = _shopops(args, anchor)
        if args.dlt_days:
            _dlt(workdir, anchor, args.dlt_days, ours)
    finally:
        sandbox.terminate()
        sandbox.wait(timeout=30)
    return 0


def _shopops(args, anchor: datetime) -> float:
    from flows.backfill import backfill
    from flows.price_monitoring import price_monitoring
    from flows.promotion_review import promotion_review
    from flows.replenishment import replenishment
    from flows.satisfaction_survey import satisfaction_survey
    from shopops.prefect_api import local_prefect_api
    from tasks.validate import ContractValidator
    from warehouse.engine import get_engine
    from warehouse.migrate import upgrade
    from warehouse.models import LoadAudit
    from sqlalchemy import func, select

    upgrade()
    ContractValidator.shared()
    first, last = (anchor - timedelta(days=HISTORY_DAYS)).date(), (anchor - timedelta(days=1)).date()
    with local_prefect_api():
        baseline = _rss_mb()
        began, cpu_began = time.perf_counter(), _cpu_seconds()
        with CpuMeter() as meter:
            result = backfill(flow="ingest-orders", start=first, end=last, chunk=args.chunk)
        elapsed, cpu = time.perf_counter() - began, _cpu_seconds() - cpu_began
        with get_engine().connect() as conn:
            totals = conn.execute(select(func.sum(LoadAudit.fetched), func.sum(LoadAudit.inserted),
                                         func.sum(LoadAudit.quarantined)).where(LoadAudit.stream == "orders")).one()
        fetched = int(totals[0] or 0)
        rate = fetched / elapsed
        print(f"\nbackfill ingest-orders {first} → {last} in {args.chunk} chunks ({result['completed']} of "
              f"{result['chunks']} completed): {fetched:,} orders fetched, {int(totals[1] or 0):,} inserted, "
              f"{int(totals[2] or 0):,} quarantined")
        print(f"  end to end: {elapsed:.1f} s  →  {rate:,.0f} orders/s;  CPU {cpu:.1f} s "
              f"({1e6 * cpu / max(fetched, 1):,.0f} µs per order); peak RSS so far {_rss_mb():,.0f} MB")
        meter.print(fetched)
        print_stage_shares(result["stage_seconds"])

        flows = {"replenishment": lambda: replenishment(as_of=last),
                 "price-monitoring": lambda: price_monitoring(as_of=last, crawl=False),
                 "promotion-review": lambda: promotion_review(as_of=last),
                 "satisfaction-survey": lambda: satisfaction_survey(as_of=last, send=False)}
        seconds = {"ingest (backfill)": elapsed}
        for name, run in flows.items():
            started = time.perf_counter()
            try:
                run()
                outcome = "completed"
            except Exception as exc:  # a flow this set-up cannot run says why; the others still run
                outcome = f"failed: {type(exc).__name__}: {str(exc)[:160]}"
            seconds[name] = time.perf_counter() - started
            print(f"  {name:<20} {seconds[name]:7.1f} s  peak RSS so far {_rss_mb():,.0f} MB  {outcome}", flush=True)
    whole = sum(seconds.values())
    print("  share of the whole run:")
    for name, value in seconds.items():
        print(f"    {name:<20} {value:7.1f} s  {100 * value / whole:5.1f}%")
    workers = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"  memory: peak RSS of this process {_rss_mb():,.0f} MB (after imports and set-up {baseline:,.0f} MB); "
          f"largest finished child process {workers:,.0f} MB (the local Prefect API server, or a worker process "
          f"when chunks run on processes; the sandbox is still running and not counted)")
    return rate


def _dlt(workdir: Path, anchor: datetime, days: int, ours: float) -> None:
    """dlt's REST API source on the same Shopify endpoint: Link-header pages, merged on the id."""
    try:
        import dlt
        from dlt.sources.rest_api import rest_api_source
    except ImportError:
        print("\ndlt is not installed (pip install -c constraints.txt -e '.[bench]'): comparison skipped")
        return
    import yaml

    shop = next(s for s in yaml.safe_load((workdir / "sources.yaml").read_text())["sources"] if s["kind"] == "shopify")
    token = os.environ[shop["credentials"]["access_token"]["env"]]
    start, end = anchor - timedelta(days=days), anchor
    source = rest_api_source({
        "client": {"base_url": f"{shop['base_url']}/admin/api/{shop.get('api_version', '2025-07')}/",
                   "headers": {"X-Shopify-Access-Token": token},
                   "paginator": {"type": "header_link"}},
        "resources": [{
            "name": "orders", "primary_key": "id", "write_disposition": "merge",
            # dlt stops at the first record without an id (the sandbox serves a few): drop them
            "processing_steps": [{"filter": lambda record: record.get("id") is not None}],
            "endpoint": {"path": "orders.json", "data_selector": "orders",
                         "params": {"status": "any", "limit": 250, "updated_at_min": start.isoformat(),
                                    "updated_at_max": end.isoformat()}},
        }],
    })
    # dlt insists on a password; the local server trusts loopback, so any will do.
    url = os.environ["SHOPOPS_WAREHOUSE_URL"].replace("postgresql+psycopg://postgres@", "postgresql://postgres:trust@")
    pipeline = dlt.pipeline(pipeline_name="shopops_bench_dlt", destination=dlt.destinations.postgres(url),
                            dataset_name="dlt_bench", pipelines_dir=str(workdir / "dlt"))
    began = time.perf_counter()
    info = pipeline.run(source)
    elapsed = time.perf_counter() - began
    rows = pipeline.last_trace.last_normalize_info.row_counts.get("orders", 0)
    print(f"\ndlt {dlt.__version__} rest_api → PostgreSQL (merge on id), {shop['name']}, {days} days: "
          f"{rows:,} orders in {elapsed:.1f} s → {rows / elapsed:,.0f} orders/s; "
          f"shopops is {ours / (rows / elapsed):.1f}× as fast ({info.loads_ids and 'loaded'})")


if __name__ == "__main__":
    sys.exit(main())
