"""Daily demand per item (SKU × location), its class and its forecast — vectorised over items.

Input is a matrix `units[item, day]` of net units sold (sales − returns, cancellations excluded)
and a matrix `in_stock[item, day]`. A day on which the item was out of stock is *censored*: the
shop could not sell, so a zero there says nothing about demand. Censored days are left out of
every statistic (not imputed as zero), and how many there were is reported.

Classes follow Syntetos, Boylan & Croston (2005): with ADI the average interval between days
with demand and CV² the squared coefficient of variation of the non-zero demand sizes,
smooth (ADI < 1.32, CV² < 0.49), erratic (ADI < 1.32), intermittent (CV² < 0.49), lumpy otherwise.
Smooth and erratic items are forecast by the mean of their observed days; intermittent and lumpy
ones by SBA, Croston's method with the Syntetos–Boylan bias correction, which is made for
demand that is mostly zeros.

Loops run over days (a few hundred), never over items (tens of thousands).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

ADI_CUTOFF = 1.32
CV2_CUTOFF = 0.49
CLASSES = np.array(["smooth", "erratic", "intermittent", "lumpy", "no demand"], dtype=object)


@dataclass(frozen=True)
class DemandProfile:
    """One entry per item."""

    observed_days: np.ndarray     # days in stock, counted
    censored_days: np.ndarray     # days out of stock, left out
    demand_days: np.ndarray       # observed days with a sale
    units: np.ndarray             # net units over the observed days
    mean: np.ndarray              # units per observed day
    std: np.ndarray               # standard deviation of daily units over observed days (0 with < 2 days)
    adi: np.ndarray               # average inter-demand interval (NaN without demand)
    cv2: np.ndarray               # squared coefficient of variation of non-zero sizes (NaN without demand)
    demand_class: np.ndarray      # one of CLASSES
    forecast: np.ndarray          # expected units per day
    method: np.ndarray            # "mean" | "sba" | "none"


def profile(units: np.ndarray, in_stock: np.ndarray, *, alpha: float = 0.1) -> DemandProfile:
    """Demand statistics of each row of `units` (items × days), using only in-stock days."""
    units = np.asarray(units, dtype=np.float64)
    observed = np.asarray(in_stock, dtype=bool)
    if units.shape != observed.shape:
        raise ValueError(f"units {units.shape} and in_stock {observed.shape} must have the same shape")
    counted = np.where(observed, units, 0.0)
    observed_days = observed.sum(axis=1)
    censored_days = units.shape[1] - observed_days
    selling = observed & (units > 0)
    demand_days = selling.sum(axis=1)
    total = counted.sum(axis=1)

    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(observed_days > 0, total / observed_days, 0.0)
        squares = np.where(observed, (units - mean[:, None]) ** 2, 0.0).sum(axis=1)
        std = np.where(observed_days > 1, np.sqrt(squares / (observed_days - 1)), 0.0)
        adi = np.where(demand_days > 0, observed_days / demand_days, np.nan)
        sizes = np.where(selling, units, 0.0)
        size_mean = np.where(demand_days > 0, sizes.sum(axis=1) / demand_days, np.nan)
        size_var = np.where(demand_days > 1, np.where(selling, (units - size_mean[:, None]) ** 2, 0.0).sum(axis=1)
                            / (demand_days - 1), 0.0)
        cv2 = np.where(demand_days > 0, size_var / size_mean ** 2, np.nan)

    frequent = adi < ADI_CUTOFF
    steady = cv2 < CV2_CUTOFF
    code = np.where(frequent, np.where(steady, 0, 1), np.where(steady, 2, 3))
    code = np.where(demand_days > 0, code, 4)
    demand_class = CLASSES[code]

    intermittent = (code == 2) | (code == 3)
    forecast = np.where(intermittent, sba(units, observed, alpha=alpha), mean)
    forecast = np.where(demand_days > 0, np.maximum(forecast, 0.0), 0.0)
    method = np.where(demand_days == 0, "none", np.where(intermittent, "sba", "mean")).astype(object)
    return DemandProfile(observed_days, censored_days, demand_days, total, mean, std, adi, cv2,
                         demand_class, forecast, method)


def sba(units: np.ndarray, in_stock: np.ndarray, *, alpha: float = 0.1) -> np.ndarray:
    """Croston's method with the Syntetos–Boylan correction, per row: (1 − α/2) · z / p.

    z smooths the non-zero demand sizes and p the intervals between them (counted in observed
    days: a censored day neither ends nor lengthens an interval). Both start at their first
    observation. Rows without demand get NaN.
    """
    units = np.asarray(units, dtype=np.float64)
    observed = np.asarray(in_stock, dtype=bool)
    items = units.shape[0]
    size = np.full(items, np.nan)
    interval = np.full(items, np.nan)
    since = np.zeros(items)  # observed days since the last demand, including the current one
    for day in range(units.shape[1]):
        seen = observed[:, day]
        since = since + seen
        hit = seen & (units[:, day] > 0)
        first = hit & np.isnan(size)
        later = hit & ~first
        size = np.where(first, units[:, day], size)
        interval = np.where(first, since, interval)
        size = np.where(later, size + alpha * (units[:, day] - size), size)
        interval = np.where(later, interval + alpha * (since - interval), interval)
        since = np.where(hit, 0.0, since)
    return (1 - alpha / 2) * size / interval


def idle_in_stock_days(units: np.ndarray, in_stock: np.ndarray) -> np.ndarray:
    """Per row: in-stock days since the last sale (all in-stock days if it never sold). Days out
    of stock neither count nor break the run: nobody could buy the item then."""
    units = np.asarray(units, dtype=np.float64)
    observed = np.asarray(in_stock, dtype=bool)
    days = units.shape[1]
    sold = observed & (units > 0)
    last_sale = np.where(sold.any(axis=1), days - 1 - np.argmax(sold[:, ::-1], axis=1), -1)
    after = np.arange(days)[None, :] > last_sale[:, None]
    return (observed & after).sum(axis=1)
