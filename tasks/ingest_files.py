"""Orders from a file-drop folder into the warehouse: each ready file is one unit.

A file is read whole, normalised and checked against the same contract as the API sources, then
committed in one transaction together with its `file_drops` row, and only then moved to
`processed/`. A file that cannot be read, lacks a required column, or whose bad records pass the
quarantine limit goes to `failed/` with its reason and none of it is loaded. The checksum of its
bytes makes it load once: dropped again (under any name) it is moved to `processed/` unread. A
crash between the commit and the move is safe for the same reason: the re-run finds the checksum.
Records that break the contract in a file that is otherwise fine are quarantined as elsewhere.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import Engine, select

from connectors.file_drop import FAILED, PROCESSED, DroppedFile, FileDropFolder, MalformedFile
from shopops.logs import get_logger
from shopops.memory import tune_garbage_collector
from shopops.settings import Settings
from tasks.ingest import ChunkWriter, SourceReport, finish_source_run, open_source_run
from tasks.load import STREAM, Counts, QuarantineLimitExceeded, check_quarantine_limit, commit, prepare, quarantine_only
from tasks.normalize.file_drop import FileLayout, normalize_file_orders, order_records
from tasks.validate import ContractValidator
from warehouse import state
from warehouse.engine import write_transaction
from warehouse.models import FileDrop


class FilesFailed(RuntimeError):
    """Some files went to `failed/`: retrying finds nothing left to fail, so it must not be retried."""


@dataclass
class FileOutcome:
    name: str
    status: str            # processed | failed | already loaded | changed while read
    counts: Counts
    reason: str | None = None


def ingest_file_drop(folder: FileDropFolder, layout: FileLayout, engine: Engine, *, run_id: str,
                     settings: Settings, validator: ContractValidator, now: datetime) -> SourceReport:
    """Load every ready file of one file-drop source. Raises at the end if a file failed, after
    loading all the others (one bad export must not hold back the rest)."""
    log = get_logger("shopops.ingest")
    tune_garbage_collector()
    report = SourceReport(folder.name, folder.kind)
    began = time.monotonic()
    writer = open_source_run(engine, folder.name, run_id, None, now, settings, validator)
    files = folder.ready_files(datetime.now(timezone.utc))  # by the clock, whatever window the run has
    log.info("%s: %d file(s) ready in %s", folder.name, len(files), folder.folder)
    outcomes: list[FileOutcome] = []
    try:
        for file in files:
            outcome = _one_file(folder, layout, file, engine, writer, run_id=run_id, now=now)
            outcomes.append(outcome)
            report.counts += outcome.counts
            report.chunks += outcome.status == "processed"
            log.info("%s: %s — %s%s", folder.name, file.name, outcome.status,
                     f": {outcome.reason}" if outcome.reason else _counts_text(outcome.counts))
        failed = [o for o in outcomes if o.status == FAILED]
        if failed:
            raise FilesFailed(f"{folder.name}: {len(failed)} of {len(outcomes)} file(s) failed and were moved to "
                               f"{folder.folder / FAILED}: " + "; ".join(f"{o.name}: {o.reason}" for o in failed))
        with write_transaction(engine) as conn:  # every file ready before `now` is dealt with
            state.advance_cursor(conn, folder.name, STREAM, now, run_id, datetime.now(timezone.utc))
        report.cursor, report.status = now, "succeeded"
    except Exception as exc:
        report.status, report.error = "failed", f"{type(exc).__name__}: {exc}"
        raise
    finally:
        finish_source_run(engine, run_id, report, writer.results, settings)
        report.seconds = time.monotonic() - began
    return report


def _one_file(folder: FileDropFolder, layout: FileLayout, file: DroppedFile, engine: Engine, writer: ChunkWriter, *,
              run_id: str, now: datetime) -> FileOutcome:
    data = folder.read(file)
    if not folder.still_as_listed(file):  # written to while we read it: next run
        return FileOutcome(file.name, "changed while read", Counts())
    checksum = hashlib.sha256(data).hexdigest()
    with engine.connect() as conn:
        earlier = conn.execute(select(FileDrop.file_name, FileDrop.processed_at).where(
            FileDrop.source == folder.name, FileDrop.checksum == checksum, FileDrop.status == PROCESSED)).first()
    if earlier is not None:
        folder.move(file, folder.destination(file, PROCESSED, checksum))
        return FileOutcome(file.name, "already loaded", Counts(),
                           f"the same bytes as {earlier.file_name}, loaded {earlier.processed_at:%Y-%m-%d %H:%M} UTC")
    rows: list[dict] = []
    target = folder.destination(file, PROCESSED, checksum)
    try:
        rows = folder.rows(file, data)
        header = list(rows[0]) if rows and folder.format_of(file.name) == "csv" else None
        missing = layout.missing_columns(header) if header is not None else []
        if missing:
            raise MalformedFile(f"{file.name} has no column {', '.join(missing)}; its columns: {', '.join(header)}")
        records = order_records(rows, layout)
        counts = Counts()
        if records:
            prepared = prepare(normalize_file_orders(records, folder.name, writer.secret, layout), writer.catalogue,
                               writer.validator, now)
            check_quarantine_limit(f"{folder.name} {file.name}", prepared, writer.settings.quarantine_max_share,
                                   writer.settings.quarantine_min_failures)
        with write_transaction(engine) as conn:
            if records:
                counts = commit(conn, prepared, run_id=run_id, fetched_at=now, rules=writer.rules,
                                catalogue=writer.catalogue, cursor=None)
            _record(conn, folder.name, checksum, file.name, PROCESSED, len(rows), len(records), None,
                    str(target), run_id)
        if records:
            for table, result in prepared.results.merged.items():
                writer.results.add(table, result)
    except (MalformedFile, QuarantineLimitExceeded) as exc:
        reason = str(exc)
        if isinstance(exc, QuarantineLimitExceeded):  # its bad records, for diagnosis (the message says so)
            with write_transaction(engine) as conn:
                quarantine_only(conn, prepared, run_id, now)
        moved = folder.move(file, folder.destination(file, FAILED, checksum), reason)
        with write_transaction(engine) as conn:
            _record(conn, folder.name, checksum, file.name, FAILED, len(rows), 0, reason, str(moved), run_id)
        return FileOutcome(file.name, FAILED, Counts(), reason)
    folder.move(file, target)
    return FileOutcome(file.name, PROCESSED, counts)


def _record(conn, source: str, checksum: str, name: str, status: str, rows: int, orders: int,
            reason: str | None, moved_to: str, run_id: str) -> None:
    conn.execute(FileDrop.__table__.delete().where(FileDrop.source == source, FileDrop.checksum == checksum))
    conn.execute(FileDrop.__table__.insert().values(
        source=source, checksum=checksum, file_name=name[:255], status=status, rows=rows, orders=orders,
        reason=reason, moved_to=moved_to, run_id=run_id, processed_at=datetime.now(timezone.utc)))


def _counts_text(counts: Counts) -> str:
    return (f": {counts.fetched} order version(s): {counts.inserted} inserted, {counts.updated} updated, "
            f"{counts.unchanged} unchanged, {counts.duplicates} duplicates, {counts.quarantined} quarantined")
