"""Item × day matrices from long frames: units sold, stock at the end of each day, in stock or not.

An item is a (sku, location) pair, the location being a stock pool (a shop, its warehouse
locations summed). Days are whole days counted from `start`; rows outside `[start, start + days)`
or for unknown items are ignored (the caller chose the items).
Built with bincount and cumulative sums: no loop per item or per row.
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
    weights = sales["units"].to_numpy(dtype=np.float64)[keep]
    return np.bincount(cells, weights=weights, minlength=len(items) * days).reshape(len(items), days)


def item_totals(sales: pd.DataFrame, items: pd.MultiIndex, start: pd.Timestamp, days: int, column: str) -> np.ndarray:
    """Sum of `column` per item over the rows of the days (a vector: no item × day matrix)."""
    item, day = item_positions(sales, items), day_numbers(sales["day"], start)
    keep = (item >= 0) & (day >= 0) & (day < days)
    return np.bincount(item[keep], weights=sales[column].to_numpy(dtype=np.float64)[keep], minlength=len(items))


def stock_matrix(snapshots: pd.DataFrame, items: pd.MultiIndex, start: pd.Timestamp, days: int) -> np.ndarray:
    """End-of-day stock per item, its warehouse locations summed: items × (days + 2).

    Column 0 is the stock carried in from before `start`, column d + 1 the stock at the end of
    day d, and the last column the latest stock known on day `days` (the plan's own date, whose
    rows are read during that day). `snapshots` rows are (sku, location, location_id, day, available) and *sparse*: a
    location's value holds from its row's day until its next row (the daily sync writes a row
    only when the value changes). Rows before `start` set the opening stock (the latest wins).
    Until an item's first row nothing is known: NaN. A location not seen yet counts as 0.
    """
    if snapshots.empty:  # no stock known before the date (a first run, a backfill before the first sync)
        return np.full((len(items), days + 2), np.nan)
    item, day = item_positions(snapshots, items), day_numbers(snapshots["day"], start)
    keep = (item >= 0) & (day <= days)
    item, day = item[keep], day[keep]
    location = pd.factorize(snapshots["location_id"].to_numpy()[keep])[0]
    available = snapshots["available"].to_numpy(dtype=np.float64)[keep]
    column = np.maximum(day, -1) + 1

    # Each location's rows in time order; of several rows in one column only the latest counts.
    order = np.lexsort((day, location, item))
    item, location, column, available = item[order], location[order], column[order], available[order]
    same_cell_as_next = (item[1:] == item[:-1]) & (location[1:] == location[:-1]) & (column[1:] == column[:-1])
    latest = np.ones(len(item), dtype=bool)
    latest[:-1] = ~same_cell_as_next
    item, location, column, available = item[latest], location[latest], column[latest], available[latest]
    series_start = np.ones(len(item), dtype=bool)
    series_start[1:] = (item[1:] != item[:-1]) | (location[1:] != location[:-1])

    # A location's value as a change from its previous one; summed per item and column, then
    # accumulated along the days, the changes give the item's stock on every day.
    change = available - np.where(series_start, 0.0, np.roll(available, 1))
    width = days + 2
    totals = np.bincount(item * width + column, weights=change, minlength=len(items) * width).reshape(len(items), width)
    stock = np.cumsum(totals, axis=1)
    first = np.full(len(items), width, dtype=np.int64)
    np.minimum.at(first, item, column)
    stock[np.arange(width)[None, :] < first[:, None]] = np.nan
    return stock


def in_stock_matrix(stock: np.ndarray, sales: np.ndarray) -> np.ndarray:
    """Whether each item could be sold each day: the stock carried into the day was positive, or
    it sold something (it was there to sell). Days before anything was known count as in stock,
    so that missing history never makes demand look higher than it was."""
    opening = stock[:, :sales.shape[1]]
    return np.isnan(opening) | (opening > 0) | (sales > 0)
