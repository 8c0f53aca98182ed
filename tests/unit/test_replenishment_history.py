"""Item × day matrices from warehouse-shaped frames, checked cell by cell."""

import numpy as np
import pandas as pd

from tasks.replenishment.history import in_stock_matrix, item_totals, stock_matrix, units_matrix

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
        ("A", "wh1", "L1", "2026-10-20", 9),   # long before the window ...
        ("A", "wh1", "L1", "2026-10-30", 3),   # ... the latest one before it opens A/wh1 with 3
        ("A", "wh1", "L1", "2026-11-01", 0),   # sold out at the end of day 0
        ("A", "wh1", "L1", "2026-11-03", 5),   # restocked at the end of day 2
        ("B", "wh1", "L1", "2026-11-01", 2), ("B", "wh1", "L1", "2026-11-01", 0),  # one day twice: the latter wins
    ], ["sku", "location", "location_id", "day", "available"])
    sales = np.array([
        [3, 0, 0, 1],
        [0, 0, 1, 0],    # B sold on day 2 although its last snapshot said 0
        [0, 0, 0, 0],
    ], float)
    stock = stock_matrix(snapshots, ITEMS, START, 4)
    nan = np.nan
    np.testing.assert_array_equal(stock, [
        [3, 0, 0, 5, 5, 5],        # carried in, the end of days 0..3 (a value holds until the next row), day 4
        [nan, 0, 0, 0, 0, 0],
        [nan, nan, nan, nan, nan, nan],
    ])
    assert in_stock_matrix(stock, sales).tolist() == [
        [True, False, False, True],   # opening 3, then 0, 0, then 5
        [True, False, True, False],   # no snapshot before day 0 → unknown → in stock; then 0
        [True, True, True, True],     # never snapshotted: nothing known, counted as in stock
    ]


def test_the_locations_of_a_pool_are_summed_each_holding_its_last_value():
    snapshots = frame([
        ("A", "wh1", "L1", "2026-10-31", 4),   # opening: L1 has 4, L2 is not known yet (0)
        ("A", "wh1", "L2", "2026-11-01", 6),   # end of day 0: 4 + 6
        ("A", "wh1", "L1", "2026-11-02", 1),   # end of day 1: 1 + 6 (L2 holds its 6)
        ("A", "wh1", "L2", "2026-11-03", 0),   # end of day 2: 1 + 0
        ("A", "wh1", "L1", "2026-11-05", 3),   # on the plan's own date (day 4): the last column
        ("A", "wh1", "L1", "2026-11-09", 7),   # after it: ignored
        ("A", "wh2", "L1", "2026-11-02", 2),   # the other pool's own location of the same name
    ], ["sku", "location", "location_id", "day", "available"])
    stock = stock_matrix(snapshots, ITEMS, START, 4)
    np.testing.assert_array_equal(stock[0], [4, 10, 7, 1, 1, 3])
    np.testing.assert_array_equal(stock[2], [np.nan, np.nan, 2, 2, 2, 2])


def test_item_totals_sum_a_column_per_item_over_the_window():
    sales = frame([
        ("A", "wh1", "2026-11-01", 2), ("A", "wh1", "2026-11-03", 1),
        ("A", "wh2", "2026-11-02", 4),
        ("A", "wh1", "2026-11-05", 9), ("C", "wh1", "2026-11-01", 9),   # outside the days; not an item
    ], ["sku", "location", "day", "returned"])
    assert item_totals(sales, ITEMS, START, 4, "returned").tolist() == [3, 0, 4]


def test_no_stock_known_yet_is_unknown_on_every_day():
    import numpy as np
    import pandas as pd

    from tasks.replenishment.history import stock_matrix

    items = pd.MultiIndex.from_tuples([("A", "shop"), ("B", "shop")], names=["sku", "location"])
    empty = pd.DataFrame({"sku": [], "location": [], "location_id": [], "day": pd.to_datetime([]), "available": []})
    stock = stock_matrix(empty, items, pd.Timestamp("2026-11-01"), 5)
    assert stock.shape == (2, 7) and np.isnan(stock).all()
