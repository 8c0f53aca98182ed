"""The review on hand-built histories whose true effect is known: a real lift, none, one that only
pulled sales forward, one that cannibalised its siblings, and too little data.

Every history: 28 days before, 7 days of promotion, 14 days after. The control (comparable SKUs)
sells about 100 units a day with a weekly rhythm; the promoted scope normally half of that, the
siblings 40% of it. A unit sells at 10.00 and costs 6.00 (margin 4.00 at list price).
"""

import numpy as np
import pytest

from tasks.promotions.review import ADJUST, NOT_ENOUGH, REPEAT, STOP, Costs, ReviewSettings, Series, estimate, review

PRE, DURING, POST = 28, 7, 14
PRICE, MARGIN = 10.0, 4.0


def history(lift=1.0, dip_per_day=0.0, sibling_loss_per_day=0.0, discount=0.10, pre_days=PRE, seed=7):
    rng = np.random.default_rng(seed)
    days = pre_days + DURING + POST
    weekly = 1 + 0.2 * np.sin(2 * np.pi * np.arange(days) / 7)
    control = 100 * weekly + rng.normal(0, 2, days)
    scope = 0.5 * control + rng.normal(0, 1, days)
    siblings = 0.4 * control + rng.normal(0, 1, days)
    pre = np.arange(days) < pre_days
    during = (np.arange(days) >= pre_days) & (np.arange(days) < pre_days + DURING)
    post = np.arange(days) >= pre_days + DURING
    baseline_scope = scope.copy()
    scope = np.where(during, scope * lift, scope) - np.where(post, dip_per_day, 0)
    siblings = siblings - np.where(during, sibling_loss_per_day, 0)
    net = scope * PRICE * np.where(during, 1 - discount, 1)
    series = Series(scope_units=scope, scope_margin=scope * MARGIN, scope_net=net,
                    control_units=control, control_margin=control * MARGIN, control_net=control * PRICE,
                    sibling_margin=siblings * MARGIN, sibling_control_margin=control * MARGIN,
                    pre=pre, during=during, post=post, control_skus=40)
    promoted_units = scope[during].sum()
    costs = Costs(orders=int(promoted_units / 1.5), units=int(promoted_units),
                  discount=float(promoted_units * PRICE * discount), gift=0.0, shipping=0.0,
                  new_customers=0, new_customer_repeat_rate=None)
    return series, costs, baseline_scope[during].sum()


def test_a_real_lift_that_pays_is_repeated_and_the_lift_is_recovered():
    series, costs, baseline = history(lift=1.8, discount=0.10)
    row = review(series, costs)
    # by hand: ~50 units a day × 0.8 more × 7 days ≈ 280 units, × 4.00 = 1,120 margin; the discount
    # is 10% of ~630 units × 10.00 ≈ 630, so ROI ≈ (1,120 − 630) / 630 ≈ +0.78
    assert row["verdict"] == REPEAT
    assert row["lift_percent_low"] < 80 < row["lift_percent_high"]
    assert row["lift_percent"] == pytest.approx(80, abs=5)
    assert row["roi"] == pytest.approx((0.8 * baseline * MARGIN - costs.discount) / costs.discount, abs=0.1)
    assert row["roi_low"] > 0


def test_no_lift_is_stopped_for_no_measurable_lift():
    series, costs, _ = history(lift=1.0, discount=0.20)
    row = review(series, costs)
    assert row["verdict"] == STOP and row["reason"].startswith("no measurable lift")
    assert row["lift_percent_low"] < 0 < row["lift_percent_high"]  # the interval holds the truth, 0
    assert row["roi"] == pytest.approx(-1, abs=0.15)  # nothing gained, the whole discount lost


def test_a_promotion_that_only_pulled_sales_forward_is_stopped_for_that():
    # 2× for 7 days (~350 extra units), then 25 fewer a day for 14 days (350 units): nothing gained
    series, costs, _ = history(lift=2.0, dip_per_day=25, discount=0.10)
    row = review(series, costs)
    assert row["verdict"] == STOP and row["reason"].startswith("it pulled sales forward")
    assert row["lift_percent"] == pytest.approx(100, abs=6)         # the window alone looks great
    assert row["pull_forward_margin"] == pytest.approx(-350 * MARGIN, rel=0.1)
    assert abs(row["incremental_margin"]) < 0.15 * 350 * MARGIN     # ... and was paid back after


def test_a_promotion_that_cannibalised_its_siblings_is_stopped_for_that():
    # 2× on the scope (~350 extra units) while the siblings lose 45 a day (315 units)
    series, costs, _ = history(lift=2.0, sibling_loss_per_day=45, discount=0.10)
    row = review(series, costs)
    assert row["verdict"] == STOP and row["reason"].startswith("it cannibalised its siblings")
    assert row["cannibalised_margin"] == pytest.approx(-315 * MARGIN, rel=0.1)


def test_a_lift_that_does_not_cover_a_deep_discount_is_not_repeated():
    series, costs, _ = history(lift=1.3, discount=0.40)
    row = review(series, costs)
    # +30% (~105 units, 420 margin) for 40% off ~455 units (~1,820): it loses money
    assert row["lift_percent_low"] > 0
    assert row["verdict"] == STOP and row["reason"].startswith("the lift does not pay for the discount")


def test_too_few_days_before_or_too_few_orders_is_not_enough_data():
    series, costs, _ = history(lift=1.8, pre_days=10)
    assert review(series, costs)["verdict"] == NOT_ENOUGH
    series, costs, _ = history(lift=1.8)
    costs.orders = 5
    row = review(series, costs, ReviewSettings(min_orders=20))
    assert row["verdict"] == NOT_ENOUGH and "only 5 orders" in row["reason"]


def test_break_even_inside_the_interval_is_adjust():
    # a lift of ~+40%: 140 units × 4.00 = 560 margin against 10% of 490 units × 10.00 = 490: ROI ≈ +0.14,
    # with noise large enough that the interval spans zero
    series, costs, _ = history(lift=1.4, discount=0.10)
    noisy = np.random.default_rng(3).normal(0, 12, len(series.scope_units))
    series.scope_margin = series.scope_margin + noisy * MARGIN
    row = review(series, costs)
    assert row["roi_low"] < 0 < row["roi_high"]
    assert row["verdict"] == ADJUST


def test_difference_in_differences_cancels_a_season_that_moves_everything():
    days = np.arange(49)
    season = np.where(days >= 28, 1.5, 1.0)          # the whole shop sells 50% more from day 28
    control, scope = 100.0 * season, 50.0 * season
    pre, during = days < 28, (days >= 28) & (days < 35)
    e = estimate(scope, control, pre, during)
    assert e.baseline == pytest.approx(50 * 1.5 * 7) and e.lift == pytest.approx(0)
    plain = estimate(scope, None, pre, during)      # the pre-period alone mistakes the season for lift
    assert plain.lift == pytest.approx(25 * 7)
