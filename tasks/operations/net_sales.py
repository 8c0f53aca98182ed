"""Net sales per business day: gross − discounts − refunds, exact, per source and currency.

Gross is the orders' line items before discounts (`subtotal`), discounts their `discount_total`,
both on the day the order was placed. Refunds are the money given back (`refunds.amount`) on the
refund's own day: a refund weeks after its order lowers the week it was paid, not the week of the
order. `by="order"` instead puts every refund on its order's day (the same total over any window
that holds both). Orders count once they are sold: paid, fulfilled or (partially) refunded.
"""

from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal
from zoneinfo import ZoneInfo

import pandas as pd
from sqlalchemy import Engine, select

from tasks.fx import to_reporting
from warehouse.io import read_frame
from warehouse.models import Order, Refund

SOLD_STATUSES = ("paid", "fulfilled", "partially_refunded", "refunded")
COLUMNS = ["day", "source", "currency", "orders", "gross", "discounts", "refunds", "net"]


def net_sales_by_day(engine: Engine, start: date, end: date, zone: str = "UTC", by: str = "refund",
                     reporting: str | None = None) -> pd.DataFrame:
    """Days `[start, end)` in `zone`; one row per day, source and currency with sales or refunds.
    With `reporting` (a currency), also each amount in it at the day's rate (tasks/fx.py)."""
    if by not in ("refund", "order"):
        raise ValueError(f"by must be 'refund' or 'order', not {by!r}")
    tz = ZoneInfo(zone)
    low, high = (datetime.combine(d, time(), tz).astimezone(ZoneInfo("UTC")) for d in (start, end))
    sold = Order.status.in_(SOLD_STATUSES)
    with engine.connect() as conn:
        orders = read_frame(conn, select(Order.source, Order.currency, Order.created_at, Order.subtotal,
                                         Order.discount_total, Order.refunded_total)
                            .where(sold, Order.created_at >= low, Order.created_at < high))
        refund_day = Order.created_at if by == "order" else Refund.created_at
        refunds = read_frame(conn, select(Refund.source, Order.currency, refund_day.label("created_at"), Refund.amount)
                             .join(Order, (Order.source == Refund.source) & (Order.external_id == Refund.external_order_id))
                             .where(sold, refund_day >= low, refund_day < high))
    orders["day"] = _local_days(orders["created_at"], tz)
    refunds["day"] = _local_days(refunds["created_at"], tz)
    keys = ["day", "source", "currency"]
    sales = orders.groupby(keys).agg(orders=("subtotal", "size"), gross=("subtotal", _exact_sum),
                                     discounts=("discount_total", _exact_sum))
    returned = refunds.groupby(keys).agg(refunds=("amount", _exact_sum))
    table = sales.join(returned, how="outer").reset_index()
    table["orders"] = table["orders"].fillna(0).astype(int)
    for name in ("gross", "discounts", "refunds"):
        table[name] = table[name].map(lambda v: v if isinstance(v, Decimal) else Decimal(0))
    table["net"] = [g - d - r for g, d, r in zip(table["gross"], table["discounts"], table["refunds"])]
    table = table[COLUMNS].sort_values(keys, ignore_index=True)
    if reporting:
        table = to_reporting(table, ["gross", "discounts", "refunds", "net"], engine, reporting)
    return table


def _local_days(moments: pd.Series, tz: ZoneInfo) -> pd.Series:
    if moments.empty:
        return pd.Series([], dtype=object)
    return pd.to_datetime(moments, utc=True).dt.tz_convert(tz).dt.date


def _exact_sum(values: pd.Series) -> Decimal:
    return sum(values, Decimal(0))
