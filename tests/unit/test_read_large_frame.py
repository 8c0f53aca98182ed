"""read_large_frame reads in batches and gives the frame one read of everything gives, on both backends."""

import pandas as pd
from sqlalchemy import text


def test_batches_give_the_same_frame_as_one_read(engine):
    rows = [{"s": None, "n": 1, "at": "2026-11-01 10:00:00"}, {"s": None, "n": 2, "at": "2026-11-02 11:30:00"},
            {"s": "x", "n": 3, "at": "2026-11-03 12:00:00"}, {"s": None, "n": 4, "at": "2026-11-04 00:00:00"},
            {"s": "y", "n": 5, "at": "2026-11-05 23:59:59"}]
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE large_read_probe (s VARCHAR(8), n INTEGER, at VARCHAR(32))"))
        conn.execute(text("INSERT INTO large_read_probe VALUES (:s, :n, :at)"), rows)
    from warehouse.io import read_large_frame

    query = text("SELECT s, n, at FROM large_read_probe ORDER BY n")
    with engine.connect() as conn:
        whole = read_large_frame(conn, query, times=["at"], batch_rows=100)
        batched = read_large_frame(conn, query, times=["at"], batch_rows=2)  # the first batch: s all missing
        empty = read_large_frame(conn, text("SELECT s, n FROM large_read_probe WHERE n > 99"), batch_rows=2)
    pd.testing.assert_frame_equal(batched, whole)
    assert whole["n"].tolist() == [1, 2, 3, 4, 5] and whole["s"].isna().tolist() == [True, True, False, True, False]
    assert str(batched["s"].dtype) == "str" and whole["at"].iloc[4] == pd.Timestamp("2026-11-05 23:59:59", tz="UTC")
    assert list(empty.columns) == ["s", "n"] and empty.empty
