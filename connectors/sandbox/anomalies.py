"""The dirt real feeds carry: duplicated listings, malformed records, versions that show up late."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .wire import NEVER

MALFORMED_KINDS = ("missing_id", "negative_quantity", "unknown_sku", "bad_money", "impossible_date",
                   "missing_lines")
NOT_MALFORMED = -1
MALFORMED_VARIANTS = 3  # e.g. which money field is garbled, or which way a date is impossible
LATE_MINUTES = (10, 90)


@dataclass
class Anomalies:
    duplicated: np.ndarray        # bool per order: listed twice in a row
    malformed: np.ndarray         # int8 index into MALFORMED_KINDS, NOT_MALFORMED if clean
    malformed_variant: np.ndarray  # int8 in [0, MALFORMED_VARIANTS)
    visibility_lag: np.ndarray    # (n, 4) int32 seconds a version stays hidden after its instant


def draw_anomalies(rng: np.random.Generator, event_time: np.ndarray, rates: dict[str, float]) -> Anomalies:
    n = len(event_time)
    duplicated = rng.random(n) < rates["duplicate"]
    is_malformed = rng.random(n) < rates["malformed"]
    kind = rng.integers(0, len(MALFORMED_KINDS), n)
    malformed = np.where(is_malformed, kind, NOT_MALFORMED).astype(np.int8)
    variant = rng.integers(0, MALFORMED_VARIANTS, n).astype(np.int8)
    late = (rng.random(event_time.shape) < rates["late_visibility"]) & (event_time != NEVER)
    lag = rng.integers(LATE_MINUTES[0], LATE_MINUTES[1] + 1, event_time.shape) * 60  # whole minutes
    visibility_lag = np.where(late, lag, 0).astype(np.int32)
    return Anomalies(duplicated, malformed, variant, visibility_lag)


def draw_deletions(rng: np.random.Generator, event_time: np.ndarray, rate: float) -> np.ndarray:
    """When each order is deleted by the merchant (NEVER for almost all): an hour to ten days after
    its last event, so the order has been listed, and perhaps loaded, before it goes."""
    n = len(event_time)
    if rate <= 0:
        return np.full(n, NEVER, dtype=np.int64)
    last = np.where(event_time == NEVER, -1, event_time).max(axis=1)
    chosen = rng.random(n) < rate
    delay = rng.integers(3600, 10 * 86400, n)
    return np.where(chosen, last + delay, NEVER).astype(np.int64)
