"""The back-test's day-by-day play of a policy, worked by hand."""

import numpy as np
import pytest

from tasks.replenishment.backtest import simulate, summarise


def test_a_steady_seller_is_always_served_and_a_spike_loses_sales_in_its_cycle():
    # Item 0 sells 2 a day, lead 2 days: reorder point 4, order-up-to 6, starting at 6.
    #   day 0: sell 2 → 4, position 4 ≤ 4: order 2 (arrives day 2); day 1: sell 2 → 2, position 4: order 2 (day 3)
    #   from day 2 on: 2 arrive, 2 are sold, 2 are ordered. Arrivals on days 2..5: four cycles, none short.
    # Item 1 forecasts 1 a day, lead 2: reorder point 2, order-up-to 3, starting at 3.
    #   day 2: a spike of 5 → 3 served, 2 lost, position 0: order 3 (arrives day 4); day 4 closes the
    #   cycle that lost the sales: one cycle, short. Day 5: position 3 > 2, no order.
    # Item 2 is out of stock in reality on days 1 and 2: played with its forecast (1), not measured.
    units = np.array([[2, 2, 2, 2, 2, 2], [0, 0, 5, 0, 0, 0], [1, 0, 0, 1, 1, 1]], float)
    observed = np.array([[True] * 6, [True] * 6, [True, False, False, True, True, True]])
    sim = simulate(units, observed, forecast=np.array([2.0, 1.0, 1.0]), reorder_point=np.array([4.0, 2.0, 2.0]),
                   order_up_to=np.array([6.0, 3.0, 3.0]), pack_size=np.array([1, 1, 1]), moq=np.array([1, 1, 1]),
                   lead_days=np.array([2.0, 2.0, 2.0]))
    assert sim.demanded.tolist() == [12, 5, 4]
    assert sim.served.tolist() == [12, 3, 4]
    assert sim.orders.tolist() == [6, 1, 6]
    # Item 2: 3 → day 0 sells 1 → 2 = the reorder point: order 1 (arrives day 2); days 1 and 2 sell the
    # forecast 1 each and order 1 each; from day 2 on 1 arrives, 1 sells and 1 is ordered every day:
    # six orders, arrivals on days 2, 3, 4, 5.
    assert sim.cycles.tolist() == [4, 1, 4]
    assert sim.short_cycles.tolist() == [0, 1, 0]


def test_packs_and_minimum_orders_round_what_the_back_test_orders():
    # Reorder point 3, order-up-to 4, pack 5, MOQ 10: the first order (need 4 − 3 = 1) becomes 10.
    sim = simulate(np.array([[1.0, 1, 1, 1, 1]]), np.ones((1, 5), bool), forecast=np.array([1.0]),
                   reorder_point=np.array([3.0]), order_up_to=np.array([4.0]), pack_size=np.array([5]),
                   moq=np.array([10]), lead_days=np.array([1.0]))
    # day 0: 4 → 3, order 10 (arrives day 1); then 13 covers the rest: one order, one cycle.
    assert sim.orders.tolist() == [1] and sim.cycles.tolist() == [1] and sim.served.tolist() == [5]


def test_the_summary_reports_each_tier_against_the_target():
    units = np.array([[2, 2, 2, 2, 2, 2], [0, 0, 5, 0, 0, 0]], float)
    sim = simulate(units, np.ones((2, 6), bool), forecast=np.array([2.0, 1.0]), reorder_point=np.array([4.0, 2.0]),
                   order_up_to=np.array([6.0, 3.0]), pack_size=np.array([1, 1]), moq=np.array([1, 1]),
                   lead_days=np.array([2.0, 2.0]))
    summary = summarise(sim, best_seller=np.array([True, False]), target=0.95, cover_days=15).set_index("tier")
    assert summary.loc["best sellers (15 days of cover)", "cycle_service_level"] == 1.0
    assert summary.loc["service-level formula", "cycle_service_level"] == 0.0
    assert summary.loc["all items", "cycle_service_level"] == pytest.approx(4 / 5)
    assert summary.loc["all items", "fill_rate"] == pytest.approx(15 / 17)
    assert (summary["target_service_level"] == 0.95).all()
