"""What the team should look at today: abnormal price moves, pages that stopped giving a price,
and how readable each competitor's site was.

A *move* is only ever between two valid prices (status `ok` on the day before and on the day),
so a sold-out page or a broken selector is never mistaken for a price change: those are their
own alerts, raised on the day the page changes to that state (not every day it stays there).
Health: readable pages (`ok` or `out_of_stock`) over the pages the site may be crawled for
(robots.txt and refused addresses do not count against it); `broken` below `broken_below`, or
when it fell by more than `drop` since the day before (a selector that stopped matching),
`degraded` below `degraded_below`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

OURS = "ours"
READABLE = ("ok", "out_of_stock")
NOT_COUNTED = ("blocked", "refused")
PROBLEMS = ("missing_price", "parse_error", "http_error")
ALERT_COLUMNS = ["sku", "competitor", "kind", "previous_price", "price", "change_percent", "detail"]


@dataclass(frozen=True)
class AlertSettings:
    move_threshold: float = 0.15     # day-over-day change that counts as abnormal
    degraded_below: float = 0.90
    broken_below: float = 0.50
    drop: float = 0.30


def moves(today: pd.DataFrame, yesterday: pd.DataFrame, who: str, threshold: float) -> pd.DataFrame:
    """Changes beyond `threshold` between two valid prices. Frames: sku, `who` (e.g. competitor),
    price, status."""
    both = today[today["status"] == "ok"].merge(yesterday[yesterday["status"] == "ok"], on=["sku", who],
                                                suffixes=("", "_before"))
    with np.errstate(divide="ignore", invalid="ignore"):
        change = (both["price"] - both["price_before"]) / both["price_before"]
    big = both[(np.abs(change) > threshold) & (both["price_before"] > 0)]
    change = change[big.index]
    return pd.DataFrame({
        "sku": big["sku"], "competitor": big[who], "kind": "price move",
        "previous_price": big["price_before"], "price": big["price"], "change_percent": 100 * change,
        "detail": np.char.add(np.where(change > 0, "up ", "down "),
                              np.char.mod("%.1f%% from the day before", 100 * np.abs(change.to_numpy()))),
    }, columns=ALERT_COLUMNS)


def became_unreadable(today: pd.DataFrame, yesterday: pd.DataFrame) -> pd.DataFrame:
    """Pages that gave a valid price the day before and today are sold out or give none."""
    was_ok = yesterday.loc[yesterday["status"] == "ok", ["sku", "competitor", "price"]]
    changed = today[today["status"].isin(("out_of_stock", *PROBLEMS))].merge(
        was_ok, on=["sku", "competitor"], suffixes=("", "_before"))
    kind = np.where(changed["status"] == "out_of_stock", "out of stock", "no price")
    return pd.DataFrame({
        "sku": changed["sku"], "competitor": changed["competitor"], "kind": kind,
        "previous_price": changed["price_before"], "price": np.nan, "change_percent": np.nan,
        "detail": np.char.add(np.char.add(changed["status"].to_numpy(dtype=str), ": "),
                              changed["detail"].fillna("").to_numpy(dtype=str)),
    }, columns=ALERT_COLUMNS)


def health(today: pd.DataFrame, previous: pd.DataFrame, last_success: pd.Series, competitors: list[str],
           settings: AlertSettings) -> pd.DataFrame:
    """One row per competitor: counts by status on the day, success rate, and a verdict.
    `previous`: yesterday's health rows (competitor, success_rate); `last_success`: competitor →
    the last day with a readable page up to today."""
    counts = pd.crosstab(today["competitor"], today["status"]).reindex(competitors, fill_value=0)
    for status in (*READABLE, *PROBLEMS, *NOT_COUNTED):
        if status not in counts:
            counts[status] = 0
    pages = counts.sum(axis=1)
    eligible = pages - counts[list(NOT_COUNTED)].sum(axis=1)
    readable = counts[list(READABLE)].sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = (readable / eligible).where(eligible > 0)
    before = previous.set_index("competitor")["success_rate"].reindex(competitors) if len(previous) else \
        pd.Series(np.nan, index=competitors)
    fell = (before - rate) > settings.drop
    status = np.select([pages == 0, rate.isna(), (rate < settings.broken_below) | fell, rate < settings.degraded_below],
                       ["not crawled", "not crawled", "broken", "degraded"], "healthy")
    worst = today[today["status"].isin(PROBLEMS)].groupby("competitor")["status"].agg(
        lambda s: s.value_counts().idxmax()).reindex(competitors)  # a handful of competitors, not rows
    detail = np.where(fell.to_numpy(), "readable pages fell from " + _pct(before) + " to " + _pct(rate)
                      + " since the day before (a page layout may have changed)",
                      np.where(status == "healthy", "", "mostly " + worst.fillna("unreadable pages").astype(str)))
    return pd.DataFrame({
        "competitor": competitors, "pages": pages.to_numpy(), "ok": counts["ok"].to_numpy(),
        "out_of_stock": counts["out_of_stock"].to_numpy(), "missing_price": counts["missing_price"].to_numpy(),
        "parse_error": counts["parse_error"].to_numpy(), "blocked": counts[list(NOT_COUNTED)].sum(axis=1).to_numpy(),
        "http_error": counts["http_error"].to_numpy(), "success_rate": rate.to_numpy(),
        "previous_success_rate": before.to_numpy(),
        "last_success_on": last_success.reindex(competitors).to_numpy(), "status": status, "detail": detail,
    })


def _pct(values: pd.Series) -> pd.Series:
    return (100 * values).round(0).astype("Int64").astype(str) + "%"
