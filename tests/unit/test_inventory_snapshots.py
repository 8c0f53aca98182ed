"""The day's stock snapshot: sparse rows, one per level and day on which the stock changed."""

from datetime import datetime, timezone

import pandas as pd

from tasks.catalog import _snapshot_levels
from warehouse.engine import write_transaction
from warehouse.io import upsert_frame

DAY_1_MORNING = datetime(2026, 11, 20, 8, tzinfo=timezone.utc)
DAY_1_EVENING = datetime(2026, 11, 20, 20, tzinfo=timezone.utc)
DAY_2_MORNING = datetime(2026, 11, 21, 8, tzinfo=timezone.utc)
DAY_2_NOON = datetime(2026, 11, 21, 12, tzinfo=timezone.utc)
DAY_2_EVENING = datetime(2026, 11, 21, 20, tzinfo=timezone.utc)
DAY_3 = datetime(2026, 11, 22, 8, tzinfo=timezone.utc)


def set_levels(engine, available: dict[str, int]) -> None:
    """The shop's inventory levels now: exactly these SKUs at location 1."""
    frame = pd.DataFrame({"source": "shop-us", "location_id": "1", "sku": list(available),
                          "available": list(available.values()), "fetched_at": pd.Timestamp(DAY_1_MORNING),
                          "run_id": "r"})
    with write_transaction(engine) as conn:
        conn.exec_driver_sql("DELETE FROM inventory_levels")
        upsert_frame(conn, "inventory_levels", frame, ["source", "location_id", "sku"], ["available"])


def snapshots(engine) -> list[tuple]:
    with engine.connect() as conn:
        rows = conn.exec_driver_sql("SELECT sku, snapshot_date, available, run_id FROM inventory_snapshots").all()
    return sorted((sku, str(day)[:10], available, run) for sku, day, available, run in rows)


def take(engine, run_id: str, when: datetime, levels: dict[str, int]) -> None:
    set_levels(engine, levels)
    with write_transaction(engine) as conn:
        _snapshot_levels(conn, "shop-us", run_id, taken_at=when)


def test_only_changes_are_written_and_the_last_sync_of_a_day_wins(engine):
    take(engine, "d1-morning", DAY_1_MORNING, {"A": 5, "B": 0})
    take(engine, "d1-evening", DAY_1_EVENING, {"A": 2, "B": 0})    # A sold 3; B unchanged
    take(engine, "d2-morning", DAY_2_MORNING, {"A": 2, "B": 0})    # nothing changed: no row for day 2
    assert snapshots(engine) == [
        ("A", "2026-11-20", 2, "d1-evening"),
        ("B", "2026-11-20", 0, "d1-morning"),   # the morning row is left alone
    ]
    take(engine, "d2-noon", DAY_2_NOON, {"A": 4, "B": 0})          # restocked by 2 ...
    assert ("A", "2026-11-21", 4, "d2-noon") in snapshots(engine)
    take(engine, "d2-evening", DAY_2_EVENING, {"A": 2, "B": 0})    # ... and sold 2: back where the day began
    assert snapshots(engine) == [("A", "2026-11-20", 2, "d1-evening"), ("B", "2026-11-20", 0, "d1-morning")]


def test_a_level_the_shop_no_longer_has_is_recorded_as_empty_once(engine):
    take(engine, "d1", DAY_1_MORNING, {"A": 5, "B": 0, "C": 1})
    take(engine, "d3", DAY_3, {"C": 1})                             # A and B are gone
    take(engine, "d3-again", DAY_3, {"C": 1})
    assert snapshots(engine) == [
        ("A", "2026-11-20", 5, "d1"), ("A", "2026-11-22", 0, "d3"),   # B was already empty: no row
        ("B", "2026-11-20", 0, "d1"), ("C", "2026-11-20", 1, "d1"),
    ]
