"""The replenishment plan for one business date: warehouse in, one row per item out.

An item is a SKU in a *stock pool*: the stock of one Shopify shop, summed over its locations.
Orders count toward the pool of their source; a source without its own stock (a WooCommerce
store) names the pool it ships from with `stock_pool:` in sources.yaml. Demand of a source
whose pool has no stock data cannot be planned and is reported, not guessed.

Only what was known at the date is read: orders created before it, stock snapshots taken on or
before it. Shopify's `available` already excludes units committed to open orders, so
    inventory position = on hand + on order − committed = available + on order,
with on hand = available + committed reported for the record.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

import numpy as np
import pandas as pd
from sqlalchemy import Connection, and_, func, select

from tasks.replenishment.demand import idle_in_stock_days, profile
from tasks.replenishment.history import in_stock_matrix, units_matrix
from tasks.replenishment.policy import PolicySettings, SlowMoverSettings, best_sellers, decide, slow_movers
from warehouse.io import read_frame
from warehouse.models import InventorySnapshot, Order, OrderLine, Product

OPEN_STATUSES = ("pending", "on_hold", "paid", "partially_refunded")  # sold, not yet shipped
NOT_SALES = ("cancelled", "failed", "deleted")


@dataclass(frozen=True)
class PlanSettings(PolicySettings):
    history_days: int = 90
    default_lead_time_days: int = 14
    slow_movers: SlowMoverSettings = SlowMoverSettings()


@dataclass
class Plan:
    rows: pd.DataFrame            # one per item: every input and every output
    unplanned_units: dict         # source → units sold in the history with no stock pool to plan them in


def build_plan(conn: Connection, as_of: date, pools: dict[str, str], settings: PlanSettings) -> Plan:
    start = as_of - timedelta(days=settings.history_days)
    start_ts = pd.Timestamp(start)
    sales, committed = _sales(conn, start, as_of, pools)
    snapshots = _pool_snapshots(conn, start - timedelta(days=settings.history_days), as_of)
    stocked = set(snapshots["location"])
    unplanned = sales[~sales["location"].isin(stocked)].groupby("source")["units"].sum()
    sales = sales[sales["location"].isin(stocked)]

    items = pd.MultiIndex.from_frame(
        snapshots[["sku", "location"]].drop_duplicates().sort_values(["location", "sku"]), names=["sku", "location"])
    products = _products(conn).reindex(items.get_level_values("sku"))
    units = units_matrix(sales, items, start_ts, settings.history_days)
    in_stock = in_stock_matrix(snapshots, units, items, start_ts, settings.history_days)
    demand = profile(units, in_stock)

    latest = snapshots.sort_values("day").groupby(["sku", "location"]).tail(1).set_index(["sku", "location"])
    available = latest["available"].reindex(items).fillna(0).to_numpy(dtype=float)
    presale = products["is_presale"].fillna(False).to_numpy(dtype=bool)
    presale_pool = np.where(presale, available, 0.0)
    available = np.where(presale, 0.0, available)  # pre-sale stock is promised, never on hand
    open_units = committed.reindex(items).fillna(0).to_numpy(dtype=float)
    price = products["list_price"].astype(float).to_numpy()
    lead = products["lead_time_days"].astype(float).to_numpy()
    lead_known = np.isfinite(lead)
    lead = np.where(lead_known, lead, settings.default_lead_time_days)
    revenue = demand.units * np.nan_to_num(price)
    tier_a = best_sellers(revenue, settings.best_seller_revenue_share)

    decision = decide(
        on_hand=available + open_units, on_order=np.zeros(len(items)), committed=open_units,
        forecast=demand.forecast, std=demand.std, lead_days=lead,
        lead_std_days=products["lead_time_std_days"].astype(float).to_numpy(),
        pack_size=products["pack_size"].fillna(1).to_numpy(dtype=np.int64),
        moq=products["moq"].fillna(1).to_numpy(dtype=np.int64),
        unit_price=price, best_seller=tier_a, settings=settings)

    exempt = presale  # nothing to plan until the pre-sale ships
    cost = products["unit_cost"].astype(float).to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        margin = np.where(price > 0, (price - cost) / price, np.nan)
    listed = pd.to_datetime(products["listed_at"], utc=True)
    listed_days = ((pd.Timestamp(_midnight(as_of)) - listed) / pd.Timedelta(days=1)).to_numpy(dtype=float, na_value=np.nan)
    idle = idle_in_stock_days(units, in_stock)
    delist, slow_score, slow_action, delist_reason = slow_movers(
        idle, demand.mean, margin, listed_days, presale, available, settings.slow_movers)
    as_of_ts = pd.Timestamp(as_of)
    finite_cover = np.where(np.isfinite(decision.days_of_cover), decision.days_of_cover, np.nan)
    rows = pd.DataFrame({
        "as_of_date": as_of,
        "sku": items.get_level_values("sku"),
        "location": items.get_level_values("location"),
        "supplier": products["supplier"].to_numpy(),
        "history_days": settings.history_days,
        "observed_days": demand.observed_days,
        "censored_days": demand.censored_days,
        "units_sold": demand.units,
        "demand_class": demand.demand_class,
        "forecast_method": demand.method,
        "forecast_daily": demand.forecast,
        "demand_std": demand.std,
        "best_seller": tier_a,
        "available": available,
        "committed": open_units,
        "on_hand": available + open_units,
        "on_order": 0.0,
        "presale_pool": presale_pool,
        "inventory_position": decision.inventory_position,
        "lead_time_days": lead,
        "lead_time_source": np.where(lead_known, "supplier terms", "default (no supplier terms)"),
        "lead_time_std_days": products["lead_time_std_days"].astype(float).to_numpy(),
        "service_level": settings.service_level,
        "safety_stock_rule": decision.safety_rule,
        "safety_stock": decision.safety_stock,
        "reorder_point": decision.reorder_point,
        "order_up_to": decision.order_up_to,
        "pack_size": products["pack_size"].fillna(1).to_numpy(dtype=np.int64),
        "moq": products["moq"].fillna(1).to_numpy(dtype=np.int64),
        "suggested_quantity": np.where(exempt, 0, decision.quantity),
        "quantity_reason": np.where(exempt, "pre-sale SKU: not replenished", decision.quantity_reason),
        "unit_cost": cost,
        "margin": margin,
        "idle_in_stock_days": idle,
        "delisting_warning": delist,
        "delisting_reason": delist_reason,
        "slow_mover_score": slow_score,
        "slow_mover_action": slow_action,
        "days_of_cover": finite_cover,
        "stockout_date": (as_of_ts + pd.to_timedelta(finite_cover, unit="D")).date,  # none without demand
        "level": np.where(exempt, "ok", decision.level),
        "level_reason": np.where(exempt, "", decision.level_reason),
        "revenue_at_risk": np.where(exempt, 0.0, decision.revenue_at_risk),
    })
    return Plan(rows, {k: int(v) for k, v in unplanned.items() if v})


def _sales(conn: Connection, start: date, end: date, pools: dict[str, str]) -> tuple[pd.DataFrame, pd.Series]:
    """Net units per (source, sku, day) in [start, end), and units sold but not shipped per item."""
    since, until = _midnight(start), _midnight(end)
    lines = read_frame(conn, select(
        OrderLine.source, OrderLine.sku, Order.created_at, Order.status,
        (OrderLine.quantity - func.coalesce(OrderLine.refunded_quantity, 0)).label("units"),
    ).join(Order, and_(Order.source == OrderLine.source, Order.external_id == OrderLine.external_order_id)).where(
        Order.created_at >= since, Order.created_at < until, Order.status.not_in(NOT_SALES)))
    lines["location"] = lines["source"].map(lambda s: pools.get(s, s))
    lines["day"] = pd.to_datetime(lines["created_at"], utc=True).dt.tz_localize(None).dt.normalize()
    lines["units"] = lines["units"].astype(float)
    committed = lines[lines["status"].isin(OPEN_STATUSES)].groupby(["sku", "location"])["units"].sum()
    return lines, committed


def _pool_snapshots(conn: Connection, since: date, as_of: date) -> pd.DataFrame:
    """End-of-day stock per (sku, pool, day): the shop's locations summed."""
    frame = read_frame(conn, select(
        InventorySnapshot.sku, InventorySnapshot.source.label("location"), InventorySnapshot.snapshot_date.label("day"),
        func.sum(InventorySnapshot.available).label("available"),
    ).where(InventorySnapshot.snapshot_date >= since, InventorySnapshot.snapshot_date <= as_of).group_by(
        InventorySnapshot.sku, InventorySnapshot.source, InventorySnapshot.snapshot_date))
    frame["day"] = pd.to_datetime(frame["day"])
    return frame


def _products(conn: Connection) -> pd.DataFrame:
    return read_frame(conn, select(
        Product.sku, Product.supplier, Product.unit_cost, Product.list_price, Product.pack_size, Product.moq,
        Product.lead_time_days, Product.lead_time_std_days, Product.is_presale, Product.listed_at,
    )).set_index("sku")


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=timezone.utc)
