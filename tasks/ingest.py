"""Orders from one source into the warehouse: window → slices → pages → chunks → commits.

The window is half-open `[start, end)` and cut into slices. Pages are fetched on a background
thread while the previous chunk is being validated and loaded. A chunk is committed in one
transaction; the cursor moves to a slice's end in the transaction that commits that slice's
last record, so a crash loses nothing and the re-run resumes from the committed cursor.
Memory follows the chunk size, not the window.
"""

from __future__ import annotations

import queue
import resource
import threading
import time
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Callable, Iterable, Iterator

from sqlalchemy import Engine, select

from connectors.base import OrderConnector, utc
from shopops.logs import get_logger
from shopops.memory import release_memory, tune_garbage_collector
from shopops.settings import Settings
from tasks.clean import RiskRules
from tasks.load import (STREAM, Catalogue, Counts, QuarantineLimitExceeded, check_quarantine_limit, commit, mark_deleted,
                        prepare, quarantine_only)
from tasks.normalize import NORMALIZERS
from tasks.normalize.common import Normalized, concat_batches
from tasks.rescreen import rescreen_queued
from tasks.validate import ContractValidator, RunResults, publish_data_docs
from warehouse import state
from warehouse.engine import write_transaction
from warehouse.io import lock_name
from warehouse.models import Product


@dataclass
class SourceReport:
    source: str
    kind: str
    window_start: datetime | None = None
    window_end: datetime | None = None
    counts: Counts = field(default_factory=Counts)
    chunks: int = 0
    cursor: datetime | None = None
    status: str = "running"
    error: str | None = None
    seconds: float = 0.0
    data_docs: str | None = None
    http: dict = field(default_factory=dict)
    peak_memory_mb: float = 0.0  # of the process that ran it (shared by sources on threads)
    deleted: int = 0             # orders marked deleted (Shopify destroy events)
    stage_seconds: dict = field(default_factory=lambda: dict.fromkeys(STAGES, 0.0))


STAGES = ("waiting for pages", "normalize", "validate", "load", "re-screen")
NORMALIZE_BATCH = 5_000  # records normalised together: large enough to vectorise, small enough to drop quickly
_END = object()


def plan_window(engine: Engine, source: str, start: datetime | None, end: datetime | None,
                settings: Settings, now: datetime, settle: timedelta = timedelta(0)) -> tuple[datetime, datetime]:
    """Explicit bounds win (backfills); otherwise from the committed cursor minus the lookback,
    or the initial history for a source never loaded before, up to now. A source that shows
    changes only after `settle` (Amazon: two minutes) is never asked for a later moment of the
    clock: its cursor would otherwise pass orders it has not shown yet."""
    end = utc(end) if end else now
    if settle:
        end = min(end, datetime.now(timezone.utc) - settle)
    if start is not None:
        return utc(start), end
    with engine.connect() as conn:
        cursor = state.read_cursor(conn, source, STREAM)
    if cursor is None:
        return end - timedelta(days=settings.initial_history_days), end
    return min(cursor - timedelta(minutes=settings.lookback_minutes), end), end


def slices(start: datetime, end: datetime, hours: int) -> list[tuple[datetime, datetime]]:
    step, out, low = timedelta(hours=hours), [], start
    while low < end:
        out.append((low, min(low + step, end)))
        low += step
    return out


def read_catalogue(engine: Engine, fragile_categories: Iterable[str]) -> Catalogue:
    with engine.connect() as conn:
        rows = conn.execute(select(Product.sku, Product.category)).all()
    fragile = set(fragile_categories)
    return Catalogue(frozenset(sku for sku, _ in rows), frozenset(sku for sku, category in rows if category in fragile))


def ingest_orders_from(connector: OrderConnector, engine: Engine, *, run_id: str, start: datetime, end: datetime,
                       settings: Settings, validator: ContractValidator, now: datetime,
                       on_progress: Callable[[float], None] | None = None) -> SourceReport:
    """Load `[start, end)` of one source. Raises after recording the failure in `load_audit`."""
    log = get_logger("shopops.ingest")
    tune_garbage_collector()
    report = SourceReport(connector.name, connector.kind, start, end)
    began = time.monotonic()
    chunk_writer = open_source_run(engine, connector.name, run_id, start, end, settings, validator)
    normalize = NORMALIZERS[connector.kind]
    parts = slices(start, end, settings.slice_hours)
    log.info("%s: orders updated %s → %s in %d slice(s) of %dh", connector.name,
             start.isoformat(), end.isoformat(), len(parts), settings.slice_hours)

    stage_lock = threading.Lock()

    @contextmanager
    def timed(stage: str):
        began_stage = time.perf_counter()
        try:
            yield
        finally:
            with stage_lock:  # normalising runs on the fetching thread
                report.stage_seconds[stage] += time.perf_counter() - began_stage

    def normalized(records: list[dict]) -> Normalized:
        with timed("normalize"):
            return normalize(records, connector.name, chunk_writer.secret)

    def load(batches: list[Normalized], cursor: datetime | None) -> None:
        fetched_at = datetime.now(timezone.utc)
        if batches:
            counts = write_chunk(engine, chunk_writer, batches, run_id=run_id, now=now, cursor=cursor, timed=timed)
            release_memory()
            report.counts += counts
            report.chunks += 1
            log.info("%s: chunk %d — %d fetched: %d inserted, %d updated, %d unchanged, %d duplicates, "
                     "%d quarantined%s", connector.name, report.chunks, counts.fetched, counts.inserted,
                     counts.updated, counts.unchanged, counts.duplicates, counts.quarantined,
                     f"; cursor {cursor.isoformat()}" if cursor else "")
        elif cursor is not None:
            with write_transaction(engine) as conn:
                state.advance_cursor(conn, connector.name, STREAM, cursor, run_id, fetched_at)
        if cursor is not None:
            report.cursor = cursor
            if on_progress:
                on_progress((cursor - start) / (end - start) if end > start else 1.0)

    try:
        batches = _normalized_batches(connector, parts, normalized, min(NORMALIZE_BATCH, settings.chunk_size))
        _chunked(prefetch(batches), settings.chunk_size, load, timed)
        if hasattr(connector, "deleted_orders"):
            report.deleted = sync_deletions(connector, engine, run_id=run_id, start=start, end=end, settings=settings)
        report.status = "succeeded"
    except Exception as exc:
        report.status, report.error = "failed", f"{type(exc).__name__}: {exc}"
        raise
    finally:
        report.http = _http_stats(connector)
        finish_source_run(engine, run_id, report, chunk_writer.results, settings)
        report.seconds = time.monotonic() - began
        report.peak_memory_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return report


@dataclass
class ChunkWriter:
    """What every chunk of one source's run is checked and written with."""

    source: str
    catalogue: Catalogue
    validator: ContractValidator
    rules: RiskRules
    secret: bytes
    settings: Settings
    results: RunResults = field(default_factory=RunResults)


def open_source_run(engine: Engine, source: str, run_id: str, start: datetime | None, end: datetime | None,
                    settings: Settings, validator: ContractValidator) -> ChunkWriter:
    """Open the run's audit row for this source and read what its chunks are checked against."""
    with write_transaction(engine) as conn:
        state.start_audit(conn, run_id, source, STREAM, start, end, datetime.now(timezone.utc))
    catalogue = read_catalogue(engine, settings.risk_fragile_categories)
    if not catalogue.skus:
        get_logger("shopops.ingest").warning(
            "%s: the product catalogue is empty, so every order line will be quarantined as an unknown SKU; load "
            "products first (ingest a Shopify shop, or `shopops products import-supply`)", source)
    return ChunkWriter(source, catalogue, validator, RiskRules.from_settings(settings),
                       settings.customer_key_secret.get_secret_value().encode(), settings)


def write_chunk(engine: Engine, writer: ChunkWriter, batches: list[Normalized], *, run_id: str, now: datetime,
                cursor: datetime | None, replay: bool = False, timed=None) -> Counts:
    """Validate one chunk, then write it in one transaction (or only its bad records, when too many
    are bad: QuarantineLimitExceeded). `timed(stage)` measures the validate and load stages."""
    timed = timed or (lambda stage: nullcontext())
    fetched_at = datetime.now(timezone.utc)
    with timed("validate"):
        prepared = prepare(concat_batches(batches), writer.catalogue, writer.validator, now)
    try:
        check_quarantine_limit(writer.source, prepared, writer.settings.quarantine_max_share,
                               writer.settings.quarantine_min_failures)
    except QuarantineLimitExceeded:
        with write_transaction(engine) as conn:
            quarantine_only(conn, prepared, run_id, fetched_at)
        raise
    with timed("load"), write_transaction(engine) as conn:
        counts = commit(conn, prepared, run_id=run_id, fetched_at=fetched_at, rules=writer.rules,
                        catalogue=writer.catalogue, cursor=cursor, replay=replay)
    for table, result in prepared.results.merged.items():
        writer.results.add(table, result)
    return counts


def finish_source_run(engine: Engine, run_id: str, report: SourceReport, results: RunResults, settings: Settings) -> None:
    """Close the source's audit row with its outcome; the last of the run's sources to finish then
    screens again the orders whose customers' history the loads changed; then publish the source's
    Data Docs.

    One re-screen per run, not one per source: each re-screen scans the whole history of the
    customers queued, and one that runs while other sources still load waits on their locks and
    holds up their next chunks. Closing the row and looking at the others happen under one lock,
    so of two sources finishing at once exactly one sees the other closed. A source that crashed
    leaves its row open: the queue then waits for the next run, as after a failed re-screen."""
    with write_transaction(engine) as conn:
        lock_name(conn, f"shopops:finish-run:{run_id}")
        state.finish_audit(conn, run_id, report.source, STREAM, report.status, datetime.now(timezone.utc), report.error)
        loading = state.still_running(conn, run_id, STREAM)
    began = time.perf_counter()
    if loading:
        get_logger("shopops.ingest").info("%s: risk re-screen left to the last of the run's sources (still loading: "
                                          "%s)", report.source, ", ".join(loading))
    else:
        _rescreen(engine, report, settings)
    report.stage_seconds["re-screen"] += time.perf_counter() - began
    if results.merged:
        try:
            docs = publish_data_docs(settings.resolved_data_docs_dir(), run_id, report.source, results,
                                     settings.data_docs_keep_runs)
            report.data_docs = str(docs) if docs else None
        except Exception as exc:  # the data are committed; a report that failed must not undo that
            get_logger("shopops.ingest").error("%s: could not publish Data Docs to %s: %s", report.source,
                                               settings.resolved_data_docs_dir(), exc)


def _rescreen(engine: Engine, report: SourceReport, settings: Settings) -> None:
    log = get_logger("shopops.ingest")
    try:
        done = rescreen_queued(engine, RiskRules.from_settings(settings))
    except Exception as exc:  # the loads are committed; their customers stay queued for the next run
        log.error("%s: could not screen risk flags again (%s); the customers stay queued and the next "
                  "run screens them", report.source, f"{type(exc).__name__}: {str(exc).splitlines()[0]}")
        return
    if done.orders:
        log.info("%s: risk flags screened again for %d orders whose customer's earlier orders changed (of %d "
                 "queued customers); %d flags changed",
                 report.source, done.orders, done.customers, done.changed)


DELETIONS = "order_deletions"


def sync_deletions(connector, engine: Engine, *, run_id: str, start: datetime, end: datetime,
                   settings: Settings) -> int:
    """Mark the orders the source deleted in the window (from its own cursor, so a crash after
    the orders' commit misses none) as deleted: kept as tombstones, never as live orders."""
    with engine.connect() as conn:
        cursor = state.read_cursor(conn, connector.name, DELETIONS)
    if cursor is not None:
        start = min(start, cursor - timedelta(minutes=settings.lookback_minutes))
    deletions = connector.deleted_orders(start, end)
    with write_transaction(engine) as conn:
        marked = mark_deleted(conn, connector.name, deletions, run_id, datetime.now(timezone.utc))
        state.advance_cursor(conn, connector.name, DELETIONS, end, run_id, datetime.now(timezone.utc))
    if deletions:
        get_logger("shopops.ingest").info("%s: %d order deletion(s) in the window, %d order(s) newly marked deleted",
                                          connector.name, len(deletions), marked)
    return marked


def _normalized_batches(connector: OrderConnector, parts, normalize: Callable[[list[dict]], Normalized],
                        batch_size: int) -> Iterator[tuple[Normalized | None, datetime | None]]:
    """(batch, completed) for every `batch_size` records fetched, across slices: `completed` is the
    end of the latest slice whose records are all in this batch or an earlier one (or None).
    A slice that ends with no record pending yields (None, its end) at once. Raw records live only
    until their batch is normalised."""
    pending: list[dict] = []
    completed: datetime | None = None
    for low, high in parts:
        for page in connector.order_pages(low, high):
            pending.extend(page)
            if len(pending) >= batch_size:
                yield normalize(pending), completed
                pending, completed = [], None
        if pending:
            completed = high
        else:
            yield None, high
    if pending:
        yield normalize(pending), completed


def _chunked(items: Iterable, chunk_size: int, load: Callable[[list, datetime | None], None], timed) -> None:
    """Group batches into chunks of at least `chunk_size` records. A chunk's cursor is the end of
    the latest slice read whole within it; a slice that ends with nothing left uncommitted moves
    the cursor at once, alone."""
    batches: list = []
    buffered, cursor = 0, None
    items = iter(items)
    while True:
        with timed("waiting for pages"):
            item = next(items, _END)
        if item is _END:
            break
        batch, completed = item
        if batch is not None:
            batches.append(batch)
            buffered += len(batch)
        if completed is not None:
            if batches:
                cursor = completed
            else:
                load([], completed)
        if buffered >= chunk_size:
            load(batches, cursor)
            batches, buffered, cursor = [], 0, None
    if batches:
        load(batches, cursor)


def prefetch(items: Iterable, depth: int = 4) -> Iterator:
    """Iterate `items` on a background thread, `depth` ahead, so fetching overlaps processing."""
    buffer: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()
    done = object()

    def put(entry) -> bool:
        while not stop.is_set():
            try:
                buffer.put(entry, timeout=0.2)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put((item, None)):
                    return
            put((done, None))
        except BaseException as exc:  # handed to the consumer, which re-raises it
            put((done, exc))

    worker = threading.Thread(target=produce, name="shopops-prefetch", daemon=True)
    worker.start()
    try:
        while True:
            item, error = buffer.get()
            if item is done:
                if error is not None:
                    raise error
                return
            yield item
    finally:
        stop.set()
        worker.join(timeout=5)


def _http_stats(connector) -> dict:
    stats = getattr(getattr(connector, "http", None), "stats", None)
    if stats is None:
        return {}
    return {"requests": stats.requests, "retries": stats.retries, "rate_limited": stats.rate_limited,
            "waited_seconds": round(stats.waited_seconds, 1), "bytes": stats.bytes}
