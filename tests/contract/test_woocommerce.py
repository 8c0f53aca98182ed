"""The WooCommerce connector against the sandbox's WooCommerce REST v3."""

from datetime import timedelta

import pandas as pd
import pytest

from connectors.http import AuthError
from connectors.woocommerce import WooCommerceConnector
from tasks.normalize import normalize_woocommerce_orders
from tests.contract.conftest import FAST_RETRIES, source_config, truth_in_window, window


def connector_for(sandbox, **options):
    return WooCommerceConnector(source_config(sandbox, "woo-eu", **options), policy=FAST_RETRIES)


def assert_matches_truth(sandbox, records, start, end):
    truth = truth_in_window(sandbox, "woo-eu", start, end)
    expected = truth.loc[truth["malformed"] != "missing_id", "id"]
    assert set(r["id"] for r in records if r.get("id") is not None) == set(expected)
    assert len(records) == len(truth) + int(truth["duplicated"].sum())


def test_many_pages_bring_exactly_the_window(fresh_sandbox):
    start, end = window(days_back=14, days_long=7)
    connector = connector_for(fresh_sandbox, page_size=20)
    pages = list(connector.order_pages(start, end))
    assert len(pages) > 5
    assert_matches_truth(fresh_sandbox, [r for p in pages for r in p], start, end)


def test_query_string_credentials_work_and_never_show_in_errors(fresh_sandbox, monkeypatch):
    start, end = window(days_back=3, days_long=3)
    connector = connector_for(fresh_sandbox, auth="query")
    assert_matches_truth(fresh_sandbox, [r for p in connector.order_pages(start, end) for r in p], start, end)

    config = source_config(fresh_sandbox, "woo-eu", auth="query")
    monkeypatch.setenv(config.credentials["consumer_secret"]["env"], "cs_wrong_secret")
    with pytest.raises(AuthError) as failure:
        list(WooCommerceConnector(config, policy=FAST_RETRIES).order_pages(start, end))
    message = str(failure.value)
    assert message.startswith("woo-eu: GET http://127.0.0.1:") and "last status 401" in message
    assert "cs_wrong_secret" not in message and "consumer_secret=***" in message


@pytest.mark.parametrize("kind", ["429", "503", "truncate"])
def test_faults_are_retried_then_succeed(fresh_sandbox, kind):
    start, end = window(days_back=7, days_long=7)
    fresh_sandbox.faults.arm("woo-eu", kind, count=3, **({"retry_after": 0.05} if kind == "429" else {}))
    connector = connector_for(fresh_sandbox, page_size=50)
    records = [r for p in connector.order_pages(start, end) for r in p]
    assert connector.http.stats.retries >= 3
    assert_matches_truth(fresh_sandbox, records, start, end)


def test_orders_edited_while_paging_make_the_slice_be_read_again_so_none_is_skipped(fresh_sandbox):
    start, end = window(days_back=19, days_long=19)
    connector = connector_for(fresh_sandbox, page_size=10)
    pages = connector.order_pages(start, end)
    records = [r for _, page in zip(range(10), pages) for r in page]
    # A month passes: refunds land on orders already read, they leave the window, every later
    # order moves up the numbered pages, and one would fall between two pages.
    fresh_sandbox.clock.advance(timedelta(days=30))
    records += [r for page in pages for r in page]
    still_inside = truth_in_window(fresh_sandbox, "woo-eu", start, end)
    read_then_left = set(r["id"] for r in records[:100]) - set(still_inside["id"])
    assert read_then_left, "the scenario needs orders that left the window after being read"
    fetched = set(r["id"] for r in records if r.get("id") is not None)
    assert set(still_inside.loc[still_inside["malformed"] != "missing_id", "id"]) <= fetched


def test_gmt_dates_parse_to_the_true_utc_times(fresh_sandbox):
    start, end = window(days_back=21, days_long=21)
    records = [r for p in connector_for(fresh_sandbox).order_pages(start, end) for r in p]
    orders = normalize_woocommerce_orders(records, "woo-eu", b"k").orders
    truth = fresh_sandbox.truth("woo-eu").orders().set_index("id")
    clean = orders[orders["external_id"].notna()]
    expected = truth.loc[clean["external_id"].astype(int), "updated_at"].to_numpy()
    assert (clean["updated_at"].to_numpy() == expected).all()
    local = pd.Series([r["date_created"] for r in records if r.get("id")])
    gmt = pd.Series([r["date_created_gmt"] for r in records if r.get("id")])
    assert (local != gmt).all()  # Paris is never at UTC: the local field must not be read as GMT
