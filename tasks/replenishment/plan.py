"""The replenishment plan for one business date: warehouse in, one row per item out.

An item is a SKU in a *stock pool*: the stock of one Shopify shop, summed over its locations.
Orders count toward the pool of their source; a source without its own stock (a WooCommerce
store) names the pool it ships from with `stock_pool:` in sources.yaml. Demand of a source
whose pool has no stock data cannot be planned and is reported, not guessed.

Only what was known at the date is read, so a backfill plans each past date as it stood: orders
created before it (an order cancelled later still counts as sold, and as committed until it
shipped or was cancelled; refunds count once the order's first refund predates it), stock and price
snapshots taken on or before it, purchase orders placed on or before it and not yet received,
and the alert levels of the day before (for hysteresis).
Shopify's `available` already excludes units committed to open orders, so
    inventory position = on hand + on order − committed = available + on order,
with on hand = available + committed reported for the record.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

import numpy as np
import pandas as pd
from sqlalchemy import Connection, and_, case, func, or_, select, union_all

from tasks.catalogue_on import products_on
from tasks.purchasing import on_order
from tasks.promotions.days import promotion_days
from tasks.replenishment.demand import idle_in_stock_days, profile
from tasks.replenishment.history import in_stock_matrix, item_totals, stock_matrix, units_matrix
from tasks.replenishment.policy import LEVELS, PolicySettings, SlowMoverSettings, best_sellers, decide, slow_movers
from warehouse.io import read_frame, read_large_frame
from warehouse.models import (ComplaintCause, InventorySnapshot, Order, OrderLine, Refund, ReplenishmentSuggestion,
                              StockAlert)

OPEN_STATUSES = ("pending", "on_hold", "paid", "partially_refunded")  # sold, not yet shipped
NOT_SALES = ("cancelled", "failed", "deleted")
STOCKOUT_HORIZON_DAYS = 3650  # expected stock-out dates further out are left empty


@dataclass(frozen=True)
class PlanSettings(PolicySettings):
    history_days: int = 90
    default_lead_time_days: int = 14
    slow_movers: SlowMoverSettings = SlowMoverSettings()


@dataclass
class Plan:
    rows: pd.DataFrame            # one per item: every input and every output
    unplanned_units: dict         # source → units sold in the history with no stock pool to plan them in
    overdue_units: float          # units on purchase orders expected before the date and not received
    previous_plan: bool           # whether the day before was planned (hysteresis needs it)


@dataclass
class History:
    """What the warehouse knew at `end` about the days `[start, end)`, per item (sku, pool)."""

    items: pd.MultiIndex
    units: np.ndarray             # items × days: net units sold
    returned: np.ndarray          # items: units returned (refunded) over the days
    stock: np.ndarray             # items × (days + 2): carried in, the end of each day, known at `end`
    in_stock: np.ndarray          # items × days: could it be sold that day
    committed: np.ndarray         # items: units sold but not shipped at `end`
    unplanned: pd.Series          # source → units sold with no stock pool to plan them in

    @property
    def available(self) -> np.ndarray:
        """Stock at `end` (0 where nothing is known)."""
        return np.nan_to_num(self.stock[:, -1])


def load_history(conn: Connection, start: date, end: date, pools: dict[str, str]) -> History:
    """Items are the (sku, pool) pairs with a stock snapshot on or before `end`."""
    days = (end - start).days
    start_ts = pd.Timestamp(start)
    sales, committed = _sales(conn, start, end, pools)
    snapshots = _pool_snapshots(conn, start, end)
    stocked = set(snapshots["location"])
    unplanned = sales[~sales["location"].isin(stocked)].groupby("source")["units"].sum()
    sales = sales[sales["location"].isin(stocked)]
    items = pd.MultiIndex.from_frame(
        snapshots[["sku", "location"]].drop_duplicates().sort_values(["location", "sku"]), names=["sku", "location"])
    units = units_matrix(sales, items, start_ts, days)
    returned = item_totals(sales, items, start_ts, days, "returned")
    stock = stock_matrix(snapshots, items, start_ts, days)
    return History(items, units, returned, stock, in_stock_matrix(stock, units),
                   committed.reindex(items).fillna(0).to_numpy(dtype=float), unplanned)


def complaints_by_sku(conn: Connection, as_of: date) -> pd.DataFrame:
    """The support desk's complaints per SKU (the satisfaction survey's latest count before the date, so
    the plan does not depend on which of the two ran first that day): complaints, units sold in the
    same window, and the most frequent cause."""
    latest = select(func.max(ComplaintCause.score_date)).where(ComplaintCause.score_date < as_of).scalar_subquery()
    rows = read_frame(conn, select(ComplaintCause.sku, ComplaintCause.cause, ComplaintCause.complaints,
                                   ComplaintCause.units_sold, ComplaintCause.rank).where(
        ComplaintCause.score_date == latest))
    if rows.empty:
        return pd.DataFrame(columns=["complaints", "units_sold", "cause"], index=pd.Index([], name="sku"))
    per_sku = rows.groupby("sku").agg(complaints=("complaints", "sum"), units_sold=("units_sold", "first"))
    return per_sku.assign(cause=rows[rows["rank"] == 1].set_index("sku")["cause"])


def build_plan(conn: Connection, as_of: date, pools: dict[str, str], settings: PlanSettings) -> Plan:
    start = as_of - timedelta(days=settings.history_days)
    history = load_history(conn, start, as_of, pools)
    items = history.items
    products = products_on(conn, as_of, "supplier", "pack_size", "moq", "lead_time_days", "lead_time_std_days",
                           "is_presale", "category").reindex(items.get_level_values("sku"))
    # Promotion days are left out of the demand learnt, like days without stock: a spike is not normal.
    item_skus, item_locations = items.get_level_values("sku").to_numpy(), items.get_level_values("location").to_numpy()
    item_categories = products["category"].to_numpy(dtype=object)
    promoted = promotion_days(conn, item_skus, item_locations, item_categories, start, settings.history_days, pools)
    demand = profile(history.units, history.in_stock & ~promoted)
    returned = history.returned

    available = history.available
    presale = products["is_presale"].fillna(False).to_numpy(dtype=bool)
    presale_pool = np.where(presale, available, 0.0)
    available = np.where(presale, 0.0, available)  # pre-sale stock is promised, never on hand
    open_units = history.committed
    ordered = on_order(conn, as_of).reindex(items).fillna(0)
    incoming = ordered["on_order"].to_numpy(dtype=float)
    previous = _previous_levels(conn, as_of)
    terms = supply_terms(products, settings)
    price = terms.price
    tier_a = best_sellers(demand.units * np.nan_to_num(price), settings.best_seller_revenue_share)

    # ... and the promotions booked ahead are stocked for: their days within an item's lead time and
    # review period sell at the uplift the shop's past promotions had.
    horizon = terms.lead_days + settings.review_days
    ahead = promotion_days(conn, item_skus, item_locations, item_categories, as_of,
                           int(np.ceil(np.nanmax(horizon, initial=0.0))), pools)
    booked = (np.cumsum(ahead, axis=1) * (np.arange(ahead.shape[1]) < horizon[:, None])).max(axis=1, initial=0) \
        if ahead.size else np.zeros(len(items))
    uplift = promotion_uplift(history.units, history.in_stock & promoted, demand.forecast)
    plan_forecast = demand.forecast * (1 + (uplift - 1) * booked / np.maximum(horizon, 1))

    decision = decide(
        on_hand=available + open_units, on_order=incoming, committed=open_units,
        forecast=plan_forecast, std=demand.std, lead_days=terms.lead_days, lead_std_days=terms.lead_std_days,
        pack_size=terms.pack_size, moq=terms.moq, unit_price=price, best_seller=tier_a, settings=settings,
        previous_level=None if previous is None else previous.reindex(items).fillna(0).to_numpy(dtype=np.int64),
        intermittent=demand.method == "sba")

    exempt = presale  # nothing to plan until the pre-sale ships
    cost = terms.cost
    with np.errstate(divide="ignore", invalid="ignore"):
        margin = np.where(price > 0, (price - cost) / price, np.nan)
    listed = pd.to_datetime(products["listed_at"], utc=True)
    listed_days = ((pd.Timestamp(_midnight(as_of)) - listed) / pd.Timedelta(days=1)).to_numpy(dtype=float, na_value=np.nan)
    idle = idle_in_stock_days(history.units, history.in_stock)
    complained = complaints_by_sku(conn, as_of).reindex(item_skus)
    delist, slow_score, slow_action, delist_reason = slow_movers(
        idle, demand.mean, margin, listed_days, presale, available, demand.units + returned, returned,
        settings.slow_movers, complained["complaints"].to_numpy(), complained["cause"].to_numpy(),
        complained["units_sold"].to_numpy())
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
        "on_order": incoming,
        "presale_pool": presale_pool,
        "is_presale": presale,
        "inventory_position": decision.inventory_position,
        "lead_time_days": terms.lead_days,
        "lead_time_source": np.where(terms.lead_known, "supplier terms", "default (no supplier terms)"),
        "lead_time_std_days": terms.lead_std_days,
        "service_level": settings.service_level,
        "safety_stock_rule": decision.safety_rule,
        "safety_stock": decision.safety_stock,
        "reorder_point": decision.reorder_point,
        "order_up_to": decision.order_up_to,
        "pack_size": terms.pack_size,
        "moq": terms.moq,
        "suggested_quantity": np.where(exempt, 0, decision.quantity),
        "quantity_reason": np.where(exempt, "pre-sale SKU: not replenished", decision.quantity_reason),
        "unit_cost": cost,
        "margin": margin,
        "idle_in_stock_days": idle,
        "delisting_warning": delist,
        "delisting_reason": delist_reason,
        "slow_mover_score": slow_score,
        "slow_mover_action": slow_action,
        "returned_units": returned,
        "return_rate": np.where(demand.units + returned > 0, returned / np.maximum(demand.units + returned, 1e-9), np.nan),
        "days_of_cover": finite_cover,
        "stockout_date": stockout_dates(as_of, finite_cover),
        "level": np.where(exempt, "ok", decision.level),
        "raw_level": np.where(exempt, "ok", decision.raw_level),
        "previous_level": None if previous is None else LEVELS[previous.reindex(items).fillna(0).to_numpy(dtype=np.int64)],
        "level_reason": np.where(exempt, "", decision.level_reason),
        "revenue_at_risk": np.where(exempt, 0.0, decision.revenue_at_risk),
    })
    return Plan(rows, {k: int(v) for k, v in history.unplanned.items() if v}, float(ordered["overdue"].sum()),
                previous is not None)


def stockout_dates(as_of: date, days_of_cover: np.ndarray) -> np.ndarray:
    """The day stock runs out at the forecast rate; None without demand (NaN cover) or beyond the
    horizon (slow sellers bought in bulk can have centuries of cover, past any calendar)."""
    cover = np.where(np.asarray(days_of_cover, float) <= STOCKOUT_HORIZON_DAYS, days_of_cover, np.nan)
    return (pd.Timestamp(as_of) + pd.to_timedelta(cover, unit="D")).date


@dataclass(frozen=True)
class SupplyTerms:
    """Per item: what a unit sells for and costs, and how it can be bought."""

    price: np.ndarray
    cost: np.ndarray
    lead_days: np.ndarray         # the supplier's, else the default
    lead_known: np.ndarray        # whether the supplier gave one
    lead_std_days: np.ndarray     # NaN when not known
    pack_size: np.ndarray
    moq: np.ndarray


def supply_terms(products: pd.DataFrame, settings: PlanSettings) -> SupplyTerms:
    lead = products["lead_time_days"].astype(float).to_numpy()
    known = np.isfinite(lead)
    return SupplyTerms(
        price=products["list_price"].astype(float).to_numpy(), cost=products["unit_cost"].astype(float).to_numpy(),
        lead_days=np.where(known, lead, settings.default_lead_time_days), lead_known=known,
        lead_std_days=products["lead_time_std_days"].astype(float).to_numpy(),
        pack_size=products["pack_size"].fillna(1).to_numpy(dtype=np.int64),
        moq=products["moq"].fillna(1).to_numpy(dtype=np.int64))


def _sales(conn: Connection, start: date, end: date, pools: dict[str, str]) -> tuple[pd.DataFrame, pd.Series]:
    """Net and returned units per order line created in [start, end), as known at `end`, and the
    units sold but not yet shipped at `end` per item. What was known at `end` is decided in SQL,
    so that only the few columns the plan needs travel (this is the plan's biggest read)."""
    since, until = _midnight(start), _midnight(end)
    first_refund = select(Refund.source, Refund.external_order_id, func.min(Refund.created_at).label("at")).group_by(
        Refund.source, Refund.external_order_id).subquery()
    refunded = func.coalesce(OrderLine.refunded_quantity, 0)
    # Waiting to ship at `end`: not shipped and not cancelled by then. An order shipped without a
    # recorded time (no fulfilment in the payload) is taken to have shipped before.
    shipped = or_(Order.fulfilled_at < until, and_(
        Order.fulfilled_at.is_(None), Order.status.not_in(OPEN_STATUSES), Order.cancelled_at.is_(None)))
    cancelled = and_(Order.cancelled_at.is_not(None), Order.cancelled_at < until)
    lines = read_large_frame(conn, select(
        OrderLine.source, OrderLine.sku, Order.created_at, OrderLine.quantity,
        case((first_refund.c.at < until, refunded), else_=0).label("returned"),
        case((or_(shipped, cancelled), 0), else_=1).label("open_then"),
    ).join(Order, and_(Order.source == OrderLine.source, Order.external_id == OrderLine.external_order_id)).outerjoin(
        first_refund, and_(first_refund.c.source == Order.source, first_refund.c.external_order_id == Order.external_id),
    ).where(Order.created_at >= since, Order.created_at < until, or_(
        Order.status.not_in(NOT_SALES), and_(Order.status == "cancelled", Order.cancelled_at >= until))),
        times=["created_at"])
    lines["returned"] = lines["returned"].astype(float)
    lines["units"] = lines["quantity"].astype(float) - lines["returned"]
    lines["location"] = lines["source"].map(pools).fillna(lines["source"])
    lines["day"] = lines["created_at"].dt.tz_localize(None).dt.normalize()
    committed = lines[lines["open_then"].astype(bool)].groupby(["sku", "location"])["units"].sum()
    return lines, committed


def promotion_uplift(units: np.ndarray, promoted_in_stock: np.ndarray, forecast: np.ndarray) -> float:
    """How many times its normal demand an item sold on its promotion days, across the shop (a ratio
    of sums, so the many small items do not drown it in noise), between 1 and 5 (one wild day must
    not order a year's stock); 1 without promotion days."""
    days = promoted_in_stock.sum(axis=1)
    expected = float(np.nansum(np.nan_to_num(forecast) * days))
    sold = float(np.where(promoted_in_stock, units, 0).sum())
    return float(np.clip(sold / expected, 1.0, 5.0)) if expected > 0 else 1.0


def _previous_levels(conn: Connection, as_of: date) -> pd.Series | None:
    """The day before's alert level per item as a code (0 ok … 3 critical); None if it was not planned."""
    before = as_of - timedelta(days=1)
    if conn.execute(select(ReplenishmentSuggestion.sku).where(ReplenishmentSuggestion.as_of_date == before).limit(1)
                    ).first() is None:
        return None
    alerts = read_frame(conn, select(StockAlert.sku, StockAlert.location, StockAlert.level).where(
        StockAlert.as_of_date == before))
    codes = {name: code for code, name in enumerate(LEVELS)}
    return alerts.set_index(["sku", "location"])["level"].map(codes).astype(np.int64)


def _pool_snapshots(conn: Connection, start: date, end: date) -> pd.DataFrame:
    """Stock rows (sku, pool, location_id, day, available) known at `end` for the days from
    `start`: the rows of those days, and each location's latest row before them (its opening)."""
    snap = InventorySnapshot
    keys = (snap.source, snap.location_id, snap.sku)
    columns = (snap.sku, snap.source.label("location"), snap.location_id, snap.snapshot_date.label("day"),
               snap.available)
    opening_day = select(*keys, func.max(snap.snapshot_date).label("day")).where(
        snap.snapshot_date < start).group_by(*keys).subquery()
    opening = select(*columns).join(opening_day, and_(
        opening_day.c.source == snap.source, opening_day.c.location_id == snap.location_id,
        opening_day.c.sku == snap.sku, opening_day.c.day == snap.snapshot_date))
    recent = select(*columns).where(snap.snapshot_date >= start, snap.snapshot_date <= end)
    return read_large_frame(conn, union_all(opening, recent), dates=["day"])


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=timezone.utc)
