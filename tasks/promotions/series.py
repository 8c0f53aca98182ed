"""Daily sales per channel and SKU (the cube), and each promotion's groups cut out of it.

For a promotion, over [start − pre_days, end + post_days):
- scope: its channels × its SKUs or categories (every SKU when it names none);
- siblings: the same channels' other SKUs of the categories in scope (none for a store-wide one);
- control: everything else — other categories, and other channels' sales of the same SKUs.
Pre-period days on which another promotion ran on an overlapping channel are left out of the
baseline, so one promotion's spike is not the next one's "normal".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

import numpy as np
import pandas as pd

from tasks.promotions.calendar import as_list
from tasks.promotions.review import ReviewSettings, Series

DAY = pd.Timedelta(days=1)


@dataclass
class Cube:
    """Daily kept units, margin at list price and net sales per (channel, SKU), sorted by day."""

    start: pd.Timestamp          # day 0 (UTC midnight)
    day: np.ndarray              # day number of each row
    source: np.ndarray
    sku: np.ndarray
    category: np.ndarray
    units: np.ndarray
    margin: np.ndarray
    net: np.ndarray

    def rows_between(self, first_day: int, end_day: int) -> slice:
        return slice(int(np.searchsorted(self.day, first_day, "left")), int(np.searchsorted(self.day, end_day, "left")))


def build_cube(lines: pd.DataFrame, unit_costs: pd.Series, categories: pd.Series, start: pd.Timestamp) -> Cube:
    """lines: source, sku, created_at (UTC), quantity, refunded_quantity, unit_price, line_total."""
    kept = (lines["quantity"] - lines["refunded_quantity"]).clip(lower=0).astype(float)
    share = kept / lines["quantity"].where(lines["quantity"] > 0)
    cost = pd.to_numeric(lines["sku"].map(unit_costs), errors="coerce").astype(float)
    frame = pd.DataFrame({
        "day": ((lines["created_at"] - start) // DAY).astype(np.int64),
        "source": lines["source"], "sku": lines["sku"],
        "units": kept,
        # No cost known: the margin is unknown too, and counting the price as margin would flatter.
        "margin": (kept * (lines["unit_price"] - cost)).fillna(0.0),
        "net": (lines["line_total"] * share).fillna(0.0),
    })
    daily = frame.groupby(["day", "source", "sku"], sort=True, observed=True).sum().reset_index()
    return Cube(start, daily["day"].to_numpy(), daily["source"].to_numpy(dtype=object),
                daily["sku"].to_numpy(dtype=object),
                daily["sku"].map(categories).fillna("").to_numpy(dtype=object),
                daily["units"].to_numpy(float), daily["margin"].to_numpy(float), daily["net"].to_numpy(float))


def promotion_series(cube: Cube, promotion, others: pd.DataFrame, as_of: date,
                     settings: ReviewSettings) -> tuple[Series, bool]:
    """The promotion's daily series up to the end of `as_of`, and whether it was still running then."""
    start, end = pd.Timestamp(promotion.starts_at), pd.Timestamp(promotion.ends_at)
    as_of_end = pd.Timestamp(datetime.combine(as_of + timedelta(days=1), time(0), tzinfo=timezone.utc))
    first_day = _day(cube, start.floor("D")) - settings.pre_days
    promo_first, promo_end = _day(cube, start.floor("D")), _day(cube, (end - pd.Timedelta(1)).floor("D")) + 1
    last_day = min(promo_end + settings.post_days, _day(cube, as_of_end))
    span = max(last_day - first_day, 0)
    days = np.arange(first_day, first_day + span)
    during = (days >= promo_first) & (days < promo_end)
    post = days >= promo_end
    pre = (days < promo_first) & ~_busy_days(cube, promotion, others, days)

    rows = cube.rows_between(first_day, first_day + span)
    source, sku, category = cube.source[rows], cube.sku[rows], cube.category[rows]
    channels, skus, categories = (as_list(promotion.scope_channels), as_list(promotion.scope_skus),
                                  as_list(promotion.scope_categories))
    on_channel = np.isin(source, channels) if channels else np.ones(len(source), dtype=bool)
    restricted = bool(skus or categories)
    in_scope = on_channel & ((np.isin(sku, skus) | np.isin(category, categories)) if restricted else True)
    scope_categories = np.unique(category[in_scope]) if restricted else np.array([], dtype=object)
    sibling = on_channel & ~in_scope & np.isin(category, scope_categories) if restricted else \
        np.zeros(len(source), dtype=bool)
    control = ~in_scope & ~sibling
    position = cube.day[rows] - first_day

    def total(mask: np.ndarray, values: np.ndarray) -> np.ndarray:
        return np.bincount(position[mask], weights=values[rows][mask], minlength=span)[:span]

    has_control = bool(control.any())
    control_skus = len(set(zip(source[control], sku[control]))) if has_control else 0
    series = Series(
        scope_units=total(in_scope, cube.units), scope_margin=total(in_scope, cube.margin),
        scope_net=total(in_scope, cube.net),
        control_units=total(control, cube.units) if has_control else None,
        control_margin=total(control, cube.margin) if has_control else None,
        control_net=total(control, cube.net) if has_control else None,
        sibling_margin=total(sibling, cube.margin) if sibling.any() else None,
        sibling_control_margin=total(control, cube.margin) if sibling.any() and has_control else None,
        pre=pre, during=during, post=post, control_skus=control_skus,
    )
    return series, bool(end > as_of_end)


def _busy_days(cube: Cube, promotion, others: pd.DataFrame, days: np.ndarray) -> np.ndarray:
    """Days on which another promotion ran on a channel this one shares (all channels share)."""
    busy = np.zeros(len(days), dtype=bool)
    channels = set(as_list(promotion.scope_channels))
    for other in others.itertuples(index=False):  # a promotion has a handful of neighbours in time
        if other.promotion_id == promotion.promotion_id:
            continue
        theirs = set(as_list(other.scope_channels))
        if channels and theirs and not channels & theirs:
            continue
        first = _day(cube, pd.Timestamp(other.starts_at).floor("D"))
        end = _day(cube, (pd.Timestamp(other.ends_at) - pd.Timedelta(1)).floor("D")) + 1
        busy |= (days >= first) & (days < end)
    return busy


def _day(cube: Cube, moment: pd.Timestamp) -> int:
    return int((moment - cube.start) // DAY)

