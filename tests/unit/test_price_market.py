"""Market statistics, moves and scrape health on hand-made observations."""

from datetime import date

import numpy as np
import pandas as pd

from tasks.pricing.alerts import AlertSettings, became_unreadable, health, moves
from tasks.pricing.market import market

DAY = pd.Timestamp("2026-11-20")


def obs(rows):
    """(sku, competitor, status, price, currency)"""
    return pd.DataFrame([{"sku": s, "competitor": c, "observed_on": DAY, "status": st, "price": p, "currency": cur,
                          "detail": ""} for s, c, st, p, cur in rows])


def test_only_valid_prices_make_the_market_and_other_currencies_are_converted():
    observations = obs([
        ("A", "alpha", "ok", 100.0, "USD"),
        ("A", "beta", "ok", 50.0, "EUR"),         # 50 EUR at 1.2 = 60 USD
        ("A", "gamma", "out_of_stock", 10.0, "USD"),  # a sold-out page's price never counts
        ("A", "delta", "parse_error", np.nan, None),
        ("A", "omega", "ok", 30.0, "JPY"),        # no rate: left out
        ("B", "alpha", "ok", 20.0, "USD"),
    ])
    ours = pd.DataFrame({"list_price": [72.0, 25.0, 9.0]}, index=pd.Index(["A", "B", "C"], name="sku"))
    out = market(observations, ours, "USD", {"EUR": 1.2}).set_index("sku")
    # A: 100 and 60 → average 80, minimum 60 (beta), index 72 / 80 = 90
    assert out.loc["A", ["competitors", "market_average", "market_minimum", "market_maximum"]].tolist() == [2, 80, 60, 100]
    assert out.loc["A", "cheapest_competitor"] == "beta" and out.loc["A", "price_index"] == 90
    assert out.loc["B", "price_index"] == 125
    assert out.loc["C", "competitors"] == 0 and np.isnan(out.loc["C", "market_average"])


def test_moves_are_only_between_two_valid_prices():
    yesterday = obs([("A", "alpha", "ok", 100.0, "USD"), ("B", "alpha", "ok", 100.0, "USD"),
                     ("C", "alpha", "parse_error", np.nan, None), ("D", "alpha", "ok", 100.0, "USD")])
    today = obs([("A", "alpha", "ok", 80.0, "USD"), ("B", "alpha", "ok", 110.0, "USD"),
                 ("C", "alpha", "ok", 10.0, "USD"), ("D", "alpha", "out_of_stock", 5.0, "USD")])
    found = moves(today, yesterday, "competitor", 0.15)
    # A fell 20% (an alert); B rose 10% (under 15%); C had no valid price the day before; D is sold out.
    assert found[["sku", "previous_price", "price"]].values.tolist() == [["A", 100.0, 80.0]]
    assert found["change_percent"].round(6).tolist() == [-20.0]
    assert found["detail"].tolist() == ["down 20.0% from the day before"]
    unreadable = became_unreadable(today, yesterday)
    assert unreadable[["sku", "kind"]].values.tolist() == [["D", "out of stock"]]


def test_health_counts_blocked_pages_apart_and_sees_a_site_break_the_day_it_breaks():
    today = obs([("A", "alpha", "ok", 1.0, "USD"), ("B", "alpha", "ok", 1.0, "USD"), ("C", "alpha", "blocked", np.nan, None),
                 ("A", "beta", "parse_error", np.nan, None), ("B", "beta", "parse_error", np.nan, None),
                 ("C", "beta", "ok", 1.0, "USD"), ("D", "beta", "out_of_stock", 1.0, "USD")])
    previous = pd.DataFrame({"competitor": ["alpha", "beta"], "success_rate": [1.0, 1.0]})
    last = pd.Series({"alpha": date(2026, 11, 20), "beta": date(2026, 11, 20)})
    out = health(today, previous, last, ["alpha", "beta", "gamma"], AlertSettings()).set_index("competitor")
    assert out.loc["alpha", ["pages", "ok", "blocked", "success_rate", "status"]].tolist() == [3, 2, 1, 1.0, "healthy"]
    # beta: 2 readable (ok + out of stock) of 4 = 50%, down from 100%: broken, the day it happens
    assert out.loc["beta", ["success_rate", "parse_error", "status"]].tolist() == [0.5, 2, "broken"]
    assert out.loc["beta", "detail"] == "readable pages fell from 100% to 50% since the day before (a page layout may have changed)"
    assert out.loc["gamma", "status"] == "not crawled"
