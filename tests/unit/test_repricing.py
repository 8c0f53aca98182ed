"""Repricing rules on hand-made rows, with the numbers worked out by hand; and the floor as a property."""

import numpy as np
import pandas as pd
from hypothesis import given, settings as hsettings, strategies as st

from tasks.pricing.repricing import RepricingSettings, recommend

NAN = np.nan


def rows(*specs):
    """(role, our price, cost, market average, competitors, member price)"""
    return pd.DataFrame([{"sku": f"S{i}", "role": role, "our_price": price, "unit_cost": cost, "min_margin": NAN,
                          "market_average": market, "competitors": n, "member_price": member}
                         for i, (role, price, cost, market, n, member) in enumerate(specs)])


def test_traffic_skus_land_in_the_band_3_to_5_percent_below_the_market():
    out = recommend(rows(
        ("traffic", 99.0, 50.0, 100.0, 3, NAN),    # band 95-97: down to its top, 97 (-2.02%)
        ("traffic", 96.0, 50.0, 100.0, 3, NAN),    # in the band: kept
        ("traffic", 90.0, 50.0, 100.0, 3, NAN),    # below it: up to its bottom, 95 (+5.56%)
    ), RepricingSettings()).set_index("sku")
    assert list(out["recommended_price"]) == [97.0, 96.0, 95.0]
    assert list(out["action"]) == ["lower", "keep", "raise"]
    assert list(out["bound_by"]) == ["none", "none", "none"]
    assert list(out["band_low"]) == [95.0] * 3 and list(out["band_high"]) == [97.0] * 3
    assert round(out.loc["S0", "change_percent"], 2) == -2.02 and round(out.loc["S2", "change_percent"], 2) == 5.56
    assert out.loc["S0", "rule"] == "traffic: 3-5% below the market average"


def test_the_cost_floor_binds_and_says_so():
    out = recommend(rows(
        ("traffic", 99.0, 90.0, 100.0, 2, NAN),    # floor 90 × 1.1 = 99.00 above the whole band 95-97
        ("traffic", 99.0, 87.0, 100.0, 2, NAN),    # floor 95.70: the band's top 97 is above it, so 97
        ("traffic", 99.0, 88.5, 100.0, 2, NAN),    # floor 97.35 above the band's top: the floor
    ), RepricingSettings()).set_index("sku")
    assert list(out["floor_price"]) == [99.0, 95.7, 97.35]
    assert list(out["recommended_price"]) == [99.0, 97.0, 97.35]
    assert list(out["bound_by"]) == ["cost floor", "none", "cost floor"]
    assert out.loc["S0", "reason"] == ("the band 95.00-97.00 (market 100.00) lies below the cost floor 99.00: "
                                       "held at the floor, the band cannot be reached")
    assert out.loc["S0", "action"] == "keep" and out.loc["S2", "action"] == "lower"


def test_no_day_moves_more_than_the_daily_limit_except_back_above_the_floor():
    out = recommend(rows(
        ("traffic", 120.0, 50.0, 100.0, 4, NAN),   # wants 97 (-19%): 108 today, the most a day allows
        ("regular", 40.0, 10.0, NAN, 0, NAN),      # band 11-30: out of band, wants 30 (-25%): 36 today
        ("regular", 9.0, 10.0, NAN, 0, NAN),       # below the floor 11: straight to it (+22%), floor first
        ("regular", 20.0, 10.0, NAN, 0, NAN),      # inside 11-30: kept
    ), RepricingSettings()).set_index("sku")
    assert list(out["recommended_price"]) == [108.0, 36.0, 11.0, 20.0]
    assert list(out["bound_by"]) == ["max daily change", "max daily change", "cost floor", "none"]
    assert list(out["out_of_band"]) == [True, True, True, False]
    assert out.loc["S1", "reason"] == "the band 11.00-30.00; moved to 36.00 today, the most a day allows"


def test_without_a_market_or_a_cost_nothing_is_invented():
    out = recommend(rows(
        ("traffic", 50.0, 20.0, NAN, 0, NAN),
        ("regular", 50.0, NAN, NAN, 0, NAN),
        ("regular", NAN, 20.0, NAN, 0, NAN),
    ), RepricingSettings()).set_index("sku")
    assert list(out["bound_by"]) == ["no market", "no cost", "no price"]
    assert list(out["action"]) == ["review", "review", "review"]
    assert out.loc["S0", "recommended_price"] == 50.0 and out.loc["S1", "recommended_price"] == 50.0
    assert np.isnan(out.loc["S2", "recommended_price"])


def test_the_member_price_keeps_its_gap_below_the_recommended_price_and_above_the_floor():
    out = recommend(rows(
        ("traffic", 99.0, 50.0, 100.0, 3, 93.0),   # recommended 97: members at most 92.15 (5% below)
        ("traffic", 99.0, 50.0, 100.0, 3, 90.0),   # 90 keeps its gap
        ("regular", 11.0, 10.0, NAN, 0, 10.9),     # 5% below 11 is 10.45, under the floor 11: the floor
    ), RepricingSettings()).set_index("sku")
    assert list(out["member_recommended"]) == [92.15, 90.0, 11.0]
    assert list(out["member_note"]) == ["less than 5% below the recommended price", "keeps its gap",
                                        "the gap would cross the cost floor: held at the floor"]


prices = st.floats(0.5, 5000, allow_nan=False)


@hsettings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["traffic", "regular"]), prices, prices, prices,
                          st.integers(0, 5), st.floats(0.0, 0.5)), min_size=1, max_size=30))
def test_the_floor_is_never_crossed_and_the_band_holds_unless_a_limit_says_why(specs):
    frame = rows(*[(role, price, cost, market, n, NAN) for role, price, cost, market, n, _ in specs])
    frame["min_margin"] = [margin for *_, margin in specs]
    out = recommend(frame, RepricingSettings())
    priced = out[np.isfinite(out["recommended_price"])]
    assert (priced["recommended_price"] >= priced["floor_price"] - 1e-9).all()
    free = out[(out["bound_by"] == "none") & (out["role"] == "traffic") & (out["competitors"] > 0)]
    assert ((free["recommended_price"] >= free["band_low"] - 0.005)
            & (free["recommended_price"] <= free["band_high"] + 0.005)).all()
    daily = out[out["bound_by"] == "max daily change"]
    assert (np.abs(daily["change_percent"]) <= 10 + 1e-6).all()
