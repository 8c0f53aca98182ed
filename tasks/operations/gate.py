"""The gate between the load and the operational flows: nothing plans on orders that are not all in.

Passed when, for every configured source:
- fresh: its committed order cursor reached the cut-off (orders are loaded up to it);
- reconciled: the load run's audit row says succeeded and adds up (fetched = inserted + updated +
  unchanged + duplicates + quarantined), and the orders carrying that run's id are as many as it
  says it inserted or updated.
"""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import Engine, func, select

from tasks.load import STREAM
from warehouse.models import LoadAudit, Order, SyncState


def gate_problems(engine: Engine, sources: list[str], cut_off: datetime, load_run_id: str | None) -> list[str]:
    """What keeps the gate shut, one sentence per source and cause ([] when it is open)."""
    problems = []
    with engine.connect() as conn:
        cursors = dict(conn.execute(select(SyncState.source, SyncState.cursor).where(
            SyncState.stream == STREAM, SyncState.source.in_(sources))).all())
        audits = {row.source: row for row in conn.execute(select(LoadAudit).where(
            LoadAudit.run_id == load_run_id, LoadAudit.stream == STREAM))} if load_run_id else {}
        loaded = dict(conn.execute(select(Order.source, func.count()).where(Order.run_id == load_run_id).group_by(
            Order.source)).all()) if load_run_id else {}
    for source in sources:
        cursor = cursors.get(source)
        if cursor is None or _utc(cursor) < cut_off:
            problems.append(f"{source}: orders are loaded up to {_text(cursor)}, not to the cut-off {_text(cut_off)}")
        if load_run_id is None:
            continue
        audit = audits.get(source)
        if audit is None:
            problems.append(f"{source}: the load run {load_run_id} left no audit row")
            continue
        if audit.status != "succeeded":
            problems.append(f"{source}: the load ended {audit.status}")
        accounted = audit.inserted + audit.updated + audit.unchanged + audit.duplicates + audit.quarantined
        if accounted != audit.fetched:
            problems.append(f"{source}: {audit.fetched} orders fetched but {accounted} accounted for "
                            "(inserted + updated + unchanged + duplicates + quarantined)")
        if loaded.get(source, 0) != audit.inserted + audit.updated:
            problems.append(f"{source}: the audit says {audit.inserted + audit.updated} orders inserted or updated, "
                            f"the warehouse holds {loaded.get(source, 0)} from that run")
    return problems


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment


def _text(moment) -> str:
    return "never" if moment is None else f"{moment:%Y-%m-%d %H:%M} UTC"
