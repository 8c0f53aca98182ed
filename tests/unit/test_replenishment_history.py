"""Item × day matrices from warehouse-shaped frames, checked cell by cell."""

import numpy as np
import pandas as pd

from tasks.replenishment.history import in_stock_matrix, units_matrix

START = pd.Timestamp("2026-11-01")
ITEMS = pd.MultiIndex.from_tuples([("A", "wh1"), ("B", "wh1"), ("A", "wh2")], names=["sku", "location"])


def frame(rows, columns):
    return pd.DataFrame(rows, columns=columns)


def test_units_are_summed_per_item_and_day_and_rows_outside_are_ignored():
    sales = frame([
        ("A", "wh1", "2026-11-01", 2), ("A", "wh1", "2026-11-01", 3),   # same cell: 5
        ("A", "wh1", "2026-11-03", -1),                                 # a return nets out
        ("B", "wh1", "2026-11-02", 4),
        ("A", "wh2", "2026-11-04", 7),                                  # day 3 of 0..3
        ("A", "wh1", "2026-10-31", 9), ("A", "wh1", "2026-11-05", 9),   # outside the 4 days
        ("C", "wh1", "2026-11-01", 9),                                  # not an item we plan
    ], ["sku", "location", "day", "units"])
    assert units_matrix(sales, ITEMS, START, 4).tolist() == [
        [5, 0, -1, 0],
        [0, 4, 0, 0],
        [0, 0, 0, 7],
    ]


def test_stock_carries_forward_and_a_sale_proves_the_item_was_there():
    snapshots = frame([
        ("A", "wh1", "2026-10-30", 3),   # before the window: A/wh1 opens with 3
        ("A", "wh1", "2026-11-01", 0),   # sold out at the end of day 0
        ("A", "wh1", "2026-11-03", 5),   # restocked at the end of day 2
        ("B", "wh1", "2026-11-01", 2), ("B", "wh1", "2026-11-01", 0),  # two snapshots of one day: the latter wins
    ], ["sku", "location", "day", "available"])
    sales = np.array([
        [3, 0, 0, 1],
        [0, 0, 1, 0],    # B sold on day 2 although its last snapshot said 0
        [0, 0, 0, 0],
    ], float)
    assert in_stock_matrix(snapshots, sales, ITEMS, START, 4).tolist() == [
        [True, False, False, True],   # opening 3, then 0, 0, then 5
        [True, False, True, False],   # no snapshot before day 0 → unknown → in stock; then 0
        [True, True, True, True],     # never snapshotted: nothing known, counted as in stock
    ]
