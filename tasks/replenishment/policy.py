"""From a demand forecast to a reorder decision, per item, vectorised (SPEC §4 "Replenishment").

    inventory position = on hand + on order − committed        (pre-sale stock is not on hand)
    safety stock       = best sellers: `best_seller_cover_days` × daily forecast
                         others: z · σ_d · √L, or z · √(L·σ_d² + d²·σ_L²) when σ_L is known;
                         intermittent demand: a count quantile with those moments, less the mean
    reorder point      = d · L + safety stock
    order-up-to level  = reorder point + d · review days
    suggested quantity = order-up-to − position when position ≤ reorder point, rounded up to the
                         pack size, then raised to the minimum order quantity

Best sellers are the turnover tier "A": the SKUs that, ranked by revenue, make up the first
`best_seller_revenue_share` (80%) of it. Their safety stock is the handbook's fixed cover,
because the formula under-protects the items whose stock-outs cost the most revenue.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import nbinom, norm, poisson

LEVELS = np.array(["ok", "watch", "warning", "critical"], dtype=object)


@dataclass(frozen=True)
class PolicySettings:
    best_seller_revenue_share: float = 0.8
    best_seller_cover_days: float = 15.0
    service_level: float = 0.95
    review_days: float = 7.0          # an order should cover demand until the next review
    target_cover_days: float = 30.0   # below this many days of cover: watch
    hysteresis: float = 0.1           # a level held yesterday is kept until its threshold is cleared by 10%


def best_sellers(revenue: np.ndarray, share: float) -> np.ndarray:
    """Tier A: the highest-revenue items whose cumulative revenue, counted before each item, is
    below `share` of the total (so the item that crosses the line is still in). No revenue → no."""
    revenue = np.nan_to_num(np.asarray(revenue, dtype=np.float64))
    total = revenue.sum()
    tier = np.zeros(revenue.shape, dtype=bool)
    if total <= 0:
        return tier
    order = np.argsort(-revenue, kind="stable")
    before = np.concatenate([[0.0], np.cumsum(revenue[order])[:-1]])
    tier[order] = (before < share * total) & (revenue[order] > 0)
    return tier


def safety_stock(forecast, std, lead_days, lead_std_days, best_seller, settings: PolicySettings, intermittent=None):
    """Units of safety stock and the rule that set them.

    Best sellers: the fixed cover. Others: the service-level quantile of demand over the lead
    time, with mean d·L and variance L·σ_d² (+ d²·σ_L² when the lead time varies). For smooth and
    erratic demand that is the normal z·σ·√L (or its combined form). Intermittent demand — a few
    units on a few days — is counted, not continuous: the normal curve puts too little weight on
    the two or three orders that empty the shelf, so it takes the quantile of a negative binomial
    with those moments (a Poisson when the variance is not above the mean).
    """
    forecast, std = np.asarray(forecast, float), np.asarray(std, float)
    lead, lead_std = np.asarray(lead_days, float), np.asarray(lead_std_days, float)
    counted = np.zeros(forecast.shape, bool) if intermittent is None else np.asarray(intermittent, bool)
    z = norm.ppf(settings.service_level)
    variable_lead = np.isfinite(lead_std) & (lead_std > 0)
    variance = lead * std ** 2 + forecast ** 2 * np.where(variable_lead, lead_std, 0.0) ** 2
    formula = z * np.sqrt(variance)
    mean = forecast * lead
    formula = np.where(counted, _count_quantile(mean, variance, settings.service_level) - mean, formula)
    units = np.where(best_seller, settings.best_seller_cover_days * forecast, np.maximum(formula, 0.0))
    spread = np.where(variable_lead, "service level with lead-time variability", "service level")
    rule = np.where(best_seller, f"{settings.best_seller_cover_days:g} days of cover (best seller)",
                    np.where(counted, np.char.add(spread.astype(str), " (counted demand)"), spread))
    return units, rule.astype(object)


def _count_quantile(mean: np.ndarray, variance: np.ndarray, level: float) -> np.ndarray:
    """The `level` quantile of a count with this mean and variance: negative binomial when
    over-dispersed, Poisson otherwise (0 without demand)."""
    mean, variance = np.asarray(mean, float), np.asarray(variance, float)
    over = variance > mean * (1 + 1e-9)
    with np.errstate(divide="ignore", invalid="ignore"):
        size = np.where(over, mean ** 2 / (variance - mean), 1.0)
        success = np.where(over, size / (size + mean), 0.5)
    negative_binomial = nbinom.ppf(level, np.where(over & (mean > 0), size, 1.0), np.where(over & (mean > 0), success, 0.5))
    poisson_quantile = poisson.ppf(level, np.maximum(mean, 1e-12))
    return np.where(mean > 0, np.where(over, negative_binomial, poisson_quantile), 0.0)


def order_quantity(position, reorder_point, order_up_to, pack_size, moq):
    """Units to order now and why the number is what it is (rounding is always explained)."""
    position, reorder_point, order_up_to = (np.asarray(a, float) for a in (position, reorder_point, order_up_to))
    pack = np.maximum(np.asarray(pack_size, dtype=np.int64), 1)
    moq = np.maximum(np.asarray(moq, dtype=np.int64), 1)
    needed = np.where(position <= reorder_point, np.maximum(order_up_to - position, 0.0), 0.0)
    raw = np.ceil(needed - 1e-9).astype(np.int64)
    packed = -(-raw // pack) * pack
    quantity = np.where(raw > 0, np.maximum(packed, -(-moq // pack) * pack), 0)
    reasons = np.full(position.shape, "", dtype=object)
    reasons = np.where(raw == 0, np.select(
        [position > reorder_point, order_up_to <= 0], ["above the reorder point", "no demand to cover"],
        "at the reorder point but already up to target"), reasons)
    rounded = (raw > 0) & (packed > raw)
    raised = (raw > 0) & (quantity > packed)
    ordered = raw > 0
    text = np.char.add(np.char.add("need ", raw.astype(str)), " units")
    reasons = np.where(ordered, text.astype(object), reasons)
    reasons = np.where(rounded, reasons + np.char.add("; rounded up to packs of ", pack.astype(str)).astype(object),
                       reasons)
    reasons = np.where(raised, reasons + np.char.add("; raised to the minimum order of ", moq.astype(str)).astype(object),
                       reasons)
    return quantity, reasons


@dataclass(frozen=True)
class Decision:
    inventory_position: np.ndarray
    safety_stock: np.ndarray
    safety_rule: np.ndarray
    reorder_point: np.ndarray
    order_up_to: np.ndarray
    quantity: np.ndarray
    quantity_reason: np.ndarray
    days_of_cover: np.ndarray     # on hand / daily forecast (inf without demand)
    level: np.ndarray             # ok | watch | warning | critical, after hysteresis
    raw_level: np.ndarray         # what today's numbers alone say
    level_reason: np.ndarray
    revenue_at_risk: np.ndarray   # forecast sales lost before an order placed today arrives


def decide(*, on_hand, on_order, committed, forecast, std, lead_days, lead_std_days, pack_size, moq,
           unit_price, best_seller, settings: PolicySettings, previous_level=None, intermittent=None) -> Decision:
    """`previous_level`: yesterday's level per item as a code (0 ok … 3 critical), None if unknown;
    `intermittent`: items whose demand is counted rather than continuous (see safety_stock)."""
    on_hand = np.asarray(on_hand, float)
    forecast = np.asarray(forecast, float)
    lead = np.asarray(lead_days, float)
    position = on_hand + np.asarray(on_order, float) - np.asarray(committed, float)
    ss, rule = safety_stock(forecast, std, lead, lead_std_days, best_seller, settings, intermittent)
    reorder_point = forecast * lead + ss
    order_up_to = reorder_point + forecast * settings.review_days
    quantity, why = order_quantity(position, reorder_point, order_up_to, pack_size, moq)

    with np.errstate(divide="ignore", invalid="ignore"):
        cover = np.where(forecast > 0, np.maximum(on_hand, 0.0) / forecast, np.inf)
        position_cover = np.where(forecast > 0, np.maximum(position, 0.0) / forecast, np.inf)

    def level_at(margin: float) -> np.ndarray:
        """0 ok … 3 critical, with every threshold widened by `margin` (0: the plain rule)."""
        selling = forecast > 0
        critical = selling & (position_cover < lead * (1 + margin))
        warning = selling & (position <= reorder_point * (1 + margin))
        watch = cover < settings.target_cover_days * (1 + margin)
        return np.select([critical, warning, watch], [3, 2, 1], 0)

    raw = level_at(0.0)
    # Hysteresis: a level reached yesterday is kept while the item is still within `hysteresis`
    # of that level's threshold, so noise around a threshold does not flip the alert every day.
    # Rising is immediate; falling needs the threshold cleared by the margin.
    previous = np.zeros(raw.shape, dtype=np.int64) if previous_level is None else np.asarray(previous_level)
    code = np.maximum(raw, np.minimum(previous, level_at(settings.hysteresis)))
    held = code > raw
    level = LEVELS[code]
    reason = np.select(
        [code == 3, code == 2, code == 1],
        ["stock runs out before an order placed today can arrive",
         "inventory position at or below the reorder point",
         f"less than {settings.target_cover_days:g} days of cover"], "").astype(object)
    reason = np.where(held, reason + f" (held from the day before: within {settings.hysteresis:.0%} of the "
                                     "threshold)", reason)
    short_days = np.where(code == 3, np.maximum(lead - position_cover, 0.0), 0.0)
    revenue_at_risk = short_days * forecast * np.nan_to_num(np.asarray(unit_price, float))
    return Decision(position, ss, rule, reorder_point, order_up_to, quantity, why, cover, level, LEVELS[raw], reason,
                    revenue_at_risk)


@dataclass(frozen=True)
class SlowMoverSettings:
    idle_days: int = 30            # no sale for this many in-stock days → delisting warning
    new_listing_days: int = 30     # listings younger than this are exempt
    clearance_margin: float = 0.40  # room to discount: clear it
    bundle_margin: float = 0.15     # some room: bundle it with a seller; below: promote off-site
    return_rate: float = 0.2        # more of what sold came back than this → delisting warning
    return_min_units: int = 10      # …once this many units sold (fewer say nothing)
    complaint_rate: float = 0.05    # complaints per unit sold above this (support desk, 90 days) → warning
    complaint_min: int = 3          # …once this many complaints


def slow_movers(idle_days, velocity, margin, listed_days, presale, on_hand, sold_units, returned_units,
                settings: SlowMoverSettings, complaints=None, complaint_cause=None, complaint_units=None):
    """Delisting warnings and what to do with each slow mover.

    Flagged: `idle_days` in-stock days without a sale while it is in stock now, unless the
    listing is new or pre-sale, or the SKU was not listed at the date (`listed_days` NaN or
    negative: stock of a SKU no shop lists cannot be delisted). An item out of stock now is a stock-out to fix, not dead stock.
    Score (0–100, higher is worse): how long it has been idle beyond the threshold (up to twice
    it) weighed with how little it sells (velocity against one unit a week). The action follows
    the margin: clearance when there is room to discount, a bundle when there is some, an
    off-site promotion when a discount would sell at a loss.
    Returns: an item whose returned share of `sold_units` passes `return_rate`, once at least
    `return_min_units` sold, is warned too (new listings included: returns are a quality signal).
    Complaints: so is one with at least `complaint_min` complaints at the support desk and more than
    `complaint_rate` of them per unit sold (`complaint_units`, the desk's window), naming the most
    frequent cause.
    """
    idle, velocity = np.asarray(idle_days, float), np.nan_to_num(np.asarray(velocity, float))
    margin = np.asarray(margin, float)
    listed_days = np.asarray(listed_days, float)
    unlisted = ~np.isfinite(listed_days) | (listed_days < 0)  # not in the catalogue (yet) at the date
    new = ~unlisted & (listed_days < settings.new_listing_days)
    exempt = unlisted | new | np.asarray(presale, bool)
    flagged = ~exempt & (idle >= settings.idle_days) & (np.asarray(on_hand, float) > 0)
    idleness = np.clip(idle / (2 * settings.idle_days), 0, 1)
    slowness = 1 - np.clip(velocity * 7, 0, 1)
    score = np.where(flagged, np.round(100 * (0.5 * idleness + 0.5 * slowness)), 0).astype(np.int64)
    action = np.select([~flagged, ~np.isfinite(margin), margin >= settings.clearance_margin,
                        margin >= settings.bundle_margin],
                       ["", "review (no cost known)", "clearance", "bundle"], "off-site promotion").astype(object)
    reason = np.where(flagged, np.char.add(np.char.add("no sale in ", idle.astype(np.int64).astype(str)),
                                           " in-stock days").astype(object), "")
    reason = np.select([unlisted, new, np.asarray(presale, bool)],
                       ["not listed at the date: exempt", "new listing: exempt", "pre-sale: exempt"], reason)

    sold, returned = np.asarray(sold_units, float), np.asarray(returned_units, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = np.where(sold > 0, returned / sold, np.nan)
    returns = (sold >= settings.return_min_units) & (rate > settings.return_rate) & ~np.asarray(presale, bool)
    returns_text = np.char.add(np.char.add(np.char.add("returns: ", returned.astype(np.int64).astype(str)), " of "),
                               np.char.add(sold.astype(np.int64).astype(str), " units sold came back")).astype(object)
    reason = np.where(returns, np.where(flagged, reason + "; " + returns_text, returns_text), reason)
    action = np.where(returns & ~flagged, "review returns", action)
    if complaints is None:
        return flagged | returns, score, action.astype(object), reason.astype(object)
    count = np.nan_to_num(np.asarray(complaints, float))
    units = np.nan_to_num(np.asarray(complaint_units, float))
    with np.errstate(divide="ignore", invalid="ignore"):
        per_unit = np.where(units > 0, count / units, np.inf)
    complained = (count >= settings.complaint_min) & (per_unit > settings.complaint_rate)
    cause = pd.Series(complaint_cause, dtype=object).fillna("other").str.replace("_", " ").to_numpy()
    complaint_text = pd.Series(count.astype(np.int64).astype(str)).radd("complaints: ").add(
        " on " + pd.Series(units.astype(np.int64).astype(str)) + " units sold, mostly " + pd.Series(cause)).to_numpy()
    earlier = flagged | returns
    reason = np.where(complained, np.where(earlier, reason + "; " + complaint_text, complaint_text), reason)
    action = np.where(complained & ~earlier, "review complaints", action)
    return earlier | complained, score, action.astype(object), reason.astype(object)
