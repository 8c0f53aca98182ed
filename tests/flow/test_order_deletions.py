"""Orders a merchant deletes in Shopify: the destroy events mark them deleted in the warehouse (both backends)."""

from datetime import timedelta

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import select

from connectors.sandbox import Sandbox, StoreConfig
from connectors.shopify import ShopifyConnector
from flows.ingest import ingest_orders
from tests.conftest import table_contents
from tests.contract.conftest import ANCHOR, FAST_RETRIES, small_config, source_config
from tests.flow.conftest import DATA_TABLES, use_sandbox
from warehouse.models import Order

FIRST_RUN = ANCHOR - timedelta(days=6)
START = ANCHOR - timedelta(days=20)
NEVER = np.iinfo(np.int64).max


@pytest.fixture(scope="module")
def deleting_sandbox():
    config = small_config(stores=[StoreConfig("shop-us", "shopify", "America/New_York", "USD", 40)],
                          anomalies={"malformed": 0.0, "deleted": 0.05})
    with Sandbox(config) as running:
        yield running


@pytest.fixture
def shop(deleting_sandbox, sources_file, warehouse_url, monkeypatch):
    deleting_sandbox.clock.set(ANCHOR)
    monkeypatch.setenv("SHOPOPS_CHUNK_SIZE", "300")
    use_sandbox(deleting_sandbox, sources_file, monkeypatch)
    return deleting_sandbox


def deleted_between(sandbox, low, high) -> set[str]:
    store = sandbox.world.stores["shop-us"]
    inside = (store.deleted_at > low.timestamp()) & (store.deleted_at <= high.timestamp())
    return {str(i) for i in store.ids.order[inside]}


def test_destroy_events_page_through_and_name_exactly_the_deleted_orders(shop, monkeypatch):
    for name, value in shop.credentials().items():
        monkeypatch.setenv(name, value)
    connector = ShopifyConnector(source_config(shop, "shop-us", page_size=5), policy=FAST_RETRIES)
    low, high = ANCHOR - timedelta(days=12), ANCHOR - timedelta(days=2)
    deletions = connector.deleted_orders(low, high)
    store = shop.world.stores["shop-us"]
    inside = (store.deleted_at >= low.timestamp()) & (store.deleted_at < high.timestamp())
    assert {order_id for order_id, _ in deletions} == {str(i) for i in store.ids.order[inside]}
    assert len(deletions) > 10 and connector.http.stats.requests > 3  # several pages of 5
    when = dict(zip(store.ids.order[inside].astype(str), store.deleted_at[inside]))
    assert all(int(moment.timestamp()) == when[order_id] for order_id, moment in deletions)


def test_orders_deleted_after_they_were_loaded_become_tombstones_and_a_rerun_changes_nothing(shop, engine):
    shop.clock.set(FIRST_RUN)
    ingest_orders(start=START, end=FIRST_RUN)
    with engine.connect() as conn:
        live = set(conn.execute(select(Order.external_id).where(Order.is_deleted.is_(False))).scalars())
    to_go = deleted_between(shop, FIRST_RUN, ANCHOR) & live
    assert len(to_go) > 5, "some loaded orders should be deleted before the anchor"
    assert not deleted_between(shop, START - timedelta(days=30), FIRST_RUN) & live  # gone before: never loaded

    shop.clock.set(ANCHOR)
    summary = ingest_orders(end=ANCHOR)  # the hourly run, from the cursor
    assert summary[0]["deleted"] == len(to_go)
    with engine.connect() as conn:
        tombstones = conn.execute(select(Order.external_id, Order.status, Order.updated_at)
                                  .where(Order.is_deleted.is_(True))).all()
    assert {t.external_id for t in tombstones} == to_go
    assert {t.status for t in tombstones} == {"deleted"}
    store = shop.world.stores["shop-us"]
    deleted_at = dict(zip(store.ids.order.astype(str), store.deleted_at))
    assert all(int(t.updated_at.timestamp()) == deleted_at[t.external_id] for t in tombstones)

    before = {t: table_contents(engine, t) for t in DATA_TABLES}
    again = ingest_orders(end=ANCHOR)
    assert again[0]["deleted"] == 0
    assert {t: table_contents(engine, t) for t in DATA_TABLES} == before
