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
import hashlib
import inspect
import os
import resource
import subprocess
import sys
import tempfile
import time
import types
from collections import defaultdict
from contextlib import contextmanager
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

ADMIN_URL = os.environ.get("SHOPOPS_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
BENCH_DB = "shopops_bench_replenishment"
DEFAULT_ORDERS_PER_DAY = 3_000  # × 1.6 lines × 365 days ≈ 1.6 M order lines once stock-outs have cut some
LOAD_CHUNK = 250_000            # rows per insert_frame call (all of a table's chunks in one transaction)
REPO = Path(__file__).resolve().parent.parent
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
    url = f"sqlite:///{workdir / 'warehouse.db'}" if args.warehouse == "sqlite" else \
        ADMIN_URL.rsplit("/", 1)[0] + f"/{BENCH_DB}"
    os.environ.update({"SHOPOPS_DATA_DIR": str(workdir), "SHOPOPS_WAREHOUSE_URL": url})
    as_of = datetime.now(timezone.utc).date()  # the history ends yesterday
    command = [sys.executable, "-m", "bench.replenishment", "--measure", "--url", url, "--as-of", as_of.isoformat(),
               "--days", str(args.days), "--warehouse", args.warehouse, "--data-dir", str(workdir)]
    # The flow's process starts now, while this one is small, and waits for the data: Linux hands a
    # process's peak RSS on to the program it execs, so a child started after the generator would
    # report the generator's peak as its own.
    child = subprocess.Popen(command + ["--wait"], cwd=REPO, stdin=subprocess.PIPE, text=True)
    try:
        _set_up(args, url, as_of)
        print("  the flow's process (re-run it by hand, e.g. under py-spy):\n    " + " ".join(command[1:]), flush=True)
        child.stdin.write("go\n")
        child.stdin.close()
        return child.wait()
    finally:
        if child.poll() is None and not child.stdin.closed:  # set-up failed: the child is still waiting
            child.kill()
            child.wait()


def _set_up(args, url: str, as_of: date) -> None:
    print(f"shopops replenishment benchmark — set-up: {args.skus:,} SKUs, {args.days} days to {as_of - timedelta(days=1)}, "
          f"~{args.orders_per_day:,.0f} orders a day, seed {args.seed}, {args.warehouse}")
    began = time.perf_counter()
    _fresh_warehouse(args.warehouse)
    from bench.replenishment_data import generate

    data = generate(args.skus, args.days, args.orders_per_day, args.seed, as_of)
    generated = time.perf_counter() - began
    for name, value in data.facts.items():
        print(f"  {name:<42} {value}")
    print(f"  generated in {generated:.1f} s; loading …", flush=True)
    loaded = _load(url, data)
    print(f"  {'table':<22} {'rows':>11} {'seconds':>8}")
    for table, (rows, seconds) in loaded.items():
        print(f"  {table:<22} {rows:>11,} {seconds:>8.1f}")
    setup = time.perf_counter() - began
    print(f"  set-up took {setup:.1f} s (generating {generated:.1f} s, loading {setup - generated:.1f} s) — "
          "not part of the figure")


def _fresh_warehouse(kind: str) -> None:
    if kind == "sqlite":
        return  # a new file in a new folder
    from sqlalchemy import create_engine, text

    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)"))
        conn.execute(text(f"CREATE DATABASE {BENCH_DB}"))
    admin.dispose()


def _load(url: str, data) -> dict[str, tuple[int, float]]:
    """Every table in one transaction of bulk inserts, after the migrations; PostgreSQL is then
    vacuumed and analysed, as autovacuum would have done to a warehouse that has been running."""
    from warehouse.engine import dispose_engines, get_engine, is_postgres, write_transaction
    from warehouse.io import insert_frame
    from warehouse.migrate import upgrade
    from warehouse.models import TABLES

    began = time.perf_counter()
    upgrade(url)
    written = {"(migrations)": (0, time.perf_counter() - began)}
    engine = get_engine(url)
    for table, frame in data.tables.items():
        if table not in TABLES:  # a table this state of the schema does not have (yet)
            print(f"  (the schema has no table {table}: not written)")
            continue
        columns = [c for c in frame.columns if c in TABLES[table].columns]
        if len(columns) < len(frame.columns):
            print(f"  (the schema's {table} has no {', '.join(sorted(set(frame.columns) - set(columns)))}: not written)")
        began = time.perf_counter()
        with write_transaction(engine) as conn:
            for start in range(0, len(frame), LOAD_CHUNK):
                insert_frame(conn, table, frame.iloc[start:start + LOAD_CHUNK], columns)
        written[table] = (len(frame), time.perf_counter() - began)
    began = time.perf_counter()
    if is_postgres(engine):
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.exec_driver_sql("VACUUM ANALYZE")
        written["(vacuum analyze)"] = (0, time.perf_counter() - began)
    else:
        with engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        written["(wal checkpoint)"] = (0, time.perf_counter() - began)
    dispose_engines()
    return written


# --- the child: the flow, timed ----------------------------------------------------------------------

OTHER = "other"
BUILD_PLAN_OWN = "build_plan and unclassified helpers (pandas glue)"
STAGES = [  # (stage, substrings of a function's name), first match wins
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
# Reading first, then the arithmetic in the order build_plan does it, then what the flow does after.
DISPLAY_ORDER = [STAGES[i][0] for i in (4, 3, 5, 2, 6, 7)] + [BUILD_PLAN_OWN] + [STAGES[i][0] for i in (0, 1, 8, 9)] + [OTHER]
PROJECT = ("tasks.", "flows.", "warehouse.", "shopops.", "connectors.")


class StageClock:
    """Own time (callees that are timed too excluded) and peak-RSS rise per stage and per function."""

    def __init__(self):
        self.stack: list[list] = []                      # [stage, nested seconds, nested rss rise]
        self.seconds: dict[str, float] = defaultdict(float)
        self.rss: dict[str, float] = defaultdict(float)
        self.functions: dict[tuple[str, str], list] = defaultdict(lambda: [0, 0.0])  # (name, stage) → calls, own s

    @contextmanager
    def frame(self, name: str, stage: str | None):
        stage = stage or (self.stack[-1][0] if self.stack else OTHER)
        entry = [stage, 0.0, 0.0]
        self.stack.append(entry)
        peak, began = _peak_mb(), time.perf_counter()
        try:
            yield
        finally:
            elapsed, rise = time.perf_counter() - began, _peak_mb() - peak
            self.stack.pop()
            self.seconds[stage] += elapsed - entry[1]
            self.rss[stage] += rise - entry[2]
            record = self.functions[(name, stage)]
            record[0] += 1
            record[1] += elapsed - entry[1]
            if self.stack:
                self.stack[-1][1] += elapsed
                self.stack[-1][2] += rise

    def instrument(self, root: types.FunctionType, root_stage: str | None = None) -> None:
        """Wrap every project function `root` calls through a module global, recursively, in the
        namespace it is called from (the modules' files are untouched)."""
        seen: set[int] = set()

        def visit(function):
            if id(function) in seen:
                return
            seen.add(id(function))
            namespace = function.__globals__
            for name in sorted(_global_names(function.__code__)):
                target = namespace.get(name)
                if not (inspect.isfunction(target) and target.__module__.startswith(PROJECT)) or \
                        getattr(target, "_bench_original", None) is not None or inspect.isgeneratorfunction(target):
                    continue
                namespace[name] = self._wrapped(target)
                visit(getattr(target, "__wrapped__", target) if _is_context_manager(target) else target)

        visit(root)
        if root_stage:  # the root itself, where its callers find it
            module = sys.modules[root.__module__]
            for holder in [module] + [m for m in list(sys.modules.values()) if m and m.__name__.startswith(PROJECT)]:
                if getattr(holder, root.__name__, None) is root:
                    setattr(holder, root.__name__, self._wrapped(root, root_stage))

    def _wrapped(self, target, stage: str | None = None):
        name = f"{target.__module__}.{target.__qualname__}"
        stage = stage or _stage_of(target.__name__)
        clock = self
        if _is_context_manager(target):
            @contextmanager
            def timed_context(*args, **kwargs):
                with clock.frame(name, stage), target(*args, **kwargs) as value:
                    yield value
            timed = timed_context
        else:
            def timed(*args, **kwargs):
                with clock.frame(name, stage):
                    return target(*args, **kwargs)
        timed.__name__, timed.__qualname__, timed.__module__ = target.__name__, target.__qualname__, target.__module__
        timed._bench_original = target
        return timed


def _global_names(code: types.CodeType) -> set[str]:
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _global_names(const)
    return names


def _is_context_manager(function) -> bool:
    return inspect.isgeneratorfunction(getattr(function, "__wrapped__", None)) and function.__code__.co_name == "helper"


def _stage_of(name: str) -> str | None:
    lowered = name.lower()
    for stage, keys in STAGES:
        if any(key in lowered for key in keys):
            return stage
    return None


def _measure(args) -> int:
    if args.wait and sys.stdin.readline().strip() != "go":
        return 1  # the set-up failed
    os.environ.update({"SHOPOPS_WAREHOUSE_URL": args.url})
    if args.data_dir:
        os.environ["SHOPOPS_DATA_DIR"] = args.data_dir
    import flows.replenishment as flow_module
    from shopops.prefect_api import local_prefect_api
    from tasks.replenishment import plan as plan_module

    clock = StageClock()
    clock.instrument(flow_module.replenishment.fn)
    clock.instrument(plan_module.build_plan, BUILD_PLAN_OWN)
    flow_module.build_plan = plan_module.build_plan  # the wrapped one, where the flow looks it up
    profiler = None
    with local_prefect_api():  # started outside the timed part
        baseline = _peak_mb()
        if args.cprofile:
            import cProfile

            profiler = cProfile.Profile()
            profiler.enable()
        began, cpu_began = time.perf_counter(), _cpu_seconds()
        summary = flow_module.replenishment(as_of=args.as_of, history_days=args.days)
        elapsed, cpu = time.perf_counter() - began, _cpu_seconds() - cpu_began
        if profiler:
            profiler.disable()
    peak = _peak_mb()
    _report(args, summary, clock, elapsed, cpu, baseline, peak)
    if profiler:
        import pstats

        profiler.dump_stats(args.cprofile)
        print(f"\n  cProfile of the flow call (it slows the run: the figures above include its overhead) → {args.cprofile}")
        pstats.Stats(profiler, stream=sys.stdout).strip_dirs().sort_stats("tottime").print_stats(25)
    return 0


def _report(args, summary: dict, clock: StageClock, elapsed: float, cpu: float, baseline: float, peak: float) -> None:
    distinct = _distinct_skus(args.url, args.as_of)
    print(f"\nshopops replenishment benchmark — {summary.get('skus_planned', 0):,} items planned "
          f"({distinct:,} SKUs × stock pools), {args.days} days of history, as of {args.as_of}, {args.warehouse}"
          f"; planner code {_code_fingerprint()}")
    print(f"  end to end: {elapsed:.1f} s (the flow call to its return; the Prefect API was already up)")
    print(f"  CPU of the flow's process: {cpu:.1f} s ({100 * cpu / elapsed:.0f}% of one core)")
    print(f"  memory: peak RSS {peak:,.0f} MB, {peak - baseline:,.0f} MB above the baseline of {baseline:,.0f} MB "
          f"(after imports and the API start; ru_maxrss, VmHWM says {_vm_hwm_mb():,.0f} MB)")
    print("  plan: " + ", ".join(f"{summary.get(k, 0):,} {label}" for k, label in (
        ("to_order", "to order"), ("critical", "critical"), ("warning", "warning"), ("watch", "watch"),
        ("delisting_warnings", "delisting warnings"))))
    rows = sorted(clock.seconds.items(), key=lambda kv: DISPLAY_ORDER.index(kv[0]) if kv[0] in DISPLAY_ORDER
                  else len(DISPLAY_ORDER))
    accounted = sum(clock.seconds.values())
    rows.append(("Prefect and the rest (run bookkeeping, logging)", max(elapsed - accounted, 0.0)))
    print(f"\n  {'stage':<56} {'seconds':>8} {'share':>7} {'peak RSS +MB':>13}")
    for stage, seconds in rows:
        if seconds < 0.005:
            continue
        rise = clock.rss.get(stage)
        print(f"  {stage:<56} {seconds:>8.2f} {100 * seconds / elapsed:>6.1f}% "
              f"{'' if rise is None else f'{rise:>+13,.0f}'}")
    print(f"  {'total':<56} {elapsed:>8.2f} {100.0:>6.1f}%")
    print("\n  functions by own time (callees that are timed too excluded):")
    ranked = sorted(clock.functions.items(), key=lambda kv: -kv[1][1])
    for (name, stage), (calls, seconds) in ranked:
        if seconds < 0.01:
            continue
        print(f"    {seconds:>7.2f} s  {calls:>3}×  {name:<52} [{stage}]")


def _distinct_skus(url: str, as_of: date) -> int:
    from sqlalchemy import text

    from warehouse.engine import get_engine

    with get_engine(url).connect() as conn:
        return conn.execute(text("SELECT COUNT(DISTINCT sku) FROM replenishment_suggestions WHERE as_of_date = :d"),
                            {"d": as_of}).scalar() or 0


def _code_fingerprint() -> str:
    """A short hash of the planner's files, to tell which state of the code a figure is from."""
    digest = hashlib.sha1()
    for entry in PLANNER_FILES:
        path = REPO / entry
        for file in sorted(path.rglob("*.py")) if path.is_dir() else [path]:
            digest.update(file.read_bytes())
    return digest.hexdigest()[:10]


def _cpu_seconds() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    return own.ru_utime + own.ru_stime


def _vm_hwm_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


if __name__ == "__main__":
    sys.exit(main())
