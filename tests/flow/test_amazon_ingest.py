"""An Amazon seller account through the real ingest-orders flow, on SQLite and PostgreSQL."""

from datetime import timedelta

import pandas as pd
import pytest
from sqlalchemy import select

from connectors.sandbox import Sandbox, StoreConfig
from connectors.sandbox.amazon_render import order_id
from flows.ingest import ingest_orders
from tests.conftest import table_contents
from tests.contract.conftest import ANCHOR, small_config
from tests.flow.conftest import DATA_TABLES, use_sandbox
from warehouse.models import Order, OrderLine

END = ANCHOR - timedelta(hours=1)  # Amazon shows nothing of the last two minutes of its clock
START = END - timedelta(days=10)


@pytest.fixture(scope="module")
def amazon_sandbox():
    config = small_config(stores=[StoreConfig("shop-eu", "shopify", "Europe/Berlin", "EUR", 25),
                                  StoreConfig("amazon-de", "amazon", "Europe/Berlin", "EUR", 30)],
                          amazon_orders_rate=50.0, amazon_orders_burst=5, amazon_items_rate=500.0,
                          amazon_items_burst=50)
    with Sandbox(config) as running:
        yield running


@pytest.fixture
def amazon(amazon_sandbox, sources_file, warehouse_url, monkeypatch):
    amazon_sandbox.clock.set(ANCHOR)
    monkeypatch.setenv("SHOPOPS_CHUNK_SIZE", "150")
    use_sandbox(amazon_sandbox, sources_file, monkeypatch)
    plans = {"getOrders": [50.0, 5], "getOrderItems": [500.0, 50]}
    sources_file([{**s, "usage_plans": plans} if s["kind"] == "amazon" else s for s in amazon_sandbox.sources()])
    return amazon_sandbox


def test_amazon_orders_load_reconcile_and_a_second_run_changes_nothing(amazon, engine):
    first = {row["source"]: row for row in ingest_orders(start=START, end=END)}
    after_first = {t: table_contents(engine, t) for t in DATA_TABLES}
    second = {row["source"]: row for row in ingest_orders(start=START, end=END)}
    assert {t: table_contents(engine, t) for t in DATA_TABLES} == after_first
    assert second["amazon-de"]["inserted"] == 0 and second["amazon-de"]["updated"] == 0

    row = first["amazon-de"]
    truth = amazon.truth("amazon-de").orders(ANCHOR)
    inside = truth[truth["visible"] & (truth["updated_at"] >= pd.Timestamp(START)) & (truth["updated_at"] < pd.Timestamp(END))]
    assert row["fetched"] == len(inside) + int(inside["duplicated"].sum())
    assert row["quarantined"] == int(inside["malformed"].notna().sum())
    assert row["inserted"] == int(inside["malformed"].isna().sum())

    clean = inside[inside["malformed"].isna()]
    ids = order_id(amazon.world.stores["amazon-de"], clean["id"].to_numpy())
    expected = dict(zip(ids, clean["status"]))
    with engine.connect() as conn:
        loaded = dict(conn.execute(select(Order.external_id, Order.source_status).where(Order.source == "amazon-de")).all())
        pending_lines = conn.execute(select(OrderLine.quantity, OrderLine.unit_price).join(
            Order, (Order.source == OrderLine.source) & (Order.external_id == OrderLine.external_order_id)).where(
            Order.source == "amazon-de", Order.status == "pending")).all()
    assert loaded == expected
    assert "Pending" in expected.values() and pending_lines
    assert all(quantity >= 1 and price == 0 for quantity, price in pending_lines)
