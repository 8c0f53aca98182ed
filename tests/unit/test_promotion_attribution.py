"""Attribution and costing on hand-made orders: threshold tiers exactly on, just below and above
a threshold; gifts; refunds after the promotion; codes, scope and window."""

import json

import numpy as np
import pandas as pd
import pytest

from tasks.promotions.attribution import _order_positions, attribute, threshold_discount

START, END = pd.Timestamp("2026-11-20T00:00:00Z"), pd.Timestamp("2026-11-23T00:00:00Z")
TIERS = {"tiers": [{"spend": "100", "off": "20"}, {"spend": "200", "off": "50"}]}


def promotion(pid, kind, parameters, codes=None, skus=None, categories=None, channels=None):
    return {"promotion_id": pid, "type": kind, "parameters": json.dumps(parameters),
            "starts_at": START, "ends_at": END, "codes": json.dumps(codes) if codes else None,
            "scope_skus": json.dumps(skus) if skus else None,
            "scope_categories": json.dumps(categories) if categories else None,
            "scope_channels": json.dumps(channels) if channels else None}


def order(oid, codes=None, at="2026-11-21T10:00:00Z", source="shop"):
    return {"source": source, "external_id": oid, "created_at": pd.Timestamp(at), "discount_codes": codes}


def line(oid, lid, sku, qty, price, discount=0.0, refunded=0, category="Kitchen", source="shop"):
    return {"source": source, "external_order_id": oid, "line_id": lid, "sku": sku, "category": category,
            "quantity": qty, "refunded_quantity": refunded, "unit_price": price, "discount": discount}


def run(promotions, orders, lines, costs=None):
    return attribute(pd.DataFrame(promotions), pd.DataFrame(orders), pd.DataFrame(lines),
                     pd.Series(costs or {"MUG": 3.10}))


def test_the_tier_applies_from_exactly_its_spend():
    off = threshold_discount(np.array([99.99, 100.00, 150.00, 199.99, 200.00, 500.00]), TIERS)
    assert off.tolist() == [0, 20, 20, 20, 50, 50]


def test_threshold_orders_on_below_and_above_are_costed_by_what_they_kept():
    promotions = [promotion("spend", "threshold", TIERS, codes=["SPEND"])]
    orders = [order("on", "SPEND"), order("below", "SPEND"), order("above", "SPEND"), order("refunded", "SPEND")]
    lines = [
        line("on", "1", "A", 2, 50.00, discount=20.00),                    # 100.00 exactly: 20 off
        line("below", "1", "A", 1, 99.99, discount=20.00),                 # 99.99: the rules give nothing
        line("above", "1", "A", 1, 150.00, discount=15.00), line("above", "2", "B", 1, 60.00, discount=5.00),
        line("refunded", "1", "A", 4, 50.00, discount=50.00, refunded=2),  # 200.00: 50 off, then half back
    ]
    rows = run(promotions, orders, lines).set_index(["external_order_id", "line_id"])
    expected = rows.groupby(level=0)["expected_discount"].sum()
    assert expected.to_dict() == pytest.approx({"on": 20.0, "below": 0.0, "above": 50.0, "refunded": 50.0})
    # The cost is the discount on what the customer kept: a refunded unit gave its share back.
    kept = rows.groupby(level=0)["kept_discount"].sum()
    assert kept.to_dict() == pytest.approx({"on": 20.0, "below": 20.0, "above": 20.0, "refunded": 25.0})
    # The order just below was given a discount the rules do not give: visible as a mismatch.
    mismatch = (rows.groupby(level=0)["discount"].sum() - expected).abs() > 0.005
    assert sorted(mismatch[mismatch].index) == ["above", "below"]
    assert rows.loc[("above", "2"), "expected_discount"] == pytest.approx(50 * 60 / 210, abs=1e-4)


def test_a_gift_costs_its_unit_cost_while_kept_and_nothing_once_returned():
    promotions = [promotion("gift", "gift", {"gift_sku": "MUG", "min_spend": "50"})]
    orders = [order("kept"), order("returned"), order("item back"), order("no gift")]
    lines = [
        line("kept", "1", "A", 1, 60.00), line("kept", "2", "MUG", 1, 8.00, discount=8.00),
        line("returned", "1", "A", 1, 60.00), line("returned", "2", "MUG", 1, 8.00, discount=8.00, refunded=1),
        # the item that earned the gift went back, the gift stayed: it still cost the shop
        line("item back", "1", "A", 1, 60.00, refunded=1), line("item back", "2", "MUG", 2, 8.00, discount=16.00),
        line("no gift", "1", "A", 1, 40.00),  # no gift line and no code: not this promotion's order
    ]
    rows = run(promotions, orders, lines)
    gift = rows[rows["is_gift"]].set_index("external_order_id")["gift_cost"]
    assert gift.to_dict() == pytest.approx({"kept": 3.10, "returned": 0.0, "item back": 6.20})
    assert "no gift" not in set(rows["external_order_id"])
    # a gift's price is not a discount on the goods: the goods lines of these orders carry none
    assert rows.loc[~rows["is_gift"], "kept_discount"].sum() == 0


def test_a_stated_gift_cost_wins_over_the_catalogue():
    promotions = [promotion("gift", "gift", {"gift_sku": "MUG", "gift_cost": "2.00"})]
    rows = run(promotions, [order("o")], [line("o", "1", "A", 1, 60.0), line("o", "2", "MUG", 3, 8.0, discount=24.0)])
    assert rows.loc[rows["is_gift"], "gift_cost"].tolist() == [6.0]


def test_codes_window_channel_and_scope_decide_what_is_touched():
    promotions = [promotion("p", "percentage", {"percent": 20}, codes=["KITCHEN20"], categories=["Kitchen"],
                            channels=["shop"])]
    orders = [order("in", "kitchen20"),                                     # codes compare case-blind
              order("late", "KITCHEN20", at="2026-11-23T00:00:00Z"),         # the end is exclusive
              order("early", "KITCHEN20", at="2026-11-19T23:59:59Z"),
              order("other shop", "KITCHEN20", source="marketplace"),
              order("no code")]
    lines = [line("in", "1", "A", 1, 10.0, discount=2.0), line("in", "2", "Z", 1, 10.0, category="Garden"),
             line("late", "1", "A", 1, 10.0, discount=2.0), line("early", "1", "A", 1, 10.0, discount=2.0),
             line("other shop", "1", "A", 1, 10.0, discount=2.0, source="marketplace"),
             line("no code", "1", "A", 1, 10.0, discount=2.0)]
    rows = run(promotions, orders, lines)
    assert rows[["external_order_id", "line_id", "matched_by"]].values.tolist() == [["in", "1", "code"]]


def test_without_codes_a_discounted_line_in_scope_and_window_is_the_signal():
    promotions = [promotion("flash", "flash", {"phases": [{"minutes": 60, "percent": 30}, {"gift_sku": "MUG"}]},
                            skus=["A"])]
    orders = [order("first hour", at="2026-11-20T00:30:00Z"), order("later, gift", at="2026-11-20T03:00:00Z"),
              order("full price", at="2026-11-20T04:00:00Z")]
    lines = [line("first hour", "1", "A", 1, 10.0, discount=3.0),
             line("later, gift", "1", "A", 1, 10.0), line("later, gift", "2", "MUG", 1, 8.0, discount=8.0),
             line("full price", "1", "A", 1, 10.0)]
    rows = run(promotions, orders, lines)
    assert sorted(set(rows["external_order_id"])) == ["first hour", "later, gift"]
    assert set(rows["matched_by"]) == {"scope"}


def test_lines_find_their_order_by_source_and_id_together():
    # The same id on two channels is two orders; a line whose order is not there gets -1.
    orders = pd.DataFrame({"source": ["shop-us", "woo-eu", "shop-us"], "external_id": ["1001", "1001", "1002"]})
    lines = pd.DataFrame({"source": pd.Categorical(["woo-eu", "shop-us", "shop-us", "woo-eu", "shop-us"]),
                          "external_order_id": ["1001", "1002", "1001", "1002", None]})
    assert _order_positions(orders, lines).tolist() == [1, 2, 0, -1, -1]
