"""Replenishment benchmark: a synthetic warehouse, then the real replenishment flow over it in its own process.

    python -m bench.replenishment --skus 50000 --days 365 [--warehouse postgres|sqlite] [--orders-per-day 3000]

Builds a fresh warehouse (PostgreSQL database `shopops_bench_replenishment` on the server of
SHOPOPS_BENCH_POSTGRES_URL, or a SQLite file in a temporary folder) after `upgrade()`: `--skus`
products, `--days` days of orders up to yesterday with refunds, sparse stock and price snapshots
(two stock pools of two locations each) and purchase orders, all from seeded numpy
(bench/replenishment_data.py says what they look like), and prints the rows written per table and
how long set-up took — not part of the figure.

Then a separate process runs the flow: started before the set-up (while this one is still small)
and released after the load, so its peak RSS is the flow's own. It starts the Prefect API, then
times `replenishment(as_of=<today, the day after the history>, history_days=<days>)` and prints:
wall seconds end to end (the flow call to its return), CPU seconds of that process, its peak RSS
(ru_maxrss) above its baseline after imports and the API start, the items planned, and a table
"stage · seconds · share · peak RSS rise": reading sales, reading snapshots, reading products /
purchase orders / yesterday's levels, matrices, demand profile, decision, build_plan's own pandas
work, storing, purchase lists, and what is left: Prefect's bookkeeping. The stages come from
wrapping, in this process only, the project functions the flow calls, found from their code
(so a refactored planner is still covered): a function's own time, its timed callees excluded,
counts toward its stage, and helpers such as `read_frame` toward their caller's. A list of
functions by own time follows.

    python -m bench.replenishment --measure --url URL --as-of DATE --days N [--cprofile FILE]

runs that second process alone against an existing warehouse (the first command prints the exact
line), e.g. under `py-spy record -o flow.svg -- python -m bench.replenishment --measure …`. A re-run
for the same date also deletes the rows of the previous one.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from bench.flow_profile import (
    OTHER, FlowRun, StageClock, StageTable, code_fingerprint, measure_flow, print_process_figures, print_stages,
    released, run_flow_process, set_up_warehouse, warehouse_url,
)

BENCH_DB = "shopops_bench_replenishment"
DEFAULT_ORDERS_PER_DAY = 3_000  # × 1.6 lines × 365 days ≈ 1.6 M order lines once stock-outs have cut some
PLANNER_FILES = ("flows/replenishment.py", "tasks/replenishment", "tasks/purchasing.py")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--skus", type=int, default=50_000)
    parser.add_argument("--days", type=int, default=365, help="days of history, and the flow's history_days")
    parser.add_argument("--warehouse", choices=["sqlite", "postgres"], default="postgres")
    parser.add_argument("--orders-per-day", type=float, default=DEFAULT_ORDERS_PER_DAY,
                        help=f"mean orders per day before seasonality and lost sales (default {DEFAULT_ORDERS_PER_DAY:,})")
    parser.add_argument("--seed", type=int, default=20261122)
    parser.add_argument("--measure", action="store_true", help="only run the flow against --url (the child process)")
    parser.add_argument("--url", help="with --measure: the warehouse URL")
    parser.add_argument("--as-of", type=date.fromisoformat, help="with --measure: the business date")
    parser.add_argument("--data-dir", help="with --measure: SHOPOPS_DATA_DIR (purchase lists go there)")
    parser.add_argument("--wait", action="store_true", help=argparse.SUPPRESS)  # for "go" on stdin first
    parser.add_argument("--cprofile", help="with --measure: write a cProfile of the flow call here and print its top")
    args = parser.parse_args()
    if args.measure:
        if not (args.url and args.as_of):
            parser.error("--measure needs --url and --as-of")
        return _measure(args)
    return _build_and_measure(args)


# --- the parent: data in, then the child ----------------------------------------------------------

def _build_and_measure(args) -> int:
    workdir = Path(tempfile.mkdtemp(prefix="shopops-bench-replenishment-"))
    url = warehouse_url(args.warehouse, workdir / "warehouse.db", BENCH_DB)
    os.environ.update({"SHOPOPS_DATA_DIR": str(workdir), "SHOPOPS_WAREHOUSE_URL": url})
    as_of = datetime.now(timezone.utc).date()  # the history ends yesterday
    command = [sys.executable, "-m", "bench.replenishment", "--measure", "--url", url, "--as-of", as_of.isoformat(),
               "--days", str(args.days), "--warehouse", args.warehouse, "--data-dir", str(workdir)]
    return run_flow_process(command, lambda: _set_up(args, url, as_of))


def _set_up(args, url: str, as_of: date) -> None:
    print(f"shopops replenishment benchmark — set-up: {args.skus:,} SKUs, {args.days} days to {as_of - timedelta(days=1)}, "
          f"~{args.orders_per_day:,.0f} orders a day, seed {args.seed}, {args.warehouse}")

    def generate():
        from bench.replenishment_data import generate

        return generate(args.skus, args.days, args.orders_per_day, args.seed, as_of)

    set_up_warehouse(args.warehouse, url, BENCH_DB, generate, facts_width=42)


# --- the child: the flow, timed ----------------------------------------------------------------------

BUILD_PLAN_OWN = "build_plan and unclassified helpers (pandas glue)"
_STAGES = [  # (stage, substrings of a function's name), first match wins
    ("storing (replace_plan, commit)", ("replace_plan", "write_transaction")),
    ("purchase lists (CSV per supplier)", ("purchase_list",)),
    ("matrices", ("matrix",)),
    ("reading snapshots", ("snapshot",)),
    ("reading sales", ("sales",)),
    ("reading products, purchase orders, yesterday's levels", ("products", "on_order", "previous", "levels")),
    ("demand profile", ("profile", "sba", "croston", "idle", "demand")),
    ("decision", ("decide", "best_seller", "slow_mover", "safety", "order_quantity")),
    ("flow set-up (engine, schema check, pools)", ("check_schema", "get_engine", "stock_pools")),
    ("artifact and summary", ("alert_table", "artifact", "remind")),
]
STAGES = StageTable(
    _STAGES,
    # Reading first, then the arithmetic in the order build_plan does it, then what the flow does after.
    display_order=[_STAGES[i][0] for i in (4, 3, 5, 2, 6, 7)] + [BUILD_PLAN_OWN]
    + [_STAGES[i][0] for i in (0, 1, 8, 9)] + [OTHER],
)


def _measure(args) -> int:
    if not released(args.wait):
        return 1  # the set-up failed
    os.environ.update({"SHOPOPS_WAREHOUSE_URL": args.url})
    if args.data_dir:
        os.environ["SHOPOPS_DATA_DIR"] = args.data_dir
    import flows.replenishment as flow_module
    from tasks.replenishment import plan as plan_module

    clock = StageClock(STAGES)
    clock.instrument(flow_module.replenishment.fn)
    clock.instrument(plan_module.build_plan, BUILD_PLAN_OWN)
    flow_module.build_plan = plan_module.build_plan  # the wrapped one, where the flow looks it up
    measure_flow(lambda: flow_module.replenishment(as_of=args.as_of, history_days=args.days),
                 lambda run: _report(args, run, clock), args.cprofile, cprofile_top=25)
    return 0


def _report(args, run: FlowRun, clock: StageClock) -> None:
    summary = run.result
    distinct = _distinct_skus(args.url, args.as_of)
    print(f"\nshopops replenishment benchmark — {summary.get('skus_planned', 0):,} items planned "
          f"({distinct:,} SKUs × stock pools), {args.days} days of history, as of {args.as_of}, {args.warehouse}"
          f"; planner code {code_fingerprint(PLANNER_FILES)}")
    print_process_figures(run)
    print("  plan: " + ", ".join(f"{summary.get(k, 0):,} {label}" for k, label in (
        ("to_order", "to order"), ("critical", "critical"), ("warning", "warning"), ("watch", "watch"),
        ("delisting_warnings", "delisting warnings"))))
    print_stages(clock, run.elapsed)


def _distinct_skus(url: str, as_of: date) -> int:
    from sqlalchemy import text

    from warehouse.engine import get_engine

    with get_engine(url).connect() as conn:
        return conn.execute(text("SELECT COUNT(DISTINCT sku) FROM replenishment_suggestions WHERE as_of_date = :d"),
                            {"d": as_of}).scalar() or 0


if __name__ == "__main__":
    sys.exit(main())
