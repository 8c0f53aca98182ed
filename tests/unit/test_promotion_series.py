"""The hourly cube the promotion review reads its series from (tasks/promotions/series.py)."""

import numpy as np
import pandas as pd

from tasks.promotions.series import build_cube

START = pd.Timestamp("2026-11-01T00:00Z")


def lines_frame(rows):
    frame = pd.DataFrame(rows, columns=["source", "sku", "created_at", "quantity", "refunded_quantity", "unit_price",
                                        "line_total"])
    return frame.assign(created_at=pd.to_datetime(frame["created_at"], utc=True),
                        source=frame["source"].astype("category"), sku=frame["sku"].astype("category"))


def cube_frame(cube) -> pd.DataFrame:
    return pd.DataFrame({"hour": cube.hour, "source": cube.sources[cube.source], "sku": cube.skus[cube.sku],
                         "units": cube.units, "margin": cube.margin, "net": cube.net})


def test_units_margin_and_net_sales_per_hour_channel_and_sku_worked_by_hand():
    lines = lines_frame([
        ("woo-eu", "C", "2026-11-01T01:40Z", 1, 0, 5.0, 5.0),     # no cost known: margin unknown, not 5
        ("shop-us", "A", "2026-11-01T00:10Z", 2, 0, 10.0, 18.0),  # 2 units, margin 2 × (10 − 6), net 18
        ("shop-us", "A", "2026-11-01T00:50Z", 3, 1, 10.0, 27.0),  # 2 kept: margin 8, net 27 × 2/3 = 18
        ("woo-eu", "B", "2026-11-01T01:30Z", 1, 0, 0.0, 0.0),     # a gift: no demand, margin 0 − 2
        ("shop-us", "A", "2026-11-01T00:20Z", 3, 2, 10.0, 10.0),  # 1 kept: margin 4, net 10/3 = 3.3333
    ])
    costs = pd.Series({"A": 6.0, "B": 2.0, "C": np.nan})
    cube = build_cube(lines, costs, pd.Series({"A": "kitchen", "B": "garden", "C": "garden"}), START)
    got = cube_frame(cube)
    assert got[["hour", "source", "sku"]].values.tolist() == [[0, "shop-us", "A"], [1, "woo-eu", "B"],
                                                              [1, "woo-eu", "C"]]
    assert got["units"].tolist() == [5.0, 0.0, 1.0]
    assert got["margin"].tolist() == [20.0, -2.0, 0.0]
    assert got["net"].tolist() == [39.3333, 0.0, 5.0]  # each line's share in whole ten-thousandths
    assert list(cube.categories[cube.category]) == ["kitchen", "garden", "garden"]


def test_the_cube_is_the_same_to_the_last_bit_whatever_order_the_lines_come_in():
    """The warehouse returns rows in no fixed order (PostgreSQL's parallel scans least of all); a
    review run twice for a date must give the same figures, not ones that differ in the 14th digit."""
    rng = np.random.default_rng(7)
    n = 20_000
    quantity = rng.integers(1, 6, n)
    price = rng.integers(1, 2_000_000, n) / 10_000
    lines = lines_frame({
        "source": rng.choice(["shop-us", "woo-eu", "amazon-de"], n), "sku": rng.choice(list("PQRST"), n),
        "created_at": START + pd.to_timedelta(rng.integers(0, 3 * 3600, n), unit="s"),
        "quantity": quantity, "refunded_quantity": rng.integers(0, quantity + 1),
        "unit_price": price, "line_total": np.round(quantity * price * rng.uniform(0.5, 1.0, n), 4),
    })
    costs = pd.Series(rng.integers(1, 1_000_000, 5) / 10_000, index=list("PQRST"))
    categories = pd.Series(["a", "b", "a", "c", "b"], index=list("PQRST"))
    first = build_cube(lines, costs, categories, START)
    again = build_cube(lines.sample(frac=1, random_state=3).reset_index(drop=True), costs, categories, START)
    assert len(first.hour) == 3 * 3 * 5
    for name in ("hour", "source", "sku", "category", "units", "margin", "net", "sku_category"):
        assert np.array_equal(getattr(first, name), getattr(again, name)), name
    assert first.skus.equals(again.skus) and first.sources.equals(again.sources)
