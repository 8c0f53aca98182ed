"""One small sandbox for the contract tests (module-scoped: generation is the slow part)."""

from datetime import datetime, timedelta, timezone

import pandas as pd
import pytest

from connectors.http import RetryPolicy
from connectors.sandbox import Sandbox, SandboxConfig, StoreConfig
from connectors.sources import parse_sources

ANCHOR = datetime(2026, 11, 20, tzinfo=timezone.utc)
DAYS = 21  # covers the US change from daylight saving time on 2026-11-01
FAST_RETRIES = RetryPolicy(connect_timeout=2, read_timeout=5, max_attempts=5, backoff_base=0.01, backoff_max=0.05,
                           rate_limit_max_wait=30)


def small_config(**overrides) -> SandboxConfig:
    settings = dict(
        seed=11, anchor=ANCHOR, days=DAYS, skus=300,
        stores=[StoreConfig("shop-us", "shopify", "America/New_York", "USD", 40),
                StoreConfig("woo-eu", "woocommerce", "Europe/Paris", "EUR", 30)],
        # A small fast bucket: pacing is exercised without slowing the suite down.
        rate_limit_bucket=10, rate_limit_leak_per_second=20.0,
        # Ten times the default malformed share, so every kind of damage shows up in a small history.
        anomalies={"malformed": 0.03},
    )
    settings.update(overrides)
    return SandboxConfig(**settings)


@pytest.fixture(scope="module")
def sandbox():
    with Sandbox(small_config()) as running:
        yield running


@pytest.fixture
def fresh_sandbox(sandbox, monkeypatch):
    """The shared sandbox with its clock at the anchor, no faults armed, and its credentials set."""
    sandbox.clock.set(ANCHOR)
    sandbox.faults.clear()
    for name, value in sandbox.credentials().items():
        monkeypatch.setenv(name, value)
    yield sandbox
    sandbox.faults.clear()
    sandbox.clock.set(ANCHOR)


def source_config(sandbox, name: str, **options):
    entry = next(s for s in sandbox.sources() if s["name"] == name)
    entry = {**entry, **options}
    return parse_sources({"sources": [entry]})[0]


def truth_in_window(sandbox, store: str, start, end, now=None) -> pd.DataFrame:
    orders = sandbox.truth(store).orders(now)
    inside = orders["visible"] & (orders["updated_at"] >= pd.Timestamp(start)) & (orders["updated_at"] < pd.Timestamp(end))
    return orders[inside]


def window(days_back: int, days_long: int):
    start = ANCHOR - timedelta(days=days_back)
    return start, start + timedelta(days=days_long)
