"""`backfill`: any flow over a past date range, in chunks, resumable, safely beside the schedule.

The range `[start, end]` (business dates, both included) is cut into chunks of a day, an ISO week
or a calendar month. Each chunk runs the target flow as a subflow: ingest-orders over the chunk's
window (midnight to midnight in the business time zone), every other flow once per date of the
chunk. Chunks run in date order, `max_concurrent` at a time (1: strictly one after the other; always
1 for a flow whose dates build on the dates before, see ORDER_DEPENDENT), on threads or on a Dask
cluster (SHOPOPS_BACKFILL_TASK_RUNNER).

Every chunk's progress is in `backfill_chunks`, under a key made of the arguments: starting the
same backfill again skips the completed chunks and resumes from the first unfinished one
(`restart=True` runs them all again). Re-running a chunk replaces its results, since every flow
replaces its date's rows and loads are idempotent. The flows hold a lock per flow and date
(flows/run_lock.py), so a chunk and the scheduled run of the same date never interleave.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime, time, timedelta, timezone
from typing import Any, Literal
from zoneinfo import ZoneInfo

from prefect import flow, task
from prefect.artifacts import create_progress_artifact, create_table_artifact, update_progress_artifact
from prefect.cache_policies import NO_CACHE
from prefect.futures import as_completed
from prefect.runtime import flow_run
from prefect.task_runners import ThreadPoolTaskRunner
from sqlalchemy import select, update

from flows.alerts import FAILURE_HOOKS
from flows.daily_operations import daily_operations
from flows.ingest import ingest_orders
from flows.price_monitoring import price_monitoring
from flows.promotion_review import promotion_review
from flows.replenishment import replenishment
from flows.satisfaction_survey import satisfaction_survey
from shopops.dask import cluster_name, dask_task_runner
from shopops.logs import get_logger, install_redaction, redact
from shopops.settings import get_settings
from warehouse.engine import get_engine
from warehouse.engine import write_transaction
from warehouse.locks import RunLockTimeout, run_lock
from warehouse.migrate import check_schema
from warehouse.models import BackfillChunk

BackfillTarget = Literal["ingest-orders", "daily-operations", "replenishment", "price-monitoring",
                         "promotion-review", "satisfaction-survey"]
ChunkSize = Literal["day", "week", "month"]
DATED_FLOWS = {
    "daily-operations": daily_operations,
    "replenishment": replenishment,
    "price-monitoring": price_monitoring,
    "promotion-review": promotion_review,
    "satisfaction-survey": satisfaction_survey,
}
# What a past date cannot do: competitors' pages show today's prices, and nobody is surveyed
# about old news. A backfill's `parameters` may say otherwise.
PAST_DATE_PARAMETERS = {"price-monitoring": {"crawl": False}, "satisfaction-survey": {"send": False},
                        "daily-operations": {"parameters": {"price-monitoring": {"crawl": False},
                                                            "satisfaction-survey": {"send": False}}}}
MAX_CONCURRENT = 16
# Flows whose result for a date depends on what they did for the dates before it: their chunks run
# one after the other whatever max_concurrent says, or the answer would depend on which chunk won.
ORDER_DEPENDENT = {
    "daily-operations": "it runs the flows below",
    "replenishment": "a date holds the day before's alert levels (hysteresis)",
    "price-monitoring": "a date compares prices and scrape health with the day before's",
    "promotion-review": "every date rewrites the promotions' shared attribution rows",
    "satisfaction-survey": "no customer is invited twice within the suppression window, so a date reads the "
                           "invitations of the dates before",
}


def chunks(start: date, end: date, size: str) -> list[tuple[date, date]]:
    """`[start, end]` as (first, last) date pairs: single days, ISO weeks (Monday to Sunday) or
    calendar months, the first and last clipped to the range."""
    if end < start:
        raise ValueError(f"backfill: end {end} is before start {start}")
    out, first = [], start
    while first <= end:
        if size == "day":
            last = first
        elif size == "week":
            last = first + timedelta(days=6 - first.weekday())
        elif size == "month":
            last = (first.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
        else:
            raise ValueError(f"backfill: chunk must be day, week or month, not {size!r}")
        last = min(last, end)
        out.append((first, last))
        first = last + timedelta(days=1)
    return out


def backfill_key(target: str, start: date, end: date, size: str, parameters: dict) -> str:
    """The same arguments give the same key, so a second start resumes the first."""
    text = json.dumps([target, str(start), str(end), size, parameters], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def chunk_window(first: date, last: date, zone: str, now: datetime) -> tuple[datetime, datetime]:
    """The UTC window of business dates first…last, never past now."""
    tz = ZoneInfo(zone)
    low = datetime.combine(first, time(0), tzinfo=tz).astimezone(timezone.utc)
    high = datetime.combine(last + timedelta(days=1), time(0), tzinfo=tz).astimezone(timezone.utc)
    return low, min(high, now)


def _run_name() -> str:
    parameters = flow_run.parameters or {}
    return (f"backfill {parameters.get('flow')} · {parameters.get('start')} → {parameters.get('end')} "
            f"by {parameters.get('chunk', 'day')}")


@task(name="backfill chunk", task_run_name="{target} · {first} → {last}", cache_policy=NO_CACHE)
def run_chunk(target: str, key: str, index: int, first: date, last: date, parameters: dict,
              backfill_run_id: str) -> list:
    """Run one chunk and record how it went (from wherever it runs: a thread or a Dask worker)."""
    engine = get_engine()
    _mark(engine, key, index, status="running", started_at=_now(), finished_at=None, error=None,
          run_id=backfill_run_id, attempts=BackfillChunk.attempts + 1)
    try:
        if target == "ingest-orders":
            low, high = chunk_window(first, last, get_settings().business_timezone, _now())
            results = [ingest_orders(start=low, end=high, **parameters)] if low < high else []
        else:
            results = []
            day = first
            while day <= last:
                results.append(DATED_FLOWS[target](as_of=day, **parameters))
                day += timedelta(days=1)
    except BaseException as error:  # a crash of the chunk is recorded too; a killed process leaves "running"
        _mark(engine, key, index, status="failed", finished_at=_now(),
              error=redact(f"{type(error).__name__}: {error}")[:2000])
        raise
    _mark(engine, key, index, status="completed", finished_at=_now(), error=None)
    return results


@flow(**FAILURE_HOOKS, name="backfill", flow_run_name=_run_name, log_prints=False,
      description="Run a flow over a past date range in chunks: in date order or a few at a time, resumable "
                  "from the first unfinished chunk, never at the same time as the scheduled run of a date.")
def backfill(flow: BackfillTarget, start: date, end: date, chunk: ChunkSize = "day", max_concurrent: int = 1,
             parameters: dict[str, Any] | None = None, restart: bool = False) -> dict:
    """Run `flow` for every business date from `start` to `end`.

    Args:
        flow: The flow to run: ingest-orders (each chunk's window, midnight to midnight in the
            business time zone) or a daily flow (once per date).
        start: First business date (included).
        end: Last business date (included).
        chunk: How much one chunk covers: a day, an ISO week or a calendar month.
        max_concurrent: Chunks running at once (1: one after the other, in date order). Flows whose
            dates build on the dates before (all of today's) run one at a time regardless.
        parameters: Further parameters of the flow, e.g. {"history_days": 60}; price monitoring
            does not crawl and the survey does not send unless these say so.
        restart: Run every chunk again, the completed ones included.
    """
    install_redaction()
    log = get_logger("shopops.flows")
    if not 1 <= max_concurrent <= MAX_CONCURRENT:
        raise ValueError(f"backfill: max_concurrent must be between 1 and {MAX_CONCURRENT}, not {max_concurrent}")
    start, end = _plain_date(start), _plain_date(end)
    parameters = {**PAST_DATE_PARAMETERS.get(flow, {}), **(parameters or {})}
    plan = chunks(start, end, chunk)
    settings, engine = get_settings(), get_engine()
    check_schema(engine)
    key = backfill_key(flow, start, end, chunk, parameters)
    run_id = str(flow_run.id or "")
    try:
        with run_lock(engine, f"backfill:{key}", timeout_seconds=0):
            return _run(flow, key, plan, chunk, max_concurrent, parameters, restart, run_id, settings, engine, log)
    except RunLockTimeout:
        raise RuntimeError(f"backfill {flow} {start} → {end}: the same backfill is already running "
                           "(wait for it, or cancel it first)") from None


def _run(target, key, plan, size, max_concurrent, parameters, restart, run_id, settings, engine, log) -> dict:
    if max_concurrent > 1 and target in ORDER_DEPENDENT:
        log.warning("backfill %s: chunks run one after the other, not %d at a time: %s", target, max_concurrent,
                    ORDER_DEPENDENT[target])
        max_concurrent = 1
    status = _prepare(engine, key, target, plan, restart)
    todo = [index for index in range(len(plan)) if status[index] != "completed"]
    done = len(plan) - len(todo)
    if done:
        log.info("backfill %s: %d of %d chunks already completed; resuming from %s", target, done, len(plan),
                 plan[todo[0]][0] if todo else "nothing (all done)")
    progress = create_progress_artifact(progress=100.0 * done / len(plan),
                                        description=f"Backfill of {target}, {plan[0][0]} → {plan[-1][1]}: "
                                                    f"chunks completed")
    runner = dask_task_runner(settings) if settings.backfill_task_runner == "dask" else \
        ThreadPoolTaskRunner(max_workers=max_concurrent)
    where = cluster_name(settings) if settings.backfill_task_runner == "dask" else "threads"
    log.info("backfill %s: %d chunk(s) by %s to run, %d at a time, on %s", target, len(todo), size,
             max_concurrent, where)
    failed: dict[int, str] = {}
    stage_seconds: dict[str, float] = {}
    with runner:
        running: dict[Any, int] = {}
        while todo or running:
            while todo and len(running) < max_concurrent and not failed:
                index = todo.pop(0)
                first, last = plan[index]
                future = runner.submit(run_chunk, {"target": target, "key": key, "index": index, "first": first,
                                                   "last": last, "parameters": parameters,
                                                   "backfill_run_id": run_id})
                running[future] = index
            if not running:
                break
            future = next(as_completed(list(running)))
            index = running.pop(future)
            try:
                results = future.result()
                if target == "ingest-orders":
                    _add_stage_seconds(stage_seconds, results)
                done += 1
                update_progress_artifact(progress, 100.0 * done / len(plan))
                log.info("backfill %s: chunk %s → %s completed (%d of %d)", target, *plan[index], done, len(plan))
            except Exception as error:
                failed[index] = f"{type(error).__name__}: {error}"
                log.error("backfill %s: chunk %s → %s failed: %s; no further chunk starts", target,
                          *plan[index], failed[index])
    rows = _chunk_rows(engine, key)
    create_table_artifact(key=f"backfill-{target}", table=[
        {"chunk": row.chunk + 1, "dates": f"{row.first_date} → {row.last_date}", "status": row.status,
         "attempts": row.attempts, "error": row.error or ""} for row in rows],
        description=f"Backfill of {target} {plan[0][0]} → {plan[-1][1]} by {size}: {done} of {len(plan)} completed")
    if failed:
        first_unfinished = next(row for row in rows if row.status != "completed")
        raise RuntimeError(
            f"backfill {target}: {len(failed)} chunk(s) failed ("
            + "; ".join(f"{plan[i][0]} → {plan[i][1]}: {why}" for i, why in sorted(failed.items()))
            + f"); {done} of {len(plan)} completed. Start it again with the same arguments to resume from "
              f"{first_unfinished.first_date}")
    return {"flow": target, "chunks": len(plan), "completed": done, "backfill_key": key, "ran_on": where,
            "stage_seconds": {stage: round(seconds, 1) for stage, seconds in stage_seconds.items()}}


def _add_stage_seconds(totals: dict[str, float], summaries: list[list[dict]]) -> None:
    """Add the per-stage seconds of an ingest chunk's summary rows (a row per source)."""
    for summary in summaries:
        for row in summary:
            for column, value in row.items():
                if column.endswith(" (s)"):
                    totals[column[:-4]] = totals.get(column[:-4], 0.0) + value


def _prepare(engine, key: str, target: str, plan: list[tuple[date, date]], restart: bool) -> dict[int, str]:
    """The chunk rows of this backfill (written when new; all pending again on restart)."""
    with write_transaction(engine) as conn:
        known = dict(conn.execute(select(BackfillChunk.chunk, BackfillChunk.status)
                                  .where(BackfillChunk.backfill_key == key)).all())
        missing = [{"backfill_key": key, "chunk": index, "flow": target, "first_date": first, "last_date": last,
                    "status": "pending", "attempts": 0} for index, (first, last) in enumerate(plan) if index not in known]
        if missing:
            conn.execute(BackfillChunk.__table__.insert(), missing)
        if restart:
            conn.execute(update(BackfillChunk).where(BackfillChunk.backfill_key == key).values(status="pending"))
            known = {}
    return {index: known.get(index, "pending") for index in range(len(plan))}


def _mark(engine, key: str, index: int, **values) -> None:
    with write_transaction(engine) as conn:
        conn.execute(update(BackfillChunk).where(BackfillChunk.backfill_key == key, BackfillChunk.chunk == index)
                     .values(**values))


def _chunk_rows(engine, key: str) -> list:
    with engine.connect() as conn:
        return conn.execute(select(BackfillChunk.__table__).where(BackfillChunk.backfill_key == key)
                            .order_by(BackfillChunk.chunk)).all()


def _plain_date(value) -> date:
    return date(value.year, value.month, value.day)


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(microsecond=0)
