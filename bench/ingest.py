"""Ingestion benchmark: the sandbox in its own process, the real ingest-orders flow, a fresh warehouse.

    python -m bench.ingest --orders 200000 --warehouse postgres

Prints orders/s end to end (first request to last commit, all sources), the CPU of every process of
the run (bench/cpu_split.py), each stage's share of the work, and the flow process's peak memory. The sandbox runs with its rate limit raised (bench mode),
so the figure is the pipeline's own speed, not Shopify's 2 calls a second.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from bench.cpu_split import CpuMeter

ADMIN_URL = os.environ.get("SHOPOPS_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
BENCH_DB = "shopops_bench"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=200_000)
    parser.add_argument("--warehouse", choices=["sqlite", "postgres"], default="postgres")
    parser.add_argument("--chunk-size", type=int, help="orders per load transaction (default: the setting's)")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="shopops-bench-"))
    anchor = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0)
    os.environ.update({"SHOPOPS_DATA_DIR": str(workdir), "SHOPOPS_SOURCES_FILE": str(workdir / "sources.yaml"),
                       "SHOPOPS_WAREHOUSE_URL": _fresh_warehouse(args.warehouse, workdir)})
    if args.chunk_size:
        os.environ["SHOPOPS_CHUNK_SIZE"] = str(args.chunk_size)
    sandbox = _start_sandbox(args.orders, anchor, workdir / "sources.yaml")
    try:
        return _run(args, anchor)
    finally:
        sandbox.terminate()
        sandbox.wait(timeout=30)


def _run(args, anchor: datetime) -> int:
    from flows.ingest import ingest_orders
    from shopops.prefect_api import local_prefect_api
    from shopops.settings import get_settings
    from tasks.validate import ContractValidator
    from warehouse.migrate import upgrade

    upgrade()
    ContractValidator.shared()  # Great Expectations' import and set-up are paid once per process
    with local_prefect_api():  # started outside the timed part
        baseline = _rss_mb()
        began, cpu_began = time.perf_counter(), _cpu_seconds()
        with CpuMeter() as meter:
            summary = ingest_orders(start=anchor - timedelta(days=90), end=anchor)
        elapsed, cpu = time.perf_counter() - began, _cpu_seconds() - cpu_began
    peak = _rss_mb()

    fetched = sum(row["fetched"] for row in summary)
    settings = get_settings()
    print(f"\nshopops ingest benchmark — {fetched:,} orders from {len(summary)} sources into {args.warehouse}, "
          f"chunks of {settings.chunk_size:,}")
    print(f"  end to end: {elapsed:.1f} s  →  {fetched / elapsed:,.0f} orders/s")
    print(f"  CPU of the flow and its workers: {cpu:.1f} s ({1e6 * cpu / fetched:,.0f} µs per order)")
    meter.print(fetched)
    stage_names = [k for k in summary[0] if k.endswith(" (s)")]
    print_stage_shares({name[:-4]: sum(row[name] for row in summary) for name in stage_names})
    runner = summary[0]["ran on"]
    print(f"  memory: peak RSS of the flow's process {peak:,.0f} MB (after imports and set-up: {baseline:,.0f} MB); "
          f"sources ran on {runner} (SHOPOPS_INGEST_TASK_RUNNER={settings.ingest_task_runner}), each line below "
          "with the peak of the process it ran in")
    for row in summary:
        print(f"  {row['source']:<8} {row['fetched']:>8,} fetched  {row['inserted']:>8,} inserted  "
              f"{row['duplicates']:>6,} duplicates  {row['quarantined']:>6,} quarantined  {row['seconds']:>6.1f} s  "
              f"{row['peak memory (MB)']:>6,} MB")
    return 0


def print_stage_shares(totals: dict[str, float]) -> None:
    busy = sum(totals.values()) or 1.0
    print("  where the time went (summed over sources, which run concurrently):")
    for name, seconds in totals.items():
        print(f"    {name:<18} {seconds:7.1f} s  {100 * seconds / busy:5.1f}%")


def _cpu_seconds() -> float:
    """User + system CPU of this process and of its finished children (process-pool workers)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _fresh_warehouse(kind: str, workdir: Path) -> str:
    if kind == "sqlite":
        return f"sqlite:///{workdir / 'warehouse.db'}"
    from sqlalchemy import create_engine, text

    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)"))
        conn.execute(text(f"CREATE DATABASE {BENCH_DB}"))
    admin.dispose()
    return ADMIN_URL.rsplit("/", 1)[0] + f"/{BENCH_DB}"


def _start_sandbox(orders: int, anchor: datetime, sources_file: Path) -> subprocess.Popen:
    """The sandbox in its own process, so serving pages does not compete for this one's GIL."""
    process = subprocess.Popen(
        [sys.executable, "-m", "shopops.cli", "sandbox", "--orders", str(orders), "--port", "0",
         "--anchor", anchor.isoformat(), "--write-sources", str(sources_file)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    for line in process.stdout:
        exported = re.match(r"\s*export (\w+)=(\S+)", line)
        if exported:
            os.environ[exported.group(1)] = exported.group(2)
        elif "sandbox serving" in line:
            continue
        if sources_file.exists() and all(os.environ.get(n) for n in _credential_names(sources_file)):
            # Keep reading its output, or a full pipe would stall the sandbox mid-benchmark.
            threading.Thread(target=lambda: [None for _ in process.stdout], daemon=True).start()
            return process
    raise RuntimeError(f"the sandbox exited before serving (code {process.wait()})")


def _credential_names(sources_file: Path) -> list[str]:
    import yaml

    sources = yaml.safe_load(sources_file.read_text())["sources"]
    return [ref["env"] for s in sources for ref in s["credentials"].values()]


if __name__ == "__main__":
    sys.exit(main())
