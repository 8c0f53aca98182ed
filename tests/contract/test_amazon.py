"""The Amazon SP-API connector against the sandbox's Selling Partner API (Orders v0, Login with Amazon)."""

import time
from datetime import timedelta

import numpy as np
import pandas as pd
import pytest

from connectors.amazon import AmazonConnector
from connectors.http import AuthError, SourceError
from connectors.sandbox import Sandbox, StoreConfig
from connectors.sandbox.amazon_render import order_id
from tasks.normalize import normalize_amazon_orders
from tests.contract.conftest import ANCHOR, FAST_RETRIES, small_config, source_config, truth_in_window, window

STORE = "amazon-de"
PLAN = {"getOrders": [20.0, 3], "getOrderItems": [200.0, 20]}  # the sandbox's plans below, 1000x Amazon's


@pytest.fixture(scope="module")
def sandbox():
    config = small_config(
        stores=[StoreConfig("shop-eu", "shopify", "Europe/Berlin", "EUR", 20),
                StoreConfig(STORE, "amazon", "Europe/Berlin", "EUR", 30)],
        amazon_orders_rate=20.0, amazon_orders_burst=3, amazon_items_rate=200.0, amazon_items_burst=20)
    with Sandbox(config) as running:
        yield running


def connector_for(sandbox, **options):
    return AmazonConnector(source_config(sandbox, STORE, **{"usage_plans": PLAN, **options}), policy=FAST_RETRIES)


def amazon_ids(sandbox, numbers) -> set[str]:
    return set(order_id(sandbox.world.stores[STORE], np.asarray(numbers, dtype=np.int64)))


def assert_matches_truth(sandbox, records, start, end):
    truth = truth_in_window(sandbox, STORE, start, end)
    expected = amazon_ids(sandbox, truth.loc[truth["malformed"] != "missing_id", "id"])
    assert {r["AmazonOrderId"] for r in records if r.get("AmazonOrderId")} == expected
    assert len(records) == len(truth) + int(truth["duplicated"].sum())


def requests_to(sandbox, endpoint: str) -> dict:
    return sandbox.stats().get(STORE, {}).get(endpoint, {"requests": 0, "statuses": {}})


def test_next_token_pages_bring_exactly_the_window_each_order_with_its_items(fresh_sandbox):
    start, end = window(days_back=14, days_long=7)
    pages = list(connector_for(fresh_sandbox, page_size=25).order_pages(start, end))
    records = [r for page in pages for r in page]
    assert len(pages) > 4
    assert_matches_truth(fresh_sandbox, records, start, end)
    truth = truth_in_window(fresh_sandbox, STORE, start, end).drop_duplicates("id")
    lines = dict(zip(amazon_ids_list(fresh_sandbox, truth["id"]), truth["line_count"]))
    malformed = dict(zip(amazon_ids_list(fresh_sandbox, truth["id"]), truth["malformed"]))
    for record in records:
        if record.get("AmazonOrderId") and malformed[record["AmazonOrderId"]] != "missing_lines":
            assert len(record["OrderItems"]) == lines[record["AmazonOrderId"]]


def amazon_ids_list(sandbox, numbers) -> list[str]:
    return order_id(sandbox.world.stores[STORE], np.asarray(numbers, dtype=np.int64))


def test_the_buckets_pace_calls_so_amazon_never_has_to_refuse(fresh_sandbox):
    time.sleep(0.25)  # the sandbox's buckets refill from the tests before (3 at 20/s, 20 at 200/s)
    before = requests_to(fresh_sandbox, "getOrders")
    start, end = window(days_back=10, days_long=5)
    connector = connector_for(fresh_sandbox, page_size=10)
    began = time.monotonic()
    records = [r for page in connector.order_pages(start, end) for r in page]
    elapsed = time.monotonic() - began
    calls = requests_to(fresh_sandbox, "getOrders")["requests"] - before["requests"]
    assert_matches_truth(fresh_sandbox, records, start, end)
    assert connector.http.stats.rate_limited == 0 and connector.items_http.stats.rate_limited == 0
    assert calls > 6
    assert elapsed >= (calls - 3) / 20.0 * 0.9  # a burst of 3, then 20 a second


def test_a_client_that_thinks_its_plan_is_larger_learns_the_rate_from_the_429s_and_completes(fresh_sandbox):
    start, end = window(days_back=10, days_long=5)
    connector = connector_for(fresh_sandbox, page_size=10, usage_plans={"getOrders": [1000.0, 100]})
    bucket = fresh_sandbox._app.amazon[STORE].buckets["getOrders"]
    while bucket.try_call():  # another app of the seller's used the burst: the first call is refused
        pass
    records = [r for page in connector.order_pages(start, end) for r in page]
    assert_matches_truth(fresh_sandbox, records, start, end)
    assert connector.http.stats.rate_limited > 0          # QuotaExceeded, waited out
    assert connector.http.pacer.rate == pytest.approx(20.0)  # from x-amzn-RateLimit-Limit


@pytest.mark.parametrize("kind", ["429", "503"])
def test_quota_exceeded_and_server_errors_are_retried_then_succeed(fresh_sandbox, kind):
    start, end = window(days_back=7, days_long=3)
    fresh_sandbox.faults.arm(STORE, kind, count=3)
    connector = connector_for(fresh_sandbox, page_size=50)
    records = [r for page in connector.order_pages(start, end) for r in page]
    assert connector.http.stats.retries + connector.items_http.stats.retries + connector.auth_http.stats.retries >= 3
    assert_matches_truth(fresh_sandbox, records, start, end)


def test_an_expired_access_token_is_refreshed_once_and_the_read_goes_on(fresh_sandbox):
    start, end = window(days_back=12, days_long=6)
    connector = connector_for(fresh_sandbox, page_size=20)
    pages = connector.order_pages(start, end)
    first = next(pages)
    tokens_before = requests_to(fresh_sandbox, "token")["requests"]
    fresh_sandbox.faults.arm(STORE, "expired_token")
    records = first + [r for page in pages for r in page]
    assert requests_to(fresh_sandbox, "token")["requests"] == tokens_before + 1
    assert_matches_truth(fresh_sandbox, records, start, end)


def test_a_refused_refresh_token_is_a_clear_auth_error_without_the_secret(fresh_sandbox, monkeypatch):
    config = source_config(fresh_sandbox, STORE)
    monkeypatch.setenv(config.credentials["refresh_token"]["env"], "Atzr|not-the-real-one")
    with pytest.raises(AuthError) as failure:
        list(AmazonConnector(config, policy=FAST_RETRIES).order_pages(*window(days_back=3, days_long=1)))
    message = str(failure.value)
    assert message.startswith(f"{STORE}: POST http://127.0.0.1:") and "/auth/o2/token" in message
    assert "invalid grant parameter : refresh_token" in message and "last status 400" in message
    assert "not-the-real-one" not in message


def test_a_window_ending_within_two_minutes_of_now_is_refused_and_the_planner_keeps_clear_of_it(fresh_sandbox):
    from shopops.settings import get_settings
    from tasks.ingest import plan_window

    fresh_sandbox.clock.set(ANCHOR)
    with pytest.raises(SourceError, match="InvalidInput: LastUpdatedBefore date should be at least 2 minutes") as failure:
        list(connector_for(fresh_sandbox).order_pages(ANCHOR - timedelta(hours=1), ANCHOR - timedelta(seconds=60)))
    assert failure.value.status == 400
    now = pd.Timestamp.now(tz="UTC").to_pydatetime()
    _, end = plan_window(None, STORE, now - timedelta(hours=1), now, get_settings(), now, timedelta(minutes=3))
    assert now - timedelta(minutes=3, seconds=1) < end <= pd.Timestamp.now(tz="UTC") - timedelta(minutes=3)
    past = now - timedelta(days=1)  # a backfill's end is kept as it is: chunks must meet exactly
    assert plan_window(None, STORE, past - timedelta(hours=1), past, get_settings(), now, timedelta(minutes=3))[1] == past


def test_pending_orders_load_with_their_quantities_and_no_prices_yet(fresh_sandbox):
    start, end = window(days_back=4, days_long=3)
    records = [r for page in connector_for(fresh_sandbox).order_pages(start, end) for r in page]
    pending = [r for r in records if r.get("OrderStatus") == "Pending" and r.get("AmazonOrderId")]
    assert pending, "the window should hold orders whose payment has not cleared"
    assert all("OrderTotal" not in r and all("ItemPrice" not in i for i in r["OrderItems"]) for r in pending)

    batch = normalize_amazon_orders(records, STORE, b"secret")
    orders = batch.orders.set_index("external_id")
    lines = batch.lines
    for record in pending:
        row = orders.loc[record["AmazonOrderId"]]
        assert (row["status"], row["total"], row["currency"]) == ("pending", 0, "EUR")
        assert not batch.reasons.by_rid.get(int(row["rid"]))
        mine = lines[lines["external_order_id"] == record["AmazonOrderId"]]
        assert mine["quantity"].tolist() == [i["QuantityOrdered"] for i in record["OrderItems"]]
        assert (mine["unit_price"] == 0).all()


def test_amounts_come_out_exact_and_equal_to_the_truth(fresh_sandbox):
    start, end = window(days_back=14, days_long=7)
    records = [r for page in connector_for(fresh_sandbox).order_pages(start, end) for r in page]
    batch = normalize_amazon_orders(records, STORE, b"secret")
    truth = truth_in_window(fresh_sandbox, STORE, start, end).drop_duplicates("id")
    truth = truth[truth["malformed"].isna() & (truth["status"] != "Pending")]
    truth.index = amazon_ids_list(fresh_sandbox, truth["id"])
    orders = batch.orders.drop_duplicates("external_id").set_index("external_id").loc[truth.index]
    scale = 10_000  # ten-thousandths
    for column in ("total", "subtotal", "discount_total", "shipping_total", "tax_total"):
        expected = [int(round(value * scale)) for value in truth[column]]
        assert orders[column].astype(int).tolist() == expected, column
    status = {"Shipped": "fulfilled", "Unshipped": "paid", "Canceled": "cancelled"}
    assert orders["status"].tolist() == [status[s] for s in truth["status"]]
