"""The day's stock snapshot: one row per level and day; a changed value overwrites, an unchanged one stays."""

from datetime import datetime, timezone

import pandas as pd

from tasks.catalog import _snapshot_levels
from warehouse.engine import write_transaction
from warehouse.io import upsert_frame

MORNING = datetime(2026, 11, 20, 8, tzinfo=timezone.utc)
EVENING = datetime(2026, 11, 20, 20, tzinfo=timezone.utc)
NEXT_DAY = datetime(2026, 11, 21, 8, tzinfo=timezone.utc)


def set_levels(engine, available: dict[str, int]) -> None:
    frame = pd.DataFrame({"source": "shop-us", "location_id": "1", "sku": list(available),
                          "available": list(available.values()), "fetched_at": pd.Timestamp(MORNING), "run_id": "r"})
    with write_transaction(engine) as conn:
        upsert_frame(conn, "inventory_levels", frame, ["source", "location_id", "sku"], ["available"])


def snapshots(engine) -> list[tuple]:
    with engine.connect() as conn:
        rows = conn.exec_driver_sql("SELECT sku, snapshot_date, available, run_id FROM inventory_snapshots").all()
    return sorted((sku, str(day)[:10], available, run) for sku, day, available, run in rows)


def take(engine, run_id: str, when: datetime) -> None:
    with write_transaction(engine) as conn:
        _snapshot_levels(conn, "shop-us", run_id, taken_at=when)


def test_a_later_sync_the_same_day_overwrites_only_what_changed(engine):
    set_levels(engine, {"A": 5, "B": 0})
    take(engine, "morning", MORNING)
    set_levels(engine, {"A": 2, "B": 0})
    take(engine, "evening", EVENING)
    take(engine, "next-day", NEXT_DAY)
    assert snapshots(engine) == [
        ("A", "2026-11-20", 2, "evening"),   # sold 3 during the day: the evening value wins
        ("A", "2026-11-21", 2, "next-day"),
        ("B", "2026-11-20", 0, "morning"),   # unchanged: the morning row is left alone
        ("B", "2026-11-21", 0, "next-day"),
    ]
