"""Marketplace offers → promotions rows: tiers regrouped, types, and the calendar winning over the
same codes."""

import json
from decimal import Decimal

import pandas as pd

from tasks.promotions.marketplace import Offer, promotion_rows, superseded

START, END = pd.Timestamp("2026-11-02T05:00:00Z"), pd.Timestamp("2026-11-09T05:00:00Z")


def offer(rule_id, *, percent=None, amount=None, min_spend=None, codes=("X",), member_only=False, skus=(),
          starts_at=START, created_at=None):
    return Offer(rule_id=str(rule_id), name=f"rule {rule_id}", percent=None if percent is None else Decimal(percent),
                 amount=None if amount is None else Decimal(amount),
                 min_spend=None if min_spend is None else Decimal(min_spend), starts_at=starts_at, ends_at=END,
                 skus=tuple(skus), categories=(), member_only=member_only, codes=tuple(codes), created_at=created_at)


def test_tiers_with_the_same_terms_become_one_threshold_and_a_lone_minimum_a_fixed_discount():
    rows = promotion_rows("shop-us", [
        offer(12, amount="50.0", min_spend="200.0", codes=("SPEND200",)),
        offer(11, amount="20.0", min_spend="100.0", codes=("SPEND100",)),
        offer(13, amount="5.0", min_spend="25.0", codes=("SAVE5",), skus=("A",)),  # other scope: its own
        offer(14, percent="20.0", codes=("MEMBER20",), member_only=True),
        offer(15, percent="12.5", codes=("PICKS",)),
    ]).set_index("promotion_id")
    assert sorted(rows.index) == ["shop-us:11", "shop-us:13", "shop-us:14", "shop-us:15"]
    threshold = rows.loc["shop-us:11"]
    assert threshold["type"] == "threshold"
    assert json.loads(threshold["parameters"]) == {"tiers": [{"spend": "100.00", "off": "20.00"},
                                                             {"spend": "200.00", "off": "50.00"}]}
    assert json.loads(threshold["codes"]) == ["SPEND100", "SPEND200"]
    assert rows.loc["shop-us:13", "type"] == "fixed"
    assert json.loads(rows.loc["shop-us:13", "parameters"]) == {"amount": "5.00", "min_spend": "25.00"}
    assert json.loads(rows.loc["shop-us:13", "scope_skus"]) == ["A"]
    assert rows.loc["shop-us:14", "type"] == "member" and bool(rows.loc["shop-us:14", "member_only"])
    assert json.loads(rows.loc["shop-us:14", "parameters"]) == {"percent": 20}
    assert json.loads(rows.loc["shop-us:15", "parameters"]) == {"percent": 12.5}
    assert rows["scope_channels"].eq('["shop-us"]').all()


def test_woocommerce_tiers_group_by_creation_and_start_at_the_first_tier_used():
    created = START - pd.Timedelta(days=3)
    rows = promotion_rows("woo-eu", [
        offer(7, amount="20", min_spend="100", codes=("SPEND100",), created_at=created, starts_at=START),
        offer(8, amount="50", min_spend="200", codes=("SPEND200",), created_at=created,
              starts_at=START + pd.Timedelta(hours=5)),
    ])
    assert len(rows) == 1 and rows.loc[0, "type"] == "threshold" and rows.loc[0, "starts_at"] == START


def _promotion(pid, origin, codes, starts, ends, channels=None):
    return {"promotion_id": pid, "origin": origin, "codes": json.dumps(codes), "starts_at": pd.Timestamp(starts, tz="UTC"),
            "ends_at": pd.Timestamp(ends, tz="UTC"), "scope_channels": json.dumps(channels) if channels else None}


def test_the_calendar_wins_over_a_marketplace_promotion_with_its_code_channel_and_dates():
    promotions = pd.DataFrame([
        _promotion("calendar:BF", "calendar", ["BF30"], "2026-11-27", "2026-11-28", ["shop-us"]),
        _promotion("shop-us:1", "shop-us", ["BF30"], "2026-11-27 05:00", "2026-11-28 05:00", ["shop-us"]),
        _promotion("shop-eu:2", "shop-eu", ["BF30"], "2026-11-27", "2026-11-28", ["shop-eu"]),    # other channel
        _promotion("shop-us:3", "shop-us", ["BF30"], "2025-11-28", "2025-11-29", ["shop-us"]),    # last year
        _promotion("shop-us:4", "shop-us", ["OTHER"], "2026-11-27", "2026-11-28", ["shop-us"]),  # other code
        _promotion("calendar:ALL", "calendar", ["EVERY"], "2026-11-01", "2026-12-01"),           # every channel
        _promotion("woo-eu:5", "woo-eu", ["EVERY"], "2026-11-03", "2026-11-04", ["woo-eu"]),
    ])
    assert promotions.loc[superseded(promotions), "promotion_id"].tolist() == ["shop-us:1", "woo-eu:5"]
