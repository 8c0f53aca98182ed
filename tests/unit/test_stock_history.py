"""Stock history import: rows resolved to the synced locations, stored sparse, re-imports harmless."""

from datetime import datetime, timezone

import pandas as pd

from tasks.stock_history import import_stock_history
from warehouse.engine import write_transaction
from warehouse.io import insert_frame

NOW = pd.Timestamp(datetime(2026, 11, 20, tzinfo=timezone.utc))


def synced_locations(engine) -> None:
    """shop-us has been synced once: two locations, one SKU each."""
    frame = pd.DataFrame({"source": "shop-us", "location_id": ["111", "222"], "sku": "A",
                          "location_name": ["Main Warehouse", "Overflow Storage"], "available": [1, 1],
                          "fetched_at": NOW, "run_id": "sync"})
    with write_transaction(engine) as conn:
        insert_frame(conn, "inventory_levels", frame, list(frame.columns))


def snapshots(engine) -> list[tuple]:
    with engine.connect() as conn:
        rows = conn.exec_driver_sql("SELECT location_id, sku, snapshot_date, available FROM inventory_snapshots").all()
    return sorted((loc, sku, str(day)[:10], available) for loc, sku, day, available in rows)


def write(tmp_path, lines: list[str]):
    path = tmp_path / "stock.csv"
    path.write_text("date,stock_pool,location,sku,available\n" + "\n".join(lines) + "\n")
    return path


def test_locations_by_name_or_id_and_only_changes_are_stored(engine, tmp_path):
    synced_locations(engine)
    result = import_stock_history(engine, write(tmp_path, [
        "2026-11-01,shop-us,Main Warehouse,A,5",
        "2026-11-02,shop-us,Main Warehouse,A,5",   # repeats the day before: not stored
        "2026-11-03,shop-us,Main Warehouse,A,3",
        "2026-11-04,shop-us,111,A,3",              # the same location by id, same value: not stored
        "2026-11-01,shop-us,222,A,2",
        "2026-11-02,shop-us,222,B,0",
    ]))
    assert (result.rows, result.stored, result.problems) == (6, 4, [])
    assert snapshots(engine) == [
        ("111", "A", "2026-11-01", 5), ("111", "A", "2026-11-03", 3),
        ("222", "A", "2026-11-01", 2), ("222", "B", "2026-11-02", 0),
    ]


def test_bad_rows_are_reported_and_change_nothing(engine, tmp_path):
    synced_locations(engine)
    result = import_stock_history(engine, write(tmp_path, [
        "2026-11-01,shop-eu,Main Warehouse,A,5",   # line 2: a shop never synced
        "2026-11-01,shop-us,Basement,A,5",         # 3: no such location
        "2026-11-01,shop-us,111,A,many",           # 4: not a number
        "01/11/2026,shop-us,111,A,5",              # 5: not an ISO date
        "2026-11-02,shop-us,111,A,4",              # 6 and 7: the same cell twice
        "2026-11-02,shop-us,Main Warehouse,A,4",
        "2026-11-03,shop-us,111,A,2",              # 8: good
    ]))
    assert result.stored == 1 and snapshots(engine) == [("111", "A", "2026-11-03", 2)]
    assert [p.split(":")[0] for p in result.problems] == ["line 2", "line 3", "line 4", "line 5", "line 6", "line 7"]
    assert "run `shopops ingest` first" in result.problems[0]
    assert "neither the id nor the name" in result.problems[1]


def test_importing_again_changes_only_what_differs(engine, tmp_path):
    synced_locations(engine)
    import_stock_history(engine, write(tmp_path, ["2026-11-01,shop-us,111,A,5", "2026-11-03,shop-us,111,A,3"]))
    with engine.connect() as conn:
        first = conn.exec_driver_sql("SELECT snapshot_date, available, taken_at FROM inventory_snapshots").all()
    import_stock_history(engine, write(tmp_path, ["2026-11-01,shop-us,111,A,5", "2026-11-03,shop-us,111,A,3"]))
    with engine.connect() as conn:
        again = conn.exec_driver_sql("SELECT snapshot_date, available, taken_at FROM inventory_snapshots").all()
    assert sorted(again) == sorted(first)  # not even the time it was taken changed
    import_stock_history(engine, write(tmp_path, ["2026-11-03,shop-us,111,A,4"]))
    assert snapshots(engine) == [("111", "A", "2026-11-01", 5), ("111", "A", "2026-11-03", 4)]
