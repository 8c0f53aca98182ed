"""Item × day matrices from long frames: units sold and whether the item could be sold.

An item is a (sku, location) pair. Days are whole days counted from `start`; rows outside
`[start, start + days)` or for unknown items are ignored (the caller chose the items).
Built with bincount and a running maximum: no loop per item or per row.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

KEYS = ["sku", "location"]


def item_positions(frame: pd.DataFrame, items: pd.MultiIndex) -> np.ndarray:
    """Row → item position (−1 when the frame's pair is not among `items`)."""
    return items.get_indexer(pd.MultiIndex.from_frame(frame[KEYS]))


def day_numbers(days: pd.Series, start: pd.Timestamp) -> np.ndarray:
    return ((pd.to_datetime(days) - start) // pd.Timedelta(days=1)).to_numpy(dtype=np.int64)


def units_matrix(sales: pd.DataFrame, items: pd.MultiIndex, start: pd.Timestamp, days: int) -> np.ndarray:
    """Sum of `units` per item and day from rows of (sku, location, day, units)."""
    item, day = item_positions(sales, items), day_numbers(sales["day"], start)
    keep = (item >= 0) & (day >= 0) & (day < days)
    cells = item[keep] * days + day[keep]
    totals = np.bincount(cells, weights=sales["units"].to_numpy(dtype=np.float64)[keep], minlength=len(items) * days)
    return totals.reshape(len(items), days)


def in_stock_matrix(snapshots: pd.DataFrame, sales: np.ndarray, items: pd.MultiIndex, start: pd.Timestamp,
                    days: int) -> np.ndarray:
    """Whether each item could be sold each day.

    `snapshots` are (sku, location, day, available) taken at the end of a day; an item's stock
    on a day without a snapshot is its last one before. A day counts as in stock when the stock
    carried into it was positive, or when it sold something (it was there to sell). Before an
    item's first snapshot nothing is known: those days count as in stock, so that missing
    history never makes demand look higher than it was.
    """
    item, day = item_positions(snapshots, items), day_numbers(snapshots["day"], start)
    keep = (item >= 0) & (day < days)
    item, day = item[keep], np.maximum(day[keep], -1)  # older snapshots set the opening stock
    available = snapshots["available"].to_numpy(dtype=np.float64)[keep]
    # The latest snapshot per (item, day): sort, then keep the last of each cell.
    order = np.lexsort((day, item))
    item, day, available = item[order], day[order], available[order]
    last = np.ones(len(item), dtype=bool)
    last[:-1] = (item[1:] != item[:-1]) | (day[1:] != day[:-1])
    item, day, available = item[last], day[last], available[last]

    # Column 0 holds stock carried in from before `start`; column d + 1 the stock at the end of day d.
    closing = np.full((len(items), days + 1), np.nan)
    closing[item, day + 1] = available
    # Forward fill along days: index of the last known column, then take it.
    known = np.where(~np.isnan(closing), np.arange(days + 1), 0)
    np.maximum.accumulate(known, axis=1, out=known)
    filled = np.take_along_axis(closing, known, axis=1)  # NaN until the first snapshot
    opening = filled[:, :-1]  # stock carried into each day
    return np.isnan(opening) | (opening > 0) | (sales > 0)
