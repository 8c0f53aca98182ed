"""Bookkeeping tables: the committed cursor (`sync_state`), per-run counts (`load_audit`) and
the quarantine upsert. Called inside the load transactions of tasks/load.py."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime

import pandas as pd
from sqlalchemy import Connection, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from warehouse.engine import is_postgres
from warehouse.io import insert_frame, stage_like
from warehouse.models import LoadAudit, SyncState
from warehouse.sql_names import sql_names

COUNT_FIELDS = ("fetched", "inserted", "updated", "unchanged", "duplicates", "quarantined")


def read_cursor(conn: Connection, source: str, stream: str) -> datetime | None:
    return conn.execute(
        select(SyncState.cursor).where(SyncState.source == source, SyncState.stream == stream)
    ).scalar_one_or_none()


def advance_cursor(conn: Connection, source: str, stream: str, cursor: datetime, run_id: str, now: datetime) -> None:
    """Move the cursor forward only: a backfill of old dates never rewinds the incremental sync."""
    insert = pg_insert if is_postgres(conn) else sqlite_insert
    statement = insert(SyncState).values(source=source, stream=stream, cursor=cursor, run_id=run_id, updated_at=now)
    statement = statement.on_conflict_do_update(
        index_elements=[SyncState.source, SyncState.stream],
        set_={"cursor": statement.excluded.cursor, "run_id": statement.excluded.run_id,
              "updated_at": statement.excluded.updated_at},
        where=SyncState.cursor < statement.excluded.cursor,
    )
    conn.execute(statement)


def start_audit(conn: Connection, run_id: str, source: str, stream: str,
                window_start: datetime | None, window_end: datetime | None, now: datetime) -> None:
    """Open the audit row of this run and source. A retried task reopens it with the counts of the
    chunks its earlier attempts committed: those orders carry the run's id, and the retry counts
    the versions they stored as duplicates ("a version this run already stored"), so the row
    still adds up and still matches the orders the run wrote."""
    reopened = conn.execute(
        update(LoadAudit)
        .where(LoadAudit.run_id == run_id, LoadAudit.source == source, LoadAudit.stream == stream)
        .values(status="running", error=None, finished_at=None)
    ).rowcount
    if not reopened:
        conn.execute(LoadAudit.__table__.insert().values(
            run_id=run_id, source=source, stream=stream, window_start=window_start, window_end=window_end,
            started_at=now, status="running", error=None, chunks=0, **{name: 0 for name in COUNT_FIELDS}))


def add_counts(conn: Connection, run_id: str, source: str, stream: str, counts) -> None:
    values = asdict(counts)
    conn.execute(
        update(LoadAudit)
        .where(LoadAudit.run_id == run_id, LoadAudit.source == source, LoadAudit.stream == stream)
        .values(chunks=LoadAudit.chunks + 1,
                **{name: getattr(LoadAudit, name) + values[name] for name in COUNT_FIELDS})
    )


def finish_audit(conn: Connection, run_id: str, source: str, stream: str, status: str,
                 now: datetime, error: str | None = None) -> None:
    conn.execute(
        update(LoadAudit)
        .where(LoadAudit.run_id == run_id, LoadAudit.source == source, LoadAudit.stream == stream)
        .values(status=status, finished_at=now, error=error[:4000] if error else None)
    )


def still_running(conn: Connection, run_id: str, stream: str) -> list[str]:
    """The sources of this run whose audit row of `stream` is still open."""
    return sorted(conn.execute(select(LoadAudit.source).where(
        LoadAudit.run_id == run_id, LoadAudit.stream == stream, LoadAudit.status == "running")).scalars())


_QUARANTINE_COLUMNS = ["source", "stream", "external_id", "updated_at", "record_hash", "payload", "reasons",
                       "run_id", "quarantined_at"]


def upsert_quarantine(conn: Connection, frame: pd.DataFrame) -> None:
    """Insert new quarantined records; for ones already there, only refresh changed reasons."""
    if frame.empty:
        return
    insert_frame(conn, stage_like(conn, "quarantine"), frame, _QUARANTINE_COLUMNS)
    columns = sql_names(_QUARANTINE_COLUMNS)
    conn.execute(text(
        f"INSERT INTO quarantine ({columns}) SELECT {columns} FROM stg_quarantine WHERE true "
        "ON CONFLICT (source, stream, record_hash) DO UPDATE SET reasons = excluded.reasons "
        "WHERE quarantine.reasons <> excluded.reasons"
    ))
