"""Replenishment formulas on hand-made items; every expected number is worked out in the comments."""

import numpy as np
import pandas as pd
import pytest

from tasks.replenishment.demand import profile, sba
from tasks.replenishment.policy import PolicySettings, best_sellers, decide, order_quantity, safety_stock

T, F = True, False
Z95 = 1.6448536269514722  # normal quantile of a 95% service level


def one(units, in_stock=None):
    units = np.array([units], dtype=float)
    return profile(units, np.ones_like(units, dtype=bool) if in_stock is None else np.array([in_stock]))


def test_steady_demand_is_smooth_and_forecast_by_its_mean():
    p = one([2, 2, 2, 2])
    assert p.demand_class[0] == "smooth" and p.method[0] == "mean"
    assert (p.mean[0], p.std[0], p.adi[0], p.cv2[0], p.forecast[0]) == (2, 0, 1, 0, 2)


def test_out_of_stock_days_are_left_out_not_counted_as_zero_demand():
    # Sold 3 on each of the two days it was in stock; the two empty days were out of stock.
    p = one([3, 0, 0, 3], [T, F, F, T])
    assert p.observed_days[0] == 2 and p.censored_days[0] == 2
    assert p.forecast[0] == 3  # not 6 / 4 = 1.5
    assert p.demand_class[0] == "smooth"


def test_alternating_sizes_are_erratic():
    # sizes 1, 9, 1, 9: mean 5, sample variance 4 * 16 / 3 = 21.33, CV² = 21.33 / 25 = 0.853
    p = one([1, 9, 1, 9])
    assert p.demand_class[0] == "erratic"
    assert p.cv2[0] == pytest.approx(64 / 3 / 25)
    assert p.std[0] == pytest.approx(np.sqrt(64 / 3))


def test_sparse_even_demand_is_intermittent_and_forecast_by_sba():
    # Demand of 4 every fourth day: ADI 8 / 2 = 4, CV² 0. Croston: size 4, interval 4 from the
    # first demand, unchanged by the second; SBA = (1 - 0.1 / 2) * 4 / 4 = 0.95 (the mean would be 1).
    p = one([0, 0, 0, 4, 0, 0, 0, 4])
    assert p.demand_class[0] == "intermittent" and p.method[0] == "sba"
    assert p.adi[0] == 4
    assert p.forecast[0] == pytest.approx(0.95)


def test_sparse_uneven_demand_is_lumpy():
    # Sizes 1 and 9 (mean 5, variance 32, CV² 1.28), ADI 6 / 2 = 3. Croston: size 1, interval 2
    # at day 2; at day 4 size 1 + 0.1 * (9 - 1) = 1.8, interval 2 + 0.1 * (2 - 2) = 2.
    # SBA = 0.95 * 1.8 / 2 = 0.855.
    p = one([0, 1, 0, 9, 0, 0])
    assert p.demand_class[0] == "lumpy"
    assert p.cv2[0] == pytest.approx(1.28)
    assert p.forecast[0] == pytest.approx(0.855)


def test_a_single_sale_gives_a_small_positive_forecast():
    # One sale of 5 on day 3: size 5, interval 3; SBA = 0.95 * 5 / 3.
    p = one([0, 0, 5, 0])
    assert p.demand_days[0] == 1 and p.demand_class[0] == "intermittent"
    assert p.forecast[0] == pytest.approx(0.95 * 5 / 3)


def test_no_demand_at_all():
    p = one([0, 0, 0, 0])
    assert p.demand_class[0] == "no demand" and p.method[0] == "none"
    assert p.forecast[0] == 0 and p.std[0] == 0 and np.isnan(p.adi[0])


def test_a_censored_day_neither_ends_nor_lengthens_an_interval():
    # Demand on observed days 2 and 4 (day 3 out of stock): both intervals are 2 observed days.
    forecast = sba(np.array([[0, 2, 0, 0, 2]], float), np.array([[T, T, F, T, T]]))
    assert forecast[0] == pytest.approx(0.95 * 2 / 2)


def test_items_are_profiled_independently_in_one_call():
    units = np.array([[2, 2, 2, 2], [0, 0, 0, 0], [0, 0, 5, 0]], float)
    p = profile(units, np.ones_like(units, dtype=bool))
    assert list(p.demand_class) == ["smooth", "no demand", "intermittent"]


def test_best_sellers_are_the_items_making_the_first_80_percent_of_revenue():
    # Sorted 50, 30, 15, 5 (total 100): revenue before each is 0, 50, 80, 95; below 80 → the
    # first two (30 crosses the line and is still in). Zero revenue is never a best seller.
    assert list(best_sellers(np.array([15, 50, 5, 30]), 0.8)) == [F, T, F, T]
    assert list(best_sellers(np.array([0, 0]), 0.8)) == [F, F]


def test_safety_stock_by_tier_and_by_formula():
    settings = PolicySettings()
    units, rule = safety_stock(
        forecast=[4, 3, 3], std=[2, 2, 2], lead_days=[9, 9, 9], lead_std_days=[np.nan, np.nan, 2],
        best_seller=[T, F, F], settings=settings)
    assert units[0] == 60                                   # 15 days * 4 a day
    assert units[1] == pytest.approx(Z95 * 2 * 3)           # z * σ_d * √9
    assert units[2] == pytest.approx(Z95 * np.sqrt(72))     # z * √(9 * 2² + 3² * 2²)
    assert list(rule) == ["15 days of cover (best seller)", "service level", "service level with lead-time variability"]


def test_intermittent_demand_takes_the_quantile_of_a_count():
    # 0.2 a day over a 10-day lead time: 2 units expected.
    # σ_d² = 0.2 → variance 2 = the mean: Poisson(2), whose 95% quantile is 5 (P(X ≤ 4) = 0.947,
    # P(X ≤ 5) = 0.983) → safety stock 5 − 2 = 3.
    # σ_d² = 0.4 → variance 4 > mean 2: negative binomial with r = 2²/(4 − 2) = 2, p = 2/(2 + 2) = ½,
    # P(X = k) = (k + 1)/2^(k+2): P(X ≤ 5) = 0.9375, P(X ≤ 6) = 0.9648 → 6, safety stock 4.
    # No demand: no safety stock, whatever the rule.
    units, rule = safety_stock(
        forecast=[0.2, 0.2, 0.0], std=[np.sqrt(0.2), np.sqrt(0.4), 0.0], lead_days=[10, 10, 10],
        lead_std_days=[np.nan] * 3, best_seller=[F, F, F], settings=PolicySettings(), intermittent=[T, T, T])
    assert list(units) == pytest.approx([3, 4, 0])
    assert set(rule) == {"service level (counted demand)"}


def test_order_quantities_round_up_to_packs_and_minimum_orders_and_say_so():
    quantity, reason = order_quantity(
        position=[10, 0, 0, 30], reorder_point=[20, 5, 5, 20], order_up_to=[47.5, 7, 7, 40],
        pack_size=[12, 1, 10, 1], moq=[1, 20, 25, 1])
    # 47.5 - 10 = 37.5 → 38 → 4 packs of 12 = 48; 7 → MOQ 20; 7 → 1 pack of 10, MOQ 25 → 3 packs = 30
    assert list(quantity) == [48, 20, 30, 0]
    assert reason[0] == "need 38 units; rounded up to packs of 12"
    assert reason[1] == "need 7 units; raised to the minimum order of 20"
    assert reason[2] == "need 7 units; rounded up to packs of 10; raised to the minimum order of 25"
    assert reason[3] == "above the reorder point"


def decide_one(**overrides):
    values = dict(on_hand=50, on_order=0, committed=0, forecast=2, std=0, lead_days=10, lead_std_days=np.nan,
                  pack_size=1, moq=1, unit_price=10, best_seller=F)
    values.update(overrides)
    return decide(**{k: np.array([v]) for k, v in values.items()}, settings=PolicySettings())


def test_oversold_stock_is_critical_and_the_order_covers_the_backlog():
    # On hand -5: position -5, nothing to sell. Reorder point 2 * 10 = 20, up to 20 + 2 * 7 = 34;
    # order 34 - (-5) = 39. Ten days short at 2 a day and 10 each: 200 of revenue at risk.
    d = decide_one(on_hand=-5)
    assert d.level[0] == "critical"
    assert d.quantity[0] == 39
    assert d.revenue_at_risk[0] == pytest.approx(200)


def test_at_the_reorder_point_is_a_warning():
    # Position 22 - 2 committed = 20 = reorder point; 10 days of cover is not less than the lead time.
    d = decide_one(on_hand=22, committed=2)
    assert d.inventory_position[0] == 20 and d.reorder_point[0] == 20
    assert d.level[0] == "warning" and d.quantity[0] == 14  # 34 - 20


def test_below_target_cover_is_watch_and_orders_nothing():
    d = decide_one(on_hand=50)  # 25 days of cover < 30; position 50 > reorder point 20
    assert d.level[0] == "watch" and d.days_of_cover[0] == 25 and d.quantity[0] == 0


def test_on_order_counts_toward_position_but_not_toward_cover():
    d = decide_one(on_hand=4, on_order=60)  # position 64: no order; cover 2 days: watch
    assert d.inventory_position[0] == 64 and d.quantity[0] == 0 and d.level[0] == "watch"


def test_lead_time_longer_than_the_history_still_gives_a_reorder_point():
    # 60-day lead time, σ_d 1: SS = z * √60 = 12.74; reorder point 60 + 12.74 = 72.74.
    d = decide_one(on_hand=100, forecast=1, std=1, lead_days=60)
    assert d.reorder_point[0] == pytest.approx(60 + Z95 * np.sqrt(60))
    assert d.level[0] == "ok" and d.quantity[0] == 0


def test_zero_demand_never_alerts_nor_orders():
    d = decide_one(on_hand=0, forecast=0)
    assert d.level[0] == "ok" and d.quantity[0] == 0 and np.isinf(d.days_of_cover[0])
    assert d.quantity_reason[0] == "no demand to cover"


def test_idle_days_count_only_in_stock_days_since_the_last_sale():
    from tasks.replenishment.demand import idle_in_stock_days

    units = np.array([[1, 0, 0, 0, 0], [0, 0, 0, 0, 0], [0, 0, 0, 0, 2]], float)
    stock = np.array([[T, T, F, T, T], [T, T, T, T, T], [T, T, T, T, T]])
    # Row 0: sold on day 0, then days 1, 3, 4 in stock (day 2 was out): 3. Never sold: all 5. Sold today: 0.
    assert list(idle_in_stock_days(units, stock)) == [3, 5, 0]


def test_slow_movers_are_flagged_scored_and_given_an_action_by_margin():
    from tasks.replenishment.policy import SlowMoverSettings, slow_movers

    flagged, score, action, reason = slow_movers(
        idle_days=[45, 60, 30, 29, 90, 90, 90], velocity=[0.0, 1 / 14, 0.0, 0.0, 0.0, 0.0, 0.0],
        margin=[0.5, 0.2, 0.1, 0.5, 0.5, 0.5, 0.5], listed_days=[400, 400, 400, 400, 10, 400, 400],
        presale=[F, F, F, F, F, T, F], on_hand=[5, 5, 5, 5, 5, 5, 0], sold_units=[0, 8, 3, 4, 0, 0, 0],
        returned_units=[0, 1, 0, 0, 0, 0, 0], settings=SlowMoverSettings())
    assert list(flagged) == [T, T, T, F, F, F, F]  # the last is out of stock now: a stock-out, not dead stock
    # 45 idle: idleness 45/60 = 0.75, slowness 1 → 100 * (0.375 + 0.5) = 88 (rounded from 87.5, half to even)
    # 60 idle, 0.5 a week: idleness 1, slowness 0.5 → 75;  30 idle: 0.5 and 1 → 75
    assert list(score) == [88, 75, 75, 0, 0, 0, 0]
    assert list(action) == ["clearance", "bundle", "off-site promotion", "", "", "", ""]
    assert list(reason) == ["no sale in 45 in-stock days", "no sale in 60 in-stock days", "no sale in 30 in-stock days",
                            "", "new listing: exempt", "pre-sale: exempt", ""]


def test_a_high_return_rate_is_a_delisting_warning_once_enough_units_sold():
    from tasks.replenishment.policy import SlowMoverSettings, slow_movers

    flagged, _, action, reason = slow_movers(
        idle_days=[0, 0, 0, 0, 40], velocity=[1, 1, 1, 1, 0.0], margin=[0.5] * 5, listed_days=[400, 400, 400, 5, 400],
        presale=[F] * 5, on_hand=[5] * 5, sold_units=[20, 20, 9, 12, 40], returned_units=[5, 4, 9, 3, 10],
        settings=SlowMoverSettings())
    # 5/20 = 25% > 20%: warned. 4/20 = 20% is not above the threshold. 9 of 9 came back, but 9 sold
    # is under the 10-unit minimum. A new listing with 3/12 = 25% is warned (returns are not age).
    # The last is idle 40 days and 10/40 = 25% came back: both reasons.
    assert list(flagged) == [T, F, F, T, T]
    assert list(action) == ["review returns", "", "", "review returns", "clearance"]
    assert reason[0] == "returns: 5 of 20 units sold came back"
    assert reason[3] == "returns: 3 of 12 units sold came back"
    assert reason[4] == "no sale in 40 in-stock days; returns: 10 of 40 units sold came back"


def test_a_level_reached_yesterday_is_held_until_its_threshold_is_cleared_by_the_margin():
    # Reorder point 20 (2 a day, 10 days lead, no safety stock), hysteresis 10%: a warning
    # yesterday stays a warning up to a position of 22; at 23 it drops to watch (cover 11.5 < 30).
    positions = np.array([21.0, 22.0, 23.0, 21.0])
    previous = np.array([2, 2, 2, 0])  # warning, warning, warning, ok
    d = decide(on_hand=positions, on_order=np.zeros(4), committed=np.zeros(4), forecast=np.full(4, 2.0),
               std=np.zeros(4), lead_days=np.full(4, 10.0), lead_std_days=np.full(4, np.nan), pack_size=np.ones(4),
               moq=np.ones(4), unit_price=np.full(4, 10.0), best_seller=np.zeros(4, bool), settings=PolicySettings(),
               previous_level=previous)
    assert list(d.raw_level) == ["watch", "watch", "watch", "watch"]
    assert list(d.level) == ["warning", "warning", "watch", "watch"]
    assert d.level_reason[0] == ("inventory position at or below the reorder point (held from the day before: "
                                 "within 10% of the threshold)")
    assert d.level_reason[3] == "less than 30 days of cover"
    # Rising is immediate whatever yesterday said: a position of 15 is critical (7.5 days < 10).
    up = decide_one(on_hand=15)
    assert up.level[0] == "critical" and up.raw_level[0] == "critical"


def test_a_held_critical_level_has_no_revenue_at_risk_once_the_position_covers_the_lead_time():
    # Position 20 covers exactly the 10 lead days: only a warning today (at the reorder point),
    # but within 10% of the critical threshold, so yesterday's critical is held.
    d = decide(on_hand=np.array([20.0]), on_order=np.zeros(1), committed=np.zeros(1), forecast=np.array([2.0]),
               std=np.zeros(1), lead_days=np.array([10.0]), lead_std_days=np.array([np.nan]), pack_size=np.ones(1),
               moq=np.ones(1), unit_price=np.array([10.0]), best_seller=np.zeros(1, bool), settings=PolicySettings(),
               previous_level=np.array([3]))
    assert d.raw_level[0] == "warning" and d.level[0] == "critical" and d.revenue_at_risk[0] == 0


def test_stock_of_a_sku_not_listed_at_the_date_is_never_dead_stock():
    from tasks.replenishment.policy import SlowMoverSettings, slow_movers

    # Idle 40 in-stock days each: no listing known (NaN), listed only after the date (−3 days),
    # listed 10 days before (new), listed long ago (dead stock).
    flagged, _, _, reason = slow_movers(
        idle_days=[40, 40, 40, 40], velocity=[0.0] * 4, margin=[0.5] * 4, listed_days=[np.nan, -3, 10, 400],
        presale=[F] * 4, on_hand=[5] * 4, sold_units=[0] * 4, returned_units=[0] * 4, settings=SlowMoverSettings())
    assert list(flagged) == [F, F, F, T]
    assert list(reason) == ["not listed at the date: exempt", "not listed at the date: exempt", "new listing: exempt",
                            "no sale in 40 in-stock days"]


def test_many_complaints_per_unit_sold_warn_and_name_the_cause():
    from tasks.replenishment.policy import SlowMoverSettings, slow_movers

    # Selling items (no idleness): 6 complaints on 40 sold = 15% (> 5%, ≥ 3) warns; 2 on 10 are too few
    # to say; 4 on 200 = 2% is normal; 3 on 0 sold (every unit complained of) warns; none.
    flagged, _, action, reason = slow_movers(
        idle_days=[0] * 5, velocity=[2.0] * 5, margin=[0.5] * 5, listed_days=[400] * 5, presale=[F] * 5,
        on_hand=[5] * 5, sold_units=[40] * 5, returned_units=[0] * 5, settings=SlowMoverSettings(),
        complaints=[6, 2, 4, 3, np.nan], complaint_cause=["quality", "damaged", "quality", "description_mismatch", None],
        complaint_units=[40, 10, 200, 0, np.nan])
    assert list(flagged) == [T, F, F, T, F]
    assert reason[0] == "complaints: 6 on 40 units sold, mostly quality"
    assert reason[3] == "complaints: 3 on 0 units sold, mostly description mismatch"
    assert action[0] == "review complaints" and reason[4] == ""


def test_stock_out_dates_fall_within_the_horizon_or_are_left_empty():
    from datetime import date

    from tasks.replenishment.plan import STOCKOUT_HORIZON_DAYS, stockout_dates

    # 2.5 days of cover run out on the 3rd day after; 478 units at 0.0044 a day would be ~298 years.
    dates = stockout_dates(date(2026, 11, 20), np.array([2.5, 0.0, np.nan, STOCKOUT_HORIZON_DAYS + 1, 478 / 0.0044]))
    assert list(dates[:2]) == [date(2026, 11, 22), date(2026, 11, 20)]
    assert all(pd.isna(d) for d in dates[2:])
