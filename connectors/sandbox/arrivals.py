"""When orders arrive: daily rates (weekday, season, promotions) and times within the day.

Days are the store's local calendar days, so "weekend", "Black Friday" and the evening peak are
where a shop's staff would see them, DST days included (they are 23 or 25 hours long).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

from .config import SandboxConfig, StoreConfig
from .timezones import zone_table

DAY = 86_400
WEEKDAY_FACTOR = np.array([1.0, 0.95, 0.95, 1.0, 1.05, 1.2, 1.2])  # Monday .. Sunday
# Share of a day's orders per local hour: quiet nights, a lunch bump, an evening peak.
HOURLY_WEIGHTS = np.array([0.3, 0.2, 0.15, 0.1, 0.1, 0.15, 0.3, 0.6, 0.9, 1.1, 1.2, 1.3,
                           1.4, 1.3, 1.2, 1.2, 1.2, 1.3, 1.5, 1.7, 1.8, 1.6, 1.1, 0.6])
HOURLY_WEIGHTS = HOURLY_WEIGHTS / HOURLY_WEIGHTS.sum()
PROMOTION_NAMES = ("SPRING", "SUMMER", "FLASH", "WEEKEND", "VIP", "HELLO", "MIDSEASON", "PAYDAY")


@dataclass
class DayPlan:
    first_day: date
    edges: np.ndarray          # UTC epoch of each local midnight; day d is [edges[d], edges[d+1])
    rate: np.ndarray           # expected orders on each full day
    promotion_percent: np.ndarray  # line discount of the day's promotion, 0 = none
    promotion_code: list[str | None]
    promotion_multiplier: np.ndarray | None = None  # the day's order-rate multiplier (1.0 = none)


def seasonality(days_of_year: np.ndarray) -> np.ndarray:
    """Yearly curve peaking in early December (Nov-Dec gift season), quiet in late summer."""
    distance = np.abs(days_of_year - 340)
    distance = np.minimum(distance, 365 - distance)
    return 0.85 + 0.75 * np.exp(-0.5 * (distance / 22.0) ** 2)


def _black_friday(year: int) -> date:
    first = date(year, 11, 1)
    first_thursday = first + timedelta(days=(3 - first.weekday()) % 7)
    return first_thursday + timedelta(days=22)


def _window(config: SandboxConfig) -> tuple[int, int]:
    end = config.anchor_epoch
    return end - config.days * DAY, end


def plan_days(store: StoreConfig, config: SandboxConfig, rng: np.random.Generator) -> DayPlan:
    """The store's calendar. `rng` is used for promotions only, so scaling rates keeps the calendar."""
    zone = zone_table(store.timezone)
    start, end = _window(config)
    first_day = zone.local_date(start)
    count = (zone.local_date(end - 1) - first_day).days + 1
    days = [first_day + timedelta(days=d) for d in range(count)]
    edges = zone.local_midnights(first_day, count)

    weekday = np.array([d.weekday() for d in days])
    day_of_year = np.array([d.timetuple().tm_yday for d in days])
    multiplier = np.ones(count)
    percent = np.zeros(count, dtype=np.int64)
    codes: list[str | None] = [None] * count

    for index, day in enumerate(days):  # Black Friday and Cyber Monday when the window has them
        black_friday = _black_friday(day.year)
        if day == black_friday:
            multiplier[index], percent[index], codes[index] = 3.0, 25, "BLACKFRIDAY25"
        elif day == black_friday + timedelta(days=3):
            multiplier[index], percent[index], codes[index] = 2.5, 20, "CYBER20"
    free = np.flatnonzero(percent == 0)
    picks = rng.choice(free, size=min(len(free), max(1, round(count / 30))), replace=False)
    for index in sorted(picks.tolist()):
        multiplier[index] = rng.uniform(2.0, 3.0)
        percent[index] = int(rng.choice([10, 15, 20, 25, 30]))
        codes[index] = f"{PROMOTION_NAMES[int(rng.integers(len(PROMOTION_NAMES)))]}{percent[index]}"
    # A discount code is unique in a shop: a name drawn twice gets the day's number (no draw changes).
    seen: set[str] = set()
    for index, code in enumerate(codes):
        if code is not None:
            codes[index] = code if code not in seen else f"{code}-{index + 1}"
            seen.add(codes[index])

    rate = store.orders_per_day * WEEKDAY_FACTOR[weekday] * seasonality(day_of_year) * multiplier
    return DayPlan(first_day, edges, rate, percent, codes, multiplier)


def _share_in_window(plan: DayPlan, start: int, end: int) -> np.ndarray:
    """Part of each day inside [start, end): the first and last local days are cut by the window."""
    lows = np.maximum(plan.edges[:-1], start)
    highs = np.minimum(plan.edges[1:], end)
    return np.clip(highs - lows, 0, None) / np.diff(plan.edges)


def expected_order_count(config: SandboxConfig) -> float:
    from .generator import calendar_rng  # the generator's own seeding, so the calendars match

    start, end = _window(config)
    total = 0.0
    for store in config.stores:
        plan = plan_days(store, config, calendar_rng(config, store))
        total += float((plan.rate * _share_in_window(plan, start, end)).sum())
    return total


def draw_created_times(rng: np.random.Generator, plan: DayPlan, start: int, end: int) -> tuple[np.ndarray, np.ndarray]:
    """Creation instants (sorted, UTC epoch) in [start, end) and the local day index of each."""
    counts = rng.poisson(plan.rate)
    day = np.repeat(np.arange(len(counts)), counts)
    hour = rng.choice(24, size=len(day), p=HOURLY_WEIGHTS)
    wall_seconds = hour * 3600 + rng.integers(0, 3600, len(day))
    day_length = np.diff(plan.edges)[day]
    # Stretch the 24-hour curve over 23- or 25-hour DST days rather than invent missing hours.
    created = plan.edges[day] + (wall_seconds * day_length) // DAY
    inside = (created >= start) & (created < end)
    created, day = created[inside], day[inside]
    order = np.argsort(created, kind="stable")
    return created[order], day[order]
