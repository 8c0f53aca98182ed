"""Orders rebuilt from raw_orders: every order's newest stored version goes through the same
normalise → clean → validate → load as a fetched record, without asking the marketplace.

For a normaliser or a rule that was fixed after the data were loaded, or for orders, lines,
refunds or customers lost or damaged in the warehouse. The versions are read in one streaming
query, in the order the marketplace updated them (so the risk screen sees a customer's orders in
the order an ingest would), and written in chunks of `chunk_size`, one transaction each. A chunk
rewrites the orders holding exactly the replayed version; a newer one (loaded meanwhile by the
hourly run) still wins. Nothing is deleted: an order whose newest version fails the contract is
quarantined again and keeps the row it has. The cursor does not move.
"""

from __future__ import annotations

import resource
import time
from datetime import datetime
from functools import partial
from typing import Callable, Iterator

import orjson
from sqlalchemy import Engine, bindparam, text

from connectors.sources import SourceConfig
from shopops.logs import get_logger
from shopops.memory import tune_garbage_collector
from shopops.settings import Settings
from tasks.ingest import (NORMALIZE_BATCH, SourceReport, finish_source_run, open_source_run,
                          write_chunk)
from tasks.normalize import NORMALIZERS, Normalized
from tasks.normalize.file_drop import FileLayout, normalize_file_orders
from tasks.validate import ContractValidator
from warehouse.types import UtcDateTime

_NEWEST_VERSIONS = (
    "SELECT {what} FROM raw_orders r JOIN ("
    "  SELECT external_id, MAX(updated_at) AS updated_at FROM raw_orders WHERE source = :source GROUP BY external_id"
    ") newest ON r.external_id = newest.external_id AND r.updated_at = newest.updated_at "
    "WHERE r.source = :source{window}"
)


def normalizer_for(config: SourceConfig) -> Callable[[list, str, bytes], Normalized]:
    if config.kind == "file_drop":
        return partial(normalize_file_orders, layout=FileLayout.from_options(config.name, config.options))
    return NORMALIZERS[config.kind]


def restore_orders_of(config: SourceConfig, engine: Engine, *, run_id: str, settings: Settings,
                      validator: ContractValidator, now: datetime, start: datetime | None = None,
                      end: datetime | None = None, on_progress: Callable[[int], None] | None = None) -> SourceReport:
    """Replay the newest raw version of every order of one source whose update time is in
    `[start, end)` (all of them without bounds). Counts and outcome go to `load_audit` as a load."""
    log = get_logger("shopops.restore")
    tune_garbage_collector()
    report = SourceReport(config.name, config.kind, start, end)
    began = time.monotonic()
    writer = open_source_run(engine, config.name, run_id, start, end, settings, validator)
    normalize = normalizer_for(config)
    log.info("%s: restoring orders from raw_orders (updated %s → %s)", config.name,
             start.isoformat() if start else "the first", end.isoformat() if end else "the last")
    try:
        for batches in _chunks(engine, config.name, start, end, normalize, writer.secret, settings.chunk_size):
            counts = write_chunk(engine, writer, batches, run_id=run_id, now=now, cursor=None, replay=True)
            report.counts += counts
            report.chunks += 1
            log.info("%s: restore chunk %d — %d orders replayed (%d so far): %d inserted, %d rewritten, "
                     "%d kept (a newer version is loaded), %d quarantined", config.name, report.chunks,
                     counts.fetched, report.counts.fetched, counts.inserted, counts.updated, counts.unchanged,
                     counts.quarantined)
            if on_progress:
                on_progress(report.counts.fetched)
        report.status = "succeeded"
    except Exception as exc:
        report.status, report.error = "failed", f"{type(exc).__name__}: {exc}"
        raise
    finally:
        finish_source_run(engine, run_id, report, writer.results, settings)
        report.seconds = time.monotonic() - began
        report.peak_memory_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return report


def count_versions(engine: Engine, source: str, start: datetime | None = None, end: datetime | None = None) -> int:
    """How many orders a restore of this source and window replays."""
    with engine.connect() as conn:
        return conn.execute(*_newest_versions(source, start, end, payloads=False)).scalar_one()


def _newest_versions(source: str, start: datetime | None, end: datetime | None, *, payloads: bool):
    """The newest version of each order in the window: their payloads in replay order, or their count."""
    what = "r.payload" if payloads else "COUNT(*)"
    order = " ORDER BY r.updated_at, r.external_id" if payloads else ""
    window, params = "", {"source": source}
    if start is not None:
        window, params["start"] = window + " AND r.updated_at >= :start", start
    if end is not None:
        window, params["end"] = window + " AND r.updated_at < :end", end
    statement = text(_NEWEST_VERSIONS.format(what=what, window=window) + order)
    return statement.bindparams(*[bindparam(n, type_=UtcDateTime) for n in params if n != "source"]), params


def _chunks(engine: Engine, source: str, start: datetime | None, end: datetime | None,
            normalize: Callable, secret: bytes, chunk_size: int) -> Iterator[list[Normalized]]:
    """Normalised batches of newest versions, `chunk_size` records per chunk, read in one streaming
    query (a server-side cursor on PostgreSQL): memory follows the chunk, not the source."""
    statement, params = _newest_versions(source, start, end, payloads=True)
    batch_size = min(NORMALIZE_BATCH, chunk_size)
    with engine.connect() as conn:
        result = conn.execution_options(stream_results=True, yield_per=batch_size).execute(statement, params)
        batches, buffered = [], 0
        for rows in result.partitions(batch_size):
            batch = normalize([orjson.loads(payload) for (payload,) in rows], source, secret)
            batches.append(batch)
            buffered += len(batch)
            if buffered >= chunk_size:
                yield batches
                batches, buffered = [], 0
        if batches:
            yield batches

