"""What the flow benchmarks (bench/replenishment.py, bench/pricing.py) share: a fresh warehouse loaded
with generated tables, a second process for the flow (started early so its peak RSS is its own), and,
in that process, the flow call timed with its own time and peak-RSS rise split by stage.

A benchmark supplies what differs: its data, its `StageTable` (which function names count toward
which stage, and the order the stages are printed in), the files its code fingerprint covers, and
its own report lines around the shared ones.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import os
import resource
import subprocess
import sys
import time
import types
from collections import defaultdict
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

ADMIN_URL = os.environ.get("SHOPOPS_BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
LOAD_CHUNK = 250_000            # rows per insert_frame call (all of a table's chunks in one transaction)
REPO = Path(__file__).resolve().parent.parent
PROJECT = ("tasks.", "flows.", "warehouse.", "shopops.", "connectors.")  # modules whose functions get timed
OTHER = "other"                 # the stage of a function with none of its own and no timed caller


# --- the parent: a fresh warehouse, the data in, then the flow's process ------------------------------

def warehouse_url(kind: str, sqlite_file: Path, database: str) -> str:
    """A SQLite file, or `database` on the server of ADMIN_URL."""
    return f"sqlite:///{sqlite_file}" if kind == "sqlite" else ADMIN_URL.rsplit("/", 1)[0] + f"/{database}"


def fresh_database(kind: str, name: str) -> None:
    if kind == "sqlite":
        return  # a new file in a new folder
    from sqlalchemy import create_engine, text

    admin = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        conn.execute(text(f"CREATE DATABASE {name}"))
    admin.dispose()


def set_up_warehouse(kind: str, url: str, database: str, generate: Callable, facts_width: int) -> None:
    """A fresh database, `generate()`'s tables loaded into it; prints its facts, the rows and seconds
    per table and how long set-up took. `generate` returns an object with `.facts` and `.tables`."""
    began = time.perf_counter()
    fresh_database(kind, database)
    data = generate()
    generated = time.perf_counter() - began
    for name, value in data.facts.items():
        print(f"  {name:<{facts_width}} {value}")
    print(f"  generated in {generated:.1f} s; loading …", flush=True)
    loaded = load(url, data.tables)
    print(f"  {'table':<22} {'rows':>11} {'seconds':>8}")
    for table, (rows, seconds) in loaded.items():
        print(f"  {table:<22} {rows:>11,} {seconds:>8.1f}")
    setup = time.perf_counter() - began
    print(f"  set-up took {setup:.1f} s (generating {generated:.1f} s, loading {setup - generated:.1f} s) — "
          "not part of the figure", flush=True)


def load(url: str, tables: dict) -> dict[str, tuple[int, float]]:
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
    for table, frame in tables.items():
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


def run_flow_process(command: list[str], set_up: Callable[[], None]) -> int:
    """Start the flow's process (`command`, which must accept --wait), run `set_up()` here, then
    release the process and return its exit code.

    The flow's process starts before the set-up, while this one is small, and waits for "go" on
    stdin: Linux hands a process's peak RSS on to the program it execs, so a child started after
    the generator would report the generator's peak as its own."""
    child = subprocess.Popen(command + ["--wait"], cwd=REPO, stdin=subprocess.PIPE, text=True)
    try:
        set_up()
        print("  the flow's process (re-run it by hand, e.g. under py-spy):\n    " + " ".join(command[1:]), flush=True)
        child.stdin.write("go\n")
        child.stdin.close()
        return child.wait()
    finally:
        if child.poll() is None and not child.stdin.closed:  # set-up failed: the child is still waiting
            child.kill()
            child.wait()


def released(wait: bool) -> bool:
    """In the flow's process: with --wait, whether the parent said "go" (it closes stdin instead when
    its set-up failed); without, at once."""
    return not wait or sys.stdin.readline().strip() == "go"


# --- the child: the flow, timed by stage --------------------------------------------------------------

@dataclass(frozen=True)
class StageTable:
    """Which project functions count toward which stage, by name."""

    stages: list[tuple[str, tuple[str, ...]]]  # (stage, substrings of a function's name), first match wins
    display_order: list[str]                   # stages not in it are printed last
    exact: dict[str, str] = field(default_factory=dict)  # a function's whole name → its stage, before `stages`
    # A function without a stage of its own counts toward its caller's, except (name, caller's stage) here.
    called_from: dict[tuple[str, str], str] = field(default_factory=dict)
    not_wrapped: frozenset[str] = frozenset()  # called so often that wrapping would cost more than they do

    def stage_of(self, name: str) -> str | None:
        if name in self.exact:
            return self.exact[name]
        lowered = name.lower()
        for stage, keys in self.stages:
            if any(key in lowered for key in keys):
                return stage
        return None

    def display_rank(self, stage: str) -> int:
        return self.display_order.index(stage) if stage in self.display_order else len(self.display_order)


class StageClock:
    """Own time (callees that are timed too excluded) and peak-RSS rise per stage and per function."""

    def __init__(self, table: StageTable):
        self.table = table
        self.stack: list[list] = []                      # [stage, nested seconds, nested rss rise]
        self.seconds: dict[str, float] = defaultdict(float)
        self.rss: dict[str, float] = defaultdict(float)
        self.functions: dict[tuple[str, str], list] = defaultdict(lambda: [0, 0.0])  # (name, stage) → calls, own s

    @contextmanager
    def frame(self, name: str, short: str, stage: str | None):
        if stage is None:
            caller = self.stack[-1][0] if self.stack else OTHER
            stage = self.table.called_from.get((short, caller), caller)
        entry = [stage, 0.0, 0.0]
        self.stack.append(entry)
        peak, began = peak_mb(), time.perf_counter()
        try:
            yield
        finally:
            elapsed, rise = time.perf_counter() - began, peak_mb() - peak
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
        namespace it is called from (the modules' files are untouched). With `root_stage`, `root`
        itself too, under that stage, in the project modules that hold it (its own time is then
        that stage's rather than its caller's)."""
        seen: set[int] = set()

        def visit(function):
            if id(function) in seen:
                return
            seen.add(id(function))
            namespace = function.__globals__
            for name in sorted(_global_names(function.__code__)):
                target = namespace.get(name)
                if not (inspect.isfunction(target) and target.__module__.startswith(PROJECT)) or \
                        getattr(target, "_bench_original", None) is not None or inspect.isgeneratorfunction(target) \
                        or target.__name__ in self.table.not_wrapped:
                    continue
                namespace[name] = self._wrapped(target)
                visit(getattr(target, "__wrapped__", target) if _is_context_manager(target) else target)

        visit(root)
        if root_stage:  # the root itself, where its callers find it
            module = sys.modules[root.__module__]
            for holder in [module] + [m for m in list(sys.modules.values()) if m and m.__name__.startswith(PROJECT)]:
                if getattr(holder, root.__name__, None) is root:
                    setattr(holder, root.__name__, self._wrapped(root, root_stage))

    def instrument_flow_body(self, flow, stage: str) -> None:
        """`instrument(flow.fn)`, and the flow's function itself timed under `stage`, so the work it
        does between its calls (its own pandas) is that stage's rather than counted as Prefect's."""
        body = flow.fn
        self.instrument(body)
        timed = self._wrapped(body, stage)
        # Prefect binds the parameters by the signature (which follows __wrapped__) and resolves their
        # annotations in the function's globals: those of the flow's module, then, not ours.
        timed = functools.update_wrapper(types.FunctionType(timed.__code__, body.__globals__, body.__name__,
                                                            timed.__defaults__, timed.__closure__), body)
        timed._bench_original = body
        flow.fn = timed

    def _wrapped(self, target, stage: str | None = None):
        name = f"{target.__module__}.{target.__qualname__}"
        short = target.__name__
        stage = stage or self.table.stage_of(short)
        clock = self
        if _is_context_manager(target):
            @contextmanager
            def timed_context(*args, **kwargs):
                with clock.frame(name, short, stage), target(*args, **kwargs) as value:
                    yield value
            timed = timed_context
        else:
            def timed(*args, **kwargs):
                with clock.frame(name, short, stage):
                    return target(*args, **kwargs)
        timed.__name__, timed.__qualname__, timed.__module__ = target.__name__, target.__qualname__, target.__module__
        timed._bench_original = target
        return timed


def _global_names(code: types.CodeType) -> set[str]:
    names = set(code.co_names)
    for const in code.co_consts:  # nested functions, comprehensions and lambdas call through globals too
        if isinstance(const, types.CodeType):
            names |= _global_names(const)
    return names


def _is_context_manager(function) -> bool:
    """A @contextmanager function: wrapped as one, so the with-block's body is not timed as its own."""
    return inspect.isgeneratorfunction(getattr(function, "__wrapped__", None)) and function.__code__.co_name == "helper"


@dataclass
class FlowRun:
    result: object
    elapsed: float        # wall seconds of the flow call
    cpu: float            # CPU seconds of this process during it
    baseline: float       # peak RSS (MB) before it: imports and the Prefect API
    peak: float           # peak RSS (MB) after it
    profiler: object = None


def measure_flow(call: Callable[[], object], report: Callable[[FlowRun], None], cprofile: str | None,
                 cprofile_top: int) -> None:
    """`call()` timed, `report(run)`, then with `cprofile` the profile written there and its top
    printed: after the report, so that the figures come first."""
    run = _time_flow_call(call, cprofile)
    report(run)
    if run.profiler:
        _print_cprofile(run, cprofile, cprofile_top)


def _time_flow_call(call: Callable[[], object], cprofile: str | None) -> FlowRun:
    from shopops.prefect_api import local_prefect_api

    profiler = None
    with local_prefect_api():  # started outside the timed part
        baseline = peak_mb()
        if cprofile:
            import cProfile

            profiler = cProfile.Profile()
            profiler.enable()
        began, cpu_began = time.perf_counter(), cpu_seconds()
        try:
            result = call()
        finally:
            elapsed, cpu = time.perf_counter() - began, cpu_seconds() - cpu_began
            if profiler:
                profiler.disable()
    return FlowRun(result, elapsed, cpu, baseline, peak_mb(), profiler)


def _print_cprofile(run: FlowRun, path: str, top: int) -> None:
    import pstats

    run.profiler.dump_stats(path)
    print(f"\n  cProfile of the flow call (it slows the run: the figures above include its overhead) → {path}")
    pstats.Stats(run.profiler, stream=sys.stdout).strip_dirs().sort_stats("tottime").print_stats(top)


def print_process_figures(run: FlowRun) -> None:
    print(f"  end to end: {run.elapsed:.1f} s (the flow call to its return; the Prefect API was already up)")
    print(f"  CPU of the flow's process: {run.cpu:.1f} s ({100 * run.cpu / run.elapsed:.0f}% of one core)")
    print(f"  memory: peak RSS {run.peak:,.0f} MB, {run.peak - run.baseline:,.0f} MB above the baseline of "
          f"{run.baseline:,.0f} MB (after imports and the API start; ru_maxrss, VmHWM says {vm_hwm_mb():,.0f} MB)")


def print_stages(clock: StageClock, elapsed: float) -> None:
    """The table "stage · seconds · share · peak RSS rise", what no stage accounts for as Prefect's,
    then the functions by own time."""
    rows = sorted(clock.seconds.items(), key=lambda kv: clock.table.display_rank(kv[0]))
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


def code_fingerprint(entries: Iterable[str]) -> str:
    """A short hash of these files and folders (relative to the repository), to tell which state of
    the code a figure is from."""
    digest = hashlib.sha1()
    for entry in entries:
        path = REPO / entry
        for file in sorted(path.rglob("*.py")) if path.is_dir() else [path]:
            digest.update(file.read_bytes())
    return digest.hexdigest()[:10]


def cpu_seconds() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    return own.ru_utime + own.ru_stime


def vm_hwm_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
