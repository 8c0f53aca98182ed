"""The generated data look like a shop's: calendar, catalogue, customers, lifecycle, anomalies.

Read through the ground truth (no server needed); every expectation is a rate from the README.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import numpy as np
import pandas as pd
import pytest

from connectors.sandbox import Sandbox, SandboxConfig
from connectors.sandbox.generator import build_world

ANCHOR = datetime(2026, 12, 31, tzinfo=timezone.utc)
LATER = ANCHOR + timedelta(days=60)  # every lifecycle event has happened by then


@pytest.fixture(scope="module")
def sandbox():
    return Sandbox(SandboxConfig(anchor=ANCHOR, days=120, skus=1000))  # data and truth, no server


@pytest.fixture(scope="module")
def orders(sandbox):
    return sandbox.truth("shop-us").orders(now=LATER)


@pytest.fixture(scope="module")
def lines(sandbox):
    return sandbox.truth("shop-us").lines(now=LATER)


def daily_counts(orders, zone="America/New_York"):
    local_day = orders["created_at"].dt.tz_convert(zone).dt.normalize()
    return local_day.value_counts().sort_index().iloc[1:-1]  # drop the window's cut first and last days


def test_weekends_sell_about_a_fifth_more(orders):
    counts = daily_counts(orders)
    discounted = orders.groupby(orders["created_at"].dt.tz_convert("America/New_York").dt.normalize())[
        "discount_total"].apply(lambda d: (d > 0).mean())
    counts = counts[discounted.reindex(counts.index) < 0.3]  # leave promotion days out
    weekend = counts.index.day_of_week >= 5
    ratio = counts[weekend].mean() / counts[~weekend].mean()
    assert 1.08 < ratio < 1.35


def test_season_peaks_in_november_and_december(orders):
    counts = daily_counts(orders)
    assert counts[counts.index.month == 12].mean() > 1.3 * counts[counts.index.month == 9].mean()


def test_promotion_days_bring_codes_discounts_and_volume(sandbox, orders):
    # The store-wide promotion days (the calendar's); the other promotion kinds discount days too,
    # so the days are told apart by the promotion truth, not by their share of discounted orders.
    truth = sandbox.promotion_truth()
    days = truth.promotions("shop-us").query("origin == 'promotion_day'")
    used = truth.orders("shop-us")
    day_orders = used[used["promotion_id"].isin(days["promotion_id"])]
    day = orders["created_at"].dt.tz_convert("America/New_York").dt.normalize()
    by_day = orders.groupby(day).agg(count=("id", "size"))
    promotion_days = day_orders["created_at"].dt.tz_convert("America/New_York").dt.normalize().unique()
    assert len(promotion_days) >= 3
    assert by_day.loc[promotion_days, "count"].median() > 1.6 * by_day["count"].median()
    share = orders.set_index("id").loc[day_orders["order_id"], ["discount_total", "subtotal"]]
    promoted = share["discount_total"] / share["subtotal"]
    assert promoted.between(0.09, 0.31).all()  # 10-30 % line discounts (cent rounding aside)


def test_orders_arrive_on_a_daily_curve_in_local_time(orders):
    hour = orders["created_at"].dt.tz_convert("America/New_York").dt.hour
    assert (hour.between(18, 21)).sum() > 5 * (hour.between(2, 5)).sum()


def test_best_sellers_carry_the_units_and_dead_stock_sits(sandbox, lines):
    products = sandbox.truth("shop-us").products()
    units = lines.groupby("sku")["quantity"].sum().reindex(products["sku"], fill_value=0).to_numpy()
    total = units.sum()
    assert 0.03 < products["is_best_seller"].mean() < 0.07
    assert 0.07 < products["is_dead_stock"].mean() < 0.13
    assert units[products["is_best_seller"]].sum() / total > 0.3
    assert units[products["is_dead_stock"]].sum() / total < 0.01
    assert 0.01 < products["is_presale"].mean() < 0.04


def test_no_sale_while_out_of_stock_or_before_listing(sandbox, orders, lines):
    truth = sandbox.truth("shop-us")
    sold = lines.merge(orders[["id", "created_at"]], left_on="order_id", right_on="id")
    windows = sold.merge(truth.stock_outs(), on="sku")
    end = windows["end"].fillna(pd.Timestamp.max.tz_localize("UTC"))
    assert len(truth.stock_outs()) > 50
    assert not ((windows["created_at"] >= windows["start"]) & (windows["created_at"] < end)).any()
    listed = sold.merge(truth.products()[["sku", "created_at"]], on="sku", suffixes=("", "_listed"))
    assert (listed["created_at"] >= listed["created_at_listed"]).all()


def test_many_customers_come_back(sandbox, orders):
    customers = sandbox.world.stores["shop-us"].customers
    assert len(set(customers.emails(np.arange(len(customers.id))))) == len(customers.id)  # one address each
    assert len(customers.id) < len(orders)
    per_customer = orders["customer_email"].value_counts()
    repeat_share = per_customer[per_customer > 1].sum() / len(orders)
    assert repeat_share > 0.3
    assert per_customer.max() >= 5  # a heavy tail of loyal buyers


def test_lifecycle_rates_and_late_edits(orders):
    visible = orders[orders["visible"]]
    cancelled = (visible["status"] == "cancelled").mean()
    refunded_after_delivery = ((visible["refunded_total"] > 0) & (visible["status"] != "cancelled")).mean()
    assert 0.01 < cancelled < 0.03
    assert 0.035 < refunded_after_delivery < 0.065
    assert visible["version"].max() == 3  # created -> paid -> fulfilled -> refunded
    edited_later = (visible["updated_at"] - visible["created_at"]) >= timedelta(days=1)
    assert edited_later.mean() > 0.9


def test_totals_add_up_to_the_cent(orders, lines):
    assert (orders["subtotal"] - orders["discount_total"] + orders["shipping_total"] + orders["tax_total"]
            == orders["total"]).all()
    assert (orders["refunded_total"] <= orders["total"]).all()
    full = orders[orders["financial_status"] == "refunded"]
    assert len(full) > 0 and (full["refunded_total"] == full["total"]).all()
    gross = (lines["unit_price"] * lines["quantity"]).groupby(lines["order_id"]).sum()
    assert (gross == orders.set_index("id").loc[gross.index, "subtotal"]).all()
    assert (lines["refunded_quantity"] <= lines["quantity"]).all()


def test_anomaly_rates_follow_the_config():
    config = SandboxConfig(anchor=ANCHOR, days=60, skus=300,
                           anomalies={"duplicate": 0.05, "malformed": 0.06, "late_visibility": 0.1})
    orders = Sandbox(config).truth("shop-us").orders(now=LATER)
    assert 0.04 < orders["duplicated"].mean() < 0.06
    kinds = orders["malformed"].value_counts()
    assert set(kinds.index) == {"missing_id", "negative_quantity", "unknown_sku", "bad_money",
                                "impossible_date", "missing_lines"}
    assert 0.05 < kinds.sum() / len(orders) < 0.07
    late = orders["late_visibility_minutes"]
    assert late[late > 0].between(10, 90).all() and 0.07 < (late > 0).mean() < 0.13


def test_generation_is_deterministic_and_seeded():
    config = SandboxConfig(anchor=ANCHOR, days=20, skus=200)
    first, second = build_world(config), build_world(config)
    other = build_world(SandboxConfig(anchor=ANCHOR, days=20, skus=200, seed=8))
    for name in ("shop-us", "woo-eu"):
        a, b = first.stores[name], second.stores[name]
        assert np.array_equal(a.created, b.created) and np.array_equal(a.basket.sku, b.basket.sku)
        assert np.array_equal(a.life.event_time, b.life.event_time) and np.array_equal(a.ids.order, b.ids.order)
        assert not np.array_equal(a.created, other.stores[name].created)
