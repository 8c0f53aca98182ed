"""Hourly sales per channel and SKU (the cube), and each promotion's groups cut out of it.

A promotion's series has one value per *period*: 24 hours from its own start time (so a promotion
starting at a shop's local midnight is not split by UTC midnight), and for a promotion shorter
than a day the same hours of each day (a 17:00–21:00 flash sale against 17:00–21:00 on the other
days, not against whole days). Over the periods from `lookback_days` before the start to
`post_days` after the end:
- scope: its channels × its SKUs or categories (every SKU when it names none);
- siblings: the same channels' other SKUs of the categories in scope (none for a store-wide one);
- control: everything else — other categories, and other channels' sales of the same SKUs.
The baseline is the last `pre_days` clean periods before the start (looking back up to
`lookback_days`), so one promotion's spike is not the next one's "normal": no other promotion
meeting this one's scope on its channels, and no store-wide one on any channel (it moves the
control) unless that leaves too few; evergreen promotions (a welcome code) are normal trading.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone

import numpy as np
import pandas as pd

from tasks.promotions.calendar import as_list, is_evergreen
from tasks.promotions.review import ReviewSettings, Series
from warehouse.types import MONEY_UNIT

HOUR = pd.Timedelta(hours=1)
DAY_HOURS = 24


@dataclass
class Cube:
    """Kept units, margin at list price and net sales per hour and (channel, SKU), sorted by hour.
    Channels, SKUs and categories are integer codes into `sources`, `skus` and `categories`, so
    that cutting a promotion's groups out is a table lookup, not a string search. Free lines
    (gifts) are not demand: their units are left out."""

    start: pd.Timestamp          # hour 0 (UTC)
    hour: np.ndarray             # hour number of each row
    source: np.ndarray           # codes
    sku: np.ndarray
    category: np.ndarray
    sources: pd.Index            # the names behind the codes
    skus: pd.Index
    categories: pd.Index
    sku_category: np.ndarray     # category code of each SKU code
    units: np.ndarray
    margin: np.ndarray
    net: np.ndarray
    category_cache: dict = field(default_factory=dict)

    def rows_between(self, first_hour: int, end_hour: int) -> slice:
        return slice(int(np.searchsorted(self.hour, first_hour, "left")),
                     int(np.searchsorted(self.hour, end_hour, "left")))

    def hour_of(self, moment: pd.Timestamp) -> float:
        return (moment - self.start) / HOUR


def build_cube(lines: pd.DataFrame, unit_costs: pd.Series, categories: pd.Series, start: pd.Timestamp) -> Cube:
    """lines: source, sku, created_at (UTC), quantity, refunded_quantity, unit_price, line_total."""
    kept = (lines["quantity"] - lines["refunded_quantity"]).clip(lower=0).astype(float)
    share = kept / lines["quantity"].where(lines["quantity"] > 0)
    # Codes in name order and money in whole ten-thousandths, which float64 sums exactly: the cube
    # is then the same to the last bit whatever order the warehouse returned the lines in, and so
    # is a review run twice for one date.
    source_code, sources = pd.factorize(lines["source"], sort=True)
    sku_code, skus = pd.factorize(lines["sku"], sort=True)
    sources, skus = pd.Index(np.asarray(sources, dtype=object)), pd.Index(np.asarray(skus, dtype=object))
    # By SKU code, not line by line; a line without a SKU (code -1) takes the NaN appended last.
    cost = np.append(pd.to_numeric(pd.Series(skus, dtype=object).map(unit_costs), errors="coerce").to_numpy(float),
                     np.nan)[sku_code]
    hour = ((lines["created_at"] - start) // HOUR).to_numpy(np.int64)
    units = kept.where(lines["unit_price"] > 0, 0.0).to_numpy(float)
    # No cost known: the margin is unknown too, and counting the price as margin would flatter.
    margin = np.rint((kept * (lines["unit_price"] - cost)).fillna(0.0).to_numpy(float) * MONEY_UNIT)
    net = np.rint((lines["line_total"] * share).fillna(0.0).to_numpy(float) * MONEY_UNIT)
    # One integer per (hour, channel, SKU), ordered as they are (a SKU-less line's code -1 kept):
    # summing by it takes a fraction of the memory a three-key group-by does over millions of lines.
    width, depth = len(sources), len(skus) + 1
    cell, rows = np.unique((hour * width + source_code) * depth + (sku_code + 1), return_inverse=True)
    hourly_hour, rest = np.divmod(cell, width * depth)
    hourly_source, hourly_sku = rest // depth, rest % depth - 1

    def summed(values: np.ndarray) -> np.ndarray:
        return np.bincount(rows, weights=values, minlength=len(cell))

    category_code, category_names = pd.factorize(pd.Series(skus, dtype=object).map(categories).fillna(""))
    return Cube(start, hourly_hour, hourly_source, hourly_sku, category_code[hourly_sku], sources, skus,
                pd.Index(category_names), category_code, summed(units), summed(margin) / MONEY_UNIT,
                summed(net) / MONEY_UNIT)


def _lookup(names: pd.Index, wanted: list[str]) -> np.ndarray:
    """A table by code: True for the codes of `wanted`."""
    table = np.zeros(len(names) + 1, dtype=bool)
    codes = names.get_indexer(wanted)
    table[codes[codes >= 0]] = True
    return table


def promotion_series(cube: Cube, promotion, others: pd.DataFrame, as_of: date,
                     settings: ReviewSettings) -> tuple[Series, bool]:
    """The promotion's series by period up to the end of `as_of`, and whether it was still running then."""
    start, end = pd.Timestamp(promotion.starts_at), pd.Timestamp(promotion.ends_at)
    as_of_end = pd.Timestamp(datetime.combine(as_of + timedelta(days=1), time(0), tzinfo=timezone.utc))
    origin = int(np.floor(cube.hour_of(start)))                       # the hour the periods start at
    length = max(int(np.ceil(cube.hour_of(end))) - origin, 1)        # the promotion, in hours
    slot = min(length, DAY_HOURS)                                     # the hours of a period that count
    promo_periods = -(-length // DAY_HOURS)
    last = min(promo_periods + settings.post_days, int(np.ceil((cube.hour_of(as_of_end) - origin) / DAY_HOURS)))
    periods = np.arange(-settings.lookback_days, max(last, -settings.lookback_days))
    during = (periods >= 0) & (periods < promo_periods)
    # The baseline is the last `pre_days` clean periods before the start, and none before the
    # history begins (no sales there is no data, not no demand). Clean: no store-wide promotion on
    # any channel (those channels' sales are the comparison) and none meeting this one's scope on
    # its channels; where a busy calendar leaves too few such periods, only the latter count.
    has_data = origin + periods * DAY_HOURS >= _first_data_hour(cube)
    busy = _busy_periods(cube, promotion, others, periods, origin, slot, strict=True)
    if ((periods < 0) & has_data & ~busy).sum() < settings.min_pre_days:
        busy = _busy_periods(cube, promotion, others, periods, origin, slot, strict=False)
    post = (periods >= promo_periods) & ~busy  # a later promotion's spike would hide the dip
    clean = (periods < 0) & has_data & ~busy
    pre = np.zeros(len(periods), dtype=bool)
    pre[np.flatnonzero(clean)[-settings.pre_days:]] = True

    first_hour = origin + int(periods[0]) * DAY_HOURS if len(periods) else origin
    # Only the periods used are read: the baseline's clean ones may start well after the look-back's.
    used = np.flatnonzero(pre | during | post)
    first_used = origin + int(periods[used[0]]) * DAY_HOURS if len(used) else origin
    rows = cube.rows_between(first_used, origin + int(periods[-1] + 1) * DAY_HOURS if len(periods) else origin)
    offset = cube.hour[rows] - first_hour
    in_slot = offset % DAY_HOURS < slot
    position = offset // DAY_HOURS
    source, sku, category = cube.source[rows], cube.sku[rows], cube.category[rows]
    channels, skus, categories = (as_list(promotion.scope_channels), as_list(promotion.scope_skus),
                                  as_list(promotion.scope_categories))
    on_channel = _lookup(cube.sources, channels)[source] if channels else np.ones(len(source), dtype=bool)
    restricted = bool(skus or categories)
    in_scope = on_channel & ((_lookup(cube.skus, skus)[sku] | _lookup(cube.categories, categories)[category])
                             if restricted else True)
    if restricted:
        scope_categories = np.zeros(len(cube.categories), dtype=bool)
        scope_categories[np.unique(category[in_scope])] = True
        sibling = on_channel & ~in_scope & scope_categories[category]
    else:
        sibling = np.zeros(len(source), dtype=bool)
    control = ~in_scope & ~sibling
    span = len(periods)
    # One pass per measure: each row's bin is its group (scope 0, sibling 1, control 2) and period.
    group = np.where(in_scope, 0, np.where(sibling, 1, 2))
    bins = (group * span + position)[in_slot]

    def totals(values: np.ndarray) -> np.ndarray:
        return np.bincount(bins, weights=values[rows][in_slot], minlength=3 * span)[:3 * span].reshape(3, span)

    units, margin, net = totals(cube.units), totals(cube.margin), totals(cube.net)
    has_control, has_siblings = bool(control.any()), bool(sibling.any())
    control_skus = len(np.unique(source[control].astype(np.int64) * len(cube.skus) + sku[control])) if has_control else 0
    series = Series(
        scope_units=units[0], scope_margin=margin[0], scope_net=net[0],
        control_units=units[2] if has_control else None, control_margin=margin[2] if has_control else None,
        control_net=net[2] if has_control else None,
        sibling_margin=margin[1] if has_siblings else None,
        sibling_control_margin=margin[2] if has_siblings and has_control else None,
        pre=pre, during=during, post=post, control_skus=control_skus,
    )
    return series, bool(end > as_of_end)


def _busy_periods(cube: Cube, promotion, others: pd.DataFrame, periods: np.ndarray, origin: int,
                  slot: int, strict: bool) -> np.ndarray:
    """Periods in which another promotion could move this one's scope: one on a shared channel whose
    scope meets this one's (a store-wide one meets every scope) — and, when `strict`, a store-wide
    one on any channel, which moves the comparison. An evergreen one (a welcome code) is normal
    trading, not a spike."""
    busy = np.zeros(len(periods), dtype=bool)
    channels = set(as_list(promotion.scope_channels))
    skus, categories = set(as_list(promotion.scope_skus)), set(as_list(promotion.scope_categories))
    first = origin + periods * DAY_HOURS
    for other in others.itertuples(index=False):  # a promotion has a handful of neighbours in time
        if other.promotion_id == promotion.promotion_id or is_evergreen(other.starts_at, other.ends_at):
            continue
        their_skus, their_categories = set(as_list(other.scope_skus)), set(as_list(other.scope_categories))
        store_wide = not their_skus and not their_categories
        theirs = set(as_list(other.scope_channels))
        shares_channel = not channels or not theirs or bool(channels & theirs)
        meets_scope = store_wide or not (skus or categories) or bool(skus & their_skus) or \
            bool(categories & their_categories) or bool(categories & _categories_of(cube, their_skus)) or \
            bool(their_categories & _categories_of(cube, skus))
        if not ((shares_channel and meets_scope) or (strict and store_wide)):
            continue
        busy |= (first < cube.hour_of(pd.Timestamp(other.ends_at))) & \
            (first + slot > cube.hour_of(pd.Timestamp(other.starts_at)))
    return busy


def _categories_of(cube: Cube, skus: set[str]) -> set[str]:
    if not skus:
        return set()
    key = frozenset(skus)
    if key not in cube.category_cache:  # neighbours recur: each is some other promotion's too
        codes = cube.skus.get_indexer(list(skus))
        cube.category_cache[key] = set(cube.categories[cube.sku_category[codes[codes >= 0]]])
    return cube.category_cache[key]


def _first_data_hour(cube: Cube) -> int:
    return int(cube.hour[0]) if len(cube.hour) else 0
