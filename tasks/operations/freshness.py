"""How recently each source's orders loaded: its committed order cursor (every order updated
before it is in the warehouse)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import Engine, select

from tasks.load import STREAM
from warehouse.models import SyncState


def loaded_up_to(engine: Engine, sources: list[str]) -> dict[str, datetime | None]:
    with engine.connect() as conn:
        cursors = dict(conn.execute(select(SyncState.source, SyncState.cursor).where(
            SyncState.stream == STREAM, SyncState.source.in_(sources))).all())
    return {source: _utc(cursors.get(source)) for source in sources}


def stale(cursors: dict[str, datetime | None], now: datetime, max_age_hours: float) -> dict[str, datetime | None]:
    """The sources never loaded, or loaded up to longer than `max_age_hours` before `now`."""
    oldest = now - timedelta(hours=max_age_hours)
    return {source: cursor for source, cursor in cursors.items() if cursor is None or cursor < oldest}


def _utc(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)
