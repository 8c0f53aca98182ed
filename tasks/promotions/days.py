"""Promotion days in a demand history: which item had a promotion on which day.

Replenishment leaves these days out of the demand it learns, as it leaves out days without stock:
a promotion's spike is not the item's normal demand, and planning stock for it every day after
would overstock.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd
from sqlalchemy import Connection, select

from tasks.promotions.calendar import as_list, is_evergreen
from warehouse.io import read_frame
from warehouse.models import Promotion

DAY = pd.Timedelta(days=1)


def promotion_days(conn: Connection, skus: np.ndarray, locations: np.ndarray, categories: np.ndarray,
                   start: date, days: int, pools: dict[str, str]) -> np.ndarray:
    """items × days: True where a promotion in the warehouse covered the item (its SKU or category
    in scope, its stock pool one of the promotion's channels' pools) for part of the day. An
    evergreen promotion (a welcome code) is normal trading and marks nothing."""
    first, end = pd.Timestamp(start, tz="UTC"), pd.Timestamp(start, tz="UTC") + days * DAY
    promotions = read_frame(conn, select(Promotion.starts_at, Promotion.ends_at, Promotion.scope_skus,
                                         Promotion.scope_categories, Promotion.scope_channels).where(
        Promotion.starts_at < end.to_pydatetime(), Promotion.ends_at > first.to_pydatetime()))
    marked = np.zeros((len(skus), days), dtype=bool)
    for promotion in promotions.itertuples(index=False):  # a few per month; each step is vectorised
        if is_evergreen(promotion.starts_at, promotion.ends_at):
            continue
        skus_in, categories_in = as_list(promotion.scope_skus), as_list(promotion.scope_categories)
        items = np.isin(skus, skus_in) | np.isin(categories, categories_in) if skus_in or categories_in else \
            np.ones(len(skus), dtype=bool)
        channels = as_list(promotion.scope_channels)
        if channels:
            items &= np.isin(locations, [pools.get(channel, channel) for channel in channels])
        since = max(int((pd.Timestamp(promotion.starts_at).tz_convert("UTC") - first) // DAY), 0)
        until = min(int(-(-(pd.Timestamp(promotion.ends_at).tz_convert("UTC") - first) // DAY)), days)
        marked[np.ix_(items, np.arange(since, until))] = True
    return marked
