"""Replenishment leaves promotion days out of the demand it learns.

Two SKUs sell exactly 5 units a day for 60 days, and 30 a day on days 40–46. For P those days are
a promotion in the warehouse; for Q nothing explains them. By hand: P's forecast is 5 a day (the 53
normal days); Q's is the mean of all 60, (53 × 5 + 7 × 30) / 60 = 7.9166…
"""

from datetime import datetime, timedelta, timezone

import pandas as pd
import pytest

from tasks.promotions.calendar import store_promotions
from tasks.promotions.days import promotion_days
from tasks.replenishment.plan import PlanSettings, build_plan
from tests.builders import insert_orders, insert_products
from warehouse.engine import write_transaction
from warehouse.io import insert_frame

DAY0 = datetime(2026, 9, 1, tzinfo=timezone.utc)
AS_OF = (DAY0 + timedelta(days=60)).date()


def promotion(pid, skus=None, categories=None, channels=None, first=40, end=47):
    return {"promotion_id": pid, "origin": "calendar", "name": pid, "type": "percentage",
            "parameters": '{"percent": 20}', "starts_at": pd.Timestamp(DAY0 + timedelta(days=first)),
            "ends_at": pd.Timestamp(DAY0 + timedelta(days=end)), "member_only": False, "codes": None,
            "scope_skus": pd.Series(skus).to_json(orient="values") if skus else None,
            "scope_categories": pd.Series(categories).to_json(orient="values") if categories else None,
            "scope_channels": pd.Series(channels).to_json(orient="values") if channels else None}


@pytest.fixture
def shop(engine):
    rows = [(f"{sku}{d}", DAY0 + timedelta(days=d, hours=12), sku, 30 if 40 <= d < 47 else 5)
            for sku in ("P", "Q") for d in range(60)]
    insert_orders(engine, pd.DataFrame(rows, columns=["external_id", "created_at", "sku", "quantity"]).assign(
        unit_price=10.0, discount=0.0, code=None))
    insert_products(engine, {"P": "Kitchen", "Q": "Garden"}, DAY0)
    snapshots = pd.DataFrame({"source": "shop", "location_id": "1", "sku": ["P", "Q"],
                              "snapshot_date": [DAY0.date(), DAY0.date()], "available": 100_000, "run_id": "test",
                              "taken_at": pd.Timestamp(DAY0)})
    with write_transaction(engine) as conn:
        insert_frame(conn, "inventory_snapshots", snapshots, list(snapshots.columns))
    store_promotions(engine, pd.DataFrame([promotion("calendar:p", skus=["P"])]))
    return engine


def test_a_promotion_spike_is_not_learnt_as_demand(shop):
    with shop.connect() as conn:
        plan = build_plan(conn, AS_OF, {"shop": "shop"}, PlanSettings(history_days=60))
    forecast = plan.rows.set_index("sku")["forecast_daily"]
    assert forecast["P"] == pytest.approx(5.0)
    assert forecast["Q"] == pytest.approx((53 * 5 + 7 * 30) / 60)


def test_promotion_days_follow_scope_channel_and_window(engine):
    store_promotions(engine, pd.DataFrame([
        promotion("by-sku", skus=["A"], first=2, end=4),
        promotion("by-category", categories=["Garden"], first=5, end=6),
        promotion("other-channel", channels=["marketplace"], first=0, end=10),
        promotion("welcome code", first=-300, end=400),  # evergreen: normal trading, marks nothing
        {**promotion("half-day", skus=["B"], first=7, end=8),
         "ends_at": pd.Timestamp(DAY0 + timedelta(days=7, hours=6))},
    ]))
    with engine.connect() as conn:
        marked = promotion_days(conn, pd.Series(["A", "B", "C"]).to_numpy(dtype=object),
                                pd.Series(["shop", "shop", "shop"]).to_numpy(dtype=object),
                                pd.Series(["Kitchen", "Kitchen", "Garden"]).to_numpy(dtype=object),
                                DAY0.date(), 9, {"shop": "shop", "marketplace": "mk"})
    assert [list(map(int, row)) for row in marked] == [
        [0, 0, 1, 1, 0, 0, 0, 0, 0],   # A: days 2 and 3
        [0, 0, 0, 0, 0, 0, 0, 1, 0],   # B: part of day 7 is a promotion day
        [0, 0, 0, 0, 0, 1, 0, 0, 0],   # C: its category on day 5; the marketplace's promotion is not ours
    ]


def test_a_promotion_booked_ahead_is_stocked_for_at_the_shops_past_uplift(shop):
    # Both SKUs' spikes were promotions, so both forecast 5 a day; P also has one booked for days
    # 2–4 from the plan's date. The shop's past promotions sold 30 / 5 = 6 times normal, capped at
    # 5, so P's 14 days of lead time and 7 of review (21) expect 5 × (1 + (5 − 1) × 3 / 21) = 7.857…
    store_promotions(shop, pd.DataFrame([promotion("calendar:q", skus=["Q"]),
                                         promotion("calendar:ahead", skus=["P"], first=62, end=65)]))
    with shop.connect() as conn:
        plan = build_plan(conn, AS_OF, {"shop": "shop"}, PlanSettings(history_days=60)).rows.set_index("sku")
    assert plan.loc["P", "forecast_daily"] == plan.loc["Q", "forecast_daily"] == pytest.approx(5.0)
    expected = 5 * (1 + (5 - 1) * 3 / 21)
    lead_time_demand = plan["reorder_point"] - plan["safety_stock"]
    assert lead_time_demand["P"] == pytest.approx(expected * 14) and lead_time_demand["Q"] == pytest.approx(5 * 14)
