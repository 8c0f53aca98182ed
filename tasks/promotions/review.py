"""What a promotion did: its sales against a baseline, the dip after, the siblings' loss, its cost,
ROI and a verdict with the uncertainty — from daily series, so it is the same for every type.

Baseline (difference in differences, in ratio form): the promoted scope sold `k` times what the
comparable SKUs sold over the pre-period (days with another promotion on the channel left out);
during the promotion its baseline is `k` × what those SKUs sold then, so a season or a weekday that
moves both cancels out. Without comparable SKUs it is the pre-period's daily average. The
uncertainty comes from how well the baseline tracked the scope before: the residuals' spread over
the pre-period, scaled to the length of the promotion (and for the error in `k` itself).

Money is margin at list price (gross − units × cost), so the discount is counted once, as a cost:
profit change = incremental margin − (discount + gift + shipping), ROI = that / cost. The
incremental margin nets the scope's lift with the dip of the days after (sales pulled forward)
and the siblings' loss (sales taken from SKUs of the same categories that were not promoted);
a rise after or beside it is not credited to it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

REPEAT, ADJUST, STOP, NOT_ENOUGH = "repeat", "adjust", "stop", "not enough data"


@dataclass(frozen=True)
class ReviewSettings:
    pre_days: int = 28           # clean days before the start that make the baseline
    lookback_days: int = 90      # how far back those days are looked for (other promotions' days skipped)
    post_days: int = 14          # days after the end in which a dip (pull-forward) is looked for
    min_pre_days: int = 14       # fewer clean pre-period days: not enough data
    min_orders: int = 20         # fewer attributed orders: not enough data
    repeat_days: int = 60        # a new customer "repeats" with another order within this many days
    z: float = 1.96              # two-sided 95% interval
    share_that_explains: float = 0.5  # the dip or the siblings' loss eating this much of the lift is the reason


@dataclass
class Series:
    """Daily values over [pre-period start, post-period end): one array per measure and group."""

    scope_units: np.ndarray
    scope_margin: np.ndarray
    scope_net: np.ndarray                 # sales net of discounts and refunds
    control_units: np.ndarray | None      # comparable SKUs (None: there are none)
    control_margin: np.ndarray | None
    control_net: np.ndarray | None
    sibling_margin: np.ndarray | None     # same categories, not promoted (None: store-wide promotion)
    sibling_control_margin: np.ndarray | None
    pre: np.ndarray                       # masks over the days
    during: np.ndarray
    post: np.ndarray
    control_skus: int = 0


@dataclass
class Estimate:
    actual: float
    baseline: float
    se: float
    method: str

    @property
    def lift(self) -> float:
        return self.actual - self.baseline


@dataclass
class Costs:
    orders: int
    units: int
    discount: float
    gift: float
    shipping: float
    new_customers: int
    new_customer_repeat_rate: float | None

    @property
    def total(self) -> float:
        return self.discount + self.gift + self.shipping


def baseline_curve(target: np.ndarray, control: np.ndarray | None, pre: np.ndarray) -> tuple[np.ndarray, str]:
    """What `target` would have done each day without the promotion, and how that was worked out:
    scaled from the comparable SKUs, unless the plain pre-period average tracked the scope better
    before the start (a few noisy comparable SKUs add more noise than the season they remove)."""
    mean = target[pre].mean() if pre.any() else float("nan")
    flat = np.full(len(target), mean)
    if control is not None and control[pre].sum() > 0:
        scaled = target[pre].sum() / control[pre].sum() * control
        if not _spread(target, flat, pre) < _spread(target, scaled, pre):  # ties and NaN: the comparison
            return scaled, "difference in differences"
        return flat, "pre-period daily average (it tracked the scope better than the comparable SKUs)"
    return flat, "pre-period daily average (no comparable SKUs)"


def estimate(target: np.ndarray, control: np.ndarray | None, pre: np.ndarray, period: np.ndarray,
             control_skus: int = 0) -> Estimate:
    """Actual and baseline of `target` summed over `period`, and the baseline's standard error."""
    n_pre, n = int(pre.sum()), int(period.sum())
    actual = float(target[period].sum())
    if n == 0 or n_pre < 2:
        return Estimate(actual, float("nan"), float("nan"), "no pre-period")
    usable = control if control is not None and control[period].sum() > 0 else None
    fitted, method = baseline_curve(target, usable, pre)
    if method == "difference in differences" and control_skus:
        method += f" against {control_skus} comparable SKUs"
    se = _spread(target, fitted, pre) * np.sqrt(n) * np.sqrt(1 + n / n_pre)
    return Estimate(actual, float(fitted[period].sum()), se, method)


def _spread(target: np.ndarray, fitted: np.ndarray, pre: np.ndarray) -> float:
    """Standard deviation of the daily residuals over the pre-period (NaN with fewer than two days)."""
    if pre.sum() < 2:
        return float("nan")
    return float(np.std(target[pre] - fitted[pre], ddof=1))


def review(series: Series, costs: Costs, settings: ReviewSettings = ReviewSettings(), *,
           provisional: bool = False) -> dict:
    """The review row's figures, verdict and reason (see the module's docstring)."""
    units = estimate(series.scope_units, series.control_units, series.pre, series.during, series.control_skus)
    margin = estimate(series.scope_margin, series.control_margin, series.pre, series.during, series.control_skus)
    net = estimate(series.scope_net, series.control_net, series.pre, series.during, series.control_skus)
    post = estimate(series.scope_margin, series.control_margin, series.pre, series.post, series.control_skus) \
        if series.post.any() else None
    siblings = estimate(series.sibling_margin, series.sibling_control_margin, series.pre, series.during) \
        if series.sibling_margin is not None and series.sibling_margin[series.pre].sum() > 0 else None

    parts = [margin] + [e for e in (post, siblings) if e is not None]
    # After and beside the promotion only losses count: a rise there is more likely the season
    # than the promotion's doing, and crediting it would flatter.
    incremental = margin.lift + sum(min(e.lift, 0.0) for e in parts[1:])
    se = float(np.sqrt(sum(e.se ** 2 for e in parts)))
    z, cost = settings.z, costs.total
    low, high = incremental - z * se, incremental + z * se
    roi = (incremental - cost) / cost if cost > 0 else None
    roi_low = (low - cost) / cost if cost > 0 else None
    roi_high = (high - cost) / cost if cost > 0 else None
    lift_percent = _percent(units.lift, units.baseline)
    lift_low = _percent(units.lift - z * units.se, units.baseline)
    lift_high = _percent(units.lift + z * units.se, units.baseline)

    row = {
        "provisional": provisional, "days": int(series.during.sum()), "orders": costs.orders, "units": costs.units,
        "sales": net.actual, "aov": net.actual / costs.orders if costs.orders else None,
        "new_customers": costs.new_customers, "new_customer_repeat_rate": costs.new_customer_repeat_rate,
        "conversion_rate": None, "baseline_method": units.method,
        "baseline_sales": _finite(net.baseline), "lift_sales": _finite(net.lift),
        "lift_percent": lift_percent, "lift_percent_low": lift_low, "lift_percent_high": lift_high,
        "pull_forward_margin": None if post is None else _finite(post.lift),
        "cannibalised_margin": None if siblings is None else _finite(siblings.lift),
        "discount_cost": costs.discount, "gift_cost": costs.gift, "shipping_cost": costs.shipping,
        "incremental_margin": _finite(incremental), "incremental_margin_low": _finite(low),
        "incremental_margin_high": _finite(high),
        "roi": _finite(roi), "roi_low": _finite(roi_low), "roi_high": _finite(roi_high),
    }
    row["verdict"], row["reason"] = _verdict(series, costs, settings, units, margin, post, siblings, row)
    row["inputs"] = {
        "pre_days_used": int(series.pre.sum()), "post_days_used": int(series.post.sum()),
        "control_skus": series.control_skus,
        "units": _figures(units), "margin": _figures(margin), "net_sales": _figures(net),
        "post_margin": None if post is None else _figures(post),
        "sibling_margin": None if siblings is None else _figures(siblings),
        "incremental_margin_se": _finite(se), "cost": cost, "z": z,
    }
    return row


def _verdict(series, costs, settings, units, margin, post, siblings, row) -> tuple[str, str]:
    if int(series.pre.sum()) < settings.min_pre_days:
        return NOT_ENOUGH, (f"only {int(series.pre.sum())} clean days before the start (needs "
                            f"{settings.min_pre_days}): no baseline to compare with")
    if costs.orders < settings.min_orders:
        return NOT_ENOUGH, f"only {costs.orders} orders used it (needs {settings.min_orders})"
    if not np.isfinite(units.baseline) or units.baseline <= 0:
        return NOT_ENOUGH, "the promoted SKUs did not sell before the promotion: no baseline"
    if costs.total <= 0:
        return NOT_ENOUGH, "it cost nothing that the orders show: no ROI to judge"
    lift = f"units {row['lift_percent']:+.0f}% (interval {row['lift_percent_low']:+.0f}% to " \
           f"{row['lift_percent_high']:+.0f}%)"
    money = (f"incremental margin {row['incremental_margin']:,.2f} against a cost of {costs.total:,.2f}: "
             f"ROI {row['roi']:+.2f} (interval {row['roi_low']:+.2f} to {row['roi_high']:+.2f})")
    if row["roi_low"] > 0:
        return REPEAT, f"it paid: {lift}; {money}"
    gained = margin.lift
    dip = -post.lift if post is not None else 0.0
    lost = -siblings.lift if siblings is not None else 0.0
    real_lift = row["lift_percent_low"] > 0
    if row["roi_high"] < 0:
        if real_lift and gained > 0 and dip >= settings.share_that_explains * gained:
            cause = (f"it pulled sales forward: the {int(series.post.sum())} days after lost {dip:,.2f} of the "
                     f"{gained:,.2f} margin gained")
        elif real_lift and gained > 0 and lost >= settings.share_that_explains * gained:
            cause = f"it cannibalised its siblings: they lost {lost:,.2f} of the {gained:,.2f} margin gained"
        elif not real_lift:
            cause = "no measurable lift"
        else:
            cause = "the lift does not pay for the discount"
        return STOP, f"{cause}; {lift}; {money}"
    if real_lift:
        return ADJUST, (f"the lift is real but break-even is inside the interval: {lift}; {money}; "
                        "try a smaller discount or a narrower scope")
    return ADJUST, f"too uncertain to say either way: {lift}; {money}; run it again longer or with a holdout"


def _percent(value: float, base: float) -> float | None:
    if not np.isfinite(value) or not np.isfinite(base) or base <= 0:
        return None
    return 100.0 * value / base


def _finite(value) -> float | None:
    return None if value is None or not np.isfinite(value) else float(value)


def _figures(e: Estimate) -> dict:
    return {"actual": _finite(e.actual), "baseline": _finite(e.baseline), "lift": _finite(e.lift),
            "se": _finite(e.se), "method": e.method}
