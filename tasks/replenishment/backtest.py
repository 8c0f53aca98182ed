"""Back-test: the service level the suggested policy would have reached on the real history.

The history is split at `as_of − test_days`. The policy (reorder point, order-up-to level,
packs, minimum orders, lead times) is the plan the daily run would have made on the split date,
from what was known then. It is then played day by day over the test days against the units
that really sold:

    morning   orders due today arrive
    day       demand is served from stock; what stock cannot serve is lost (a web shop's customer
              buys elsewhere)
    evening   inventory position = on hand + on order; at or below the reorder point, order the
              suggested quantity, which arrives after the lead time (at least a day)

Each item starts the test at its order-up-to level, so the test measures the policy in its
steady state, not the stock it inherited. Days the item was really out of stock say nothing
about demand: they are played with the item's forecast (stock still moves) but left out of every
measure. Pre-sale items are not replenished and are left out.

    cycle service level = share of replenishment cycles (from one arrival to the next; the first
                          from the start) in which no sale was lost — what the service-level
                          target promises
    fill rate           = units served / units demanded, over the observed days

Loops run over days; every step is vectorised over items.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np
import pandas as pd
from sqlalchemy import Connection

from tasks.replenishment.plan import PlanSettings, build_plan, load_history
from tasks.replenishment.policy import order_quantity


@dataclass(frozen=True)
class Simulation:
    """Per item, over the observed test days."""

    demanded: np.ndarray
    served: np.ndarray
    cycles: np.ndarray            # replenishment cycles completed (an order arrived) within the test
    short_cycles: np.ndarray      # of those, cycles in which a sale was lost
    orders: np.ndarray            # orders placed


@dataclass(frozen=True)
class Backtest:
    split: date
    as_of: date
    items: pd.DataFrame           # per item: the policy and what it reached
    summary: pd.DataFrame         # per tier (best sellers, the formula, all): what it reached against the target


def backtest(conn: Connection, as_of: date, pools: dict[str, str], settings: PlanSettings, test_days: int) -> Backtest:
    """The policy planned on `as_of − test_days`, played over the days up to `as_of`."""
    if test_days < 1:
        raise ValueError(f"test_days must be at least 1 (got {test_days})")
    split = as_of - timedelta(days=test_days)
    policy = build_plan(conn, split, pools, settings).rows
    policy = policy[~policy["is_presale"].astype(bool)].reset_index(drop=True)
    actual = load_history(conn, split, as_of, pools)
    rows = actual.items.get_indexer(pd.MultiIndex.from_frame(policy[["sku", "location"]]))
    sim = simulate(units=actual.units[rows], observed=actual.in_stock[rows],
                   forecast=policy["forecast_daily"].to_numpy(), reorder_point=policy["reorder_point"].to_numpy(),
                   order_up_to=policy["order_up_to"].to_numpy(), pack_size=policy["pack_size"].to_numpy(),
                   moq=policy["moq"].to_numpy(), lead_days=policy["lead_time_days"].to_numpy())
    items = policy[["sku", "location", "best_seller", "demand_class", "forecast_daily", "lead_time_days",
                    "safety_stock_rule", "reorder_point", "order_up_to"]].assign(
        units_demanded=sim.demanded, units_served=sim.served, orders=sim.orders, cycles=sim.cycles,
        cycles_short=sim.short_cycles)
    return Backtest(split, as_of, items, summarise(sim, policy["best_seller"].to_numpy(dtype=bool),
                                                   settings.service_level, settings.best_seller_cover_days))


def simulate(units: np.ndarray, observed: np.ndarray, forecast: np.ndarray, reorder_point: np.ndarray,
             order_up_to: np.ndarray, pack_size: np.ndarray, moq: np.ndarray, lead_days: np.ndarray) -> Simulation:
    units = np.clip(np.asarray(units, float), 0, None)  # a day of net returns is no demand
    observed = np.asarray(observed, bool)
    forecast = np.asarray(forecast, float)
    items, days = units.shape
    lead = np.maximum(np.rint(np.asarray(lead_days, float)), 1).astype(np.int64)
    slots = int(lead.max(initial=1)) + 1
    pipeline = np.zeros((items, slots))         # units arriving on day (t mod slots)
    on_hand = np.asarray(order_up_to, float).copy()
    lost_this_cycle = np.zeros(items, dtype=bool)
    demanded, served_total = np.zeros(items), np.zeros(items)
    cycles, short_cycles, orders = (np.zeros(items, dtype=np.int64) for _ in range(3))
    rows = np.arange(items)
    for day in range(days):
        slot = day % slots
        arriving = pipeline[:, slot] > 0
        on_hand += pipeline[:, slot]
        pipeline[:, slot] = 0.0
        cycles += arriving
        short_cycles += arriving & lost_this_cycle
        lost_this_cycle &= ~arriving

        seen = observed[:, day]
        demand = np.where(seen, units[:, day], forecast)
        served = np.minimum(np.maximum(on_hand, 0.0), demand)
        on_hand -= served
        lost_this_cycle |= seen & (demand - served > 1e-9)
        demanded += np.where(seen, demand, 0.0)
        served_total += np.where(seen, served, 0.0)

        position = on_hand + pipeline.sum(axis=1)
        quantity, _ = order_quantity(position, reorder_point, order_up_to, pack_size, moq)
        placing = quantity > 0
        pipeline[rows[placing], ((day + lead) % slots)[placing]] += quantity[placing]
        orders += placing
    return Simulation(demanded, served_total, cycles, short_cycles, orders)


def summarise(sim: Simulation, best_seller: np.ndarray, target: float, cover_days: float) -> pd.DataFrame:
    """One row per tier and one for all items: cycles, cycle service level, fill rate, target."""
    tiers = {f"best sellers ({cover_days:g} days of cover)": np.asarray(best_seller, bool),
             "service-level formula": ~np.asarray(best_seller, bool)}
    tiers["all items"] = np.ones(len(sim.demanded), dtype=bool)
    rows = []
    for name, mask in tiers.items():  # three tiers, not items
        cycles, short = int(sim.cycles[mask].sum()), int(sim.short_cycles[mask].sum())
        demanded, served = float(sim.demanded[mask].sum()), float(sim.served[mask].sum())
        rows.append({
            "tier": name, "items": int(mask.sum()), "orders": int(sim.orders[mask].sum()), "cycles": cycles,
            "cycles_short": short, "cycle_service_level": (cycles - short) / cycles if cycles else np.nan,
            "fill_rate": served / demanded if demanded else np.nan, "units_demanded": demanded,
            "target_service_level": target,
        })
    return pd.DataFrame(rows)
