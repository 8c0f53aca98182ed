"""The product catalogue as it stood on a business date: what each SKU sold for and cost then.

Both operational flows that look at prices (replenishment's revenue and margins, price
monitoring's position and floors) read them here, so a backfill prices a past date as it stood.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

import pandas as pd
from sqlalchemy import Connection, and_, func, select

from warehouse.io import read_frame
from warehouse.models import PriceSnapshot, Product


def products_on(conn: Connection, as_of: date, *columns) -> pd.DataFrame:
    """The catalogue (indexed by SKU) with `columns` of `products` besides the list price, unit
    cost, currency and listing date; price and cost are those the SKU had on `as_of`: its latest
    price snapshot by then; without one, its current price if it was listed by then (nothing
    earlier is known), else none."""
    products = read_frame(conn, select(
        Product.sku, Product.unit_cost, Product.list_price, Product.currency, Product.listed_at,
        *(getattr(Product, name) for name in columns))).set_index("sku")
    price = PriceSnapshot
    latest = select(price.sku, func.max(price.snapshot_date).label("day")).where(
        price.snapshot_date <= as_of).group_by(price.sku).subquery()
    then = read_frame(conn, select(price.sku, price.list_price, price.unit_cost).join(
        latest, and_(latest.c.sku == price.sku, latest.c.day == price.snapshot_date))).set_index("sku")
    known = products.index.isin(then.index)
    end_of_day = pd.Timestamp(datetime.combine(as_of + timedelta(days=1), time(0), tzinfo=timezone.utc))
    listed = (pd.to_datetime(products["listed_at"], utc=True) < end_of_day).to_numpy()
    for column in ("list_price", "unit_cost"):
        current = products[column].where(listed)  # a SKU listed only later had no price yet
        products[column] = current.where(~known, then[column].reindex(products.index))
    return products
