"""Operating alerts and blocks against a real Prefect API: the freshness alert and the failure
notification through a notification block, and credentials and the warehouse URL from shopops's
own block types."""

from datetime import timedelta

import pandas as pd
import pytest

from flows.alerts import orders_freshness
from flows.daily_operations import daily_operations
from flows.ingest import ingest_orders
from shopops.blocks import MarketplaceCredentials, WarehouseConnection, register_block_types, save_reminder_block
from shopops.settings import get_settings, reset_settings_cache
from tests.contract.conftest import ANCHOR


@pytest.fixture
def alerts(configured, monkeypatch):
    """SHOPOPS_ALERT_BLOCK pointing at the sandbox's `ops` webhook; yields what arrived there."""
    block = save_reminder_block("ops-alerts", configured.notification_url("ops"))
    monkeypatch.setenv("SHOPOPS_ALERT_BLOCK", block)
    reset_settings_cache()
    before = len(configured.notifications("ops"))  # the module's sandbox is shared: only what arrives from here
    return lambda: configured.notifications("ops")[before:]


@pytest.mark.parametrize("warehouse_url", ["sqlite"], indirect=True)  # reads sync_state only
def test_the_freshness_alert_names_the_stale_sources_once_they_pass_the_limit(configured, engine, alerts):
    ingest_orders(start=ANCHOR - timedelta(days=1), end=ANCHOR)  # both sources loaded up to the anchor
    assert orders_freshness(now=ANCHOR + timedelta(hours=2, minutes=59))["stale"] == 0
    assert alerts() == []

    with pytest.raises(RuntimeError) as stale:
        orders_freshness(now=ANCHOR + timedelta(hours=4))
    message = str(stale.value)
    assert "2 source(s) have no orders loaded for more than 3 h" in message
    assert "shop-us: last loaded 4.0 h ago (2026-11-20 00:00 UTC)" in message
    assert "woo-eu: last loaded 4.0 h ago (2026-11-20 00:00 UTC)" in message
    received = alerts()
    assert len(received) == 1
    assert received[0]["body"]["subject"].startswith("shopops: orders freshness")
    assert "shop-us: last loaded 4.0 h ago" in received[0]["body"]["body"]


@pytest.mark.parametrize("warehouse_url", ["sqlite"], indirect=True)
def test_a_failed_day_is_reported_once_with_its_reason_and_never_a_secret(configured, engine, alerts):
    with pytest.raises(Exception):
        daily_operations(as_of=ANCHOR.date(), ingest=False)  # nothing loaded: the gate stays shut
    received = alerts()
    assert len(received) == 1  # the day only; nothing ran below it
    body = received[0]["body"]
    assert body["subject"] == f"shopops: daily operations · {ANCHOR.date()} (daily-operations) failed"
    assert "the load gate is shut" in body["body"] and "shop-us: orders are loaded up to never" in body["body"]
    assert not [name for name, secret in configured.credentials().items() if secret in repr(received)]


def test_block_types_register_and_serve_the_warehouse_url_and_credentials(configured, engine, warehouse_url,
                                                                          sources_file, monkeypatch):
    assert register_block_types() == ["shopops-warehouse", "shopops-marketplace-credentials"]
    WarehouseConnection(url=warehouse_url).save("e2e-warehouse", overwrite=True)
    credentials = configured.credentials()
    sources = configured.sources()
    for source in sources:
        names = {key: ref["env"] for key, ref in source["credentials"].items()}
        MarketplaceCredentials(**{key: credentials[name] for key, name in names.items()}).save(
            source["name"], overwrite=True)
        source["credentials"] = {key: {"block": f"shopops-marketplace-credentials/{source['name']}"} for key in names}
        source["currency"] = "USD" if source["kind"] == "shopify" else "EUR"
        for name in names.values():
            monkeypatch.delenv(name)  # only the blocks know them now
    sources_file(sources)
    monkeypatch.delenv("SHOPOPS_WAREHOUSE_URL")
    monkeypatch.setenv("SHOPOPS_WAREHOUSE_BLOCK", "e2e-warehouse")
    reset_settings_cache()
    assert get_settings().resolved_warehouse_url() == warehouse_url

    summary = ingest_orders(start=ANCHOR - timedelta(days=1), end=ANCHOR)
    assert [row["status"] for row in summary] == ["succeeded", "succeeded"]
    with engine.connect() as conn:
        loaded = pd.read_sql("SELECT source, COUNT(*) AS n FROM orders GROUP BY source", conn)
    assert set(loaded["source"]) == {"shop-us", "woo-eu"} and (loaded["n"] > 0).all()
