"""The Shopify connector against the sandbox's Shopify Admin REST."""

import pandas as pd
import pytest

from connectors.http import AuthError
from connectors.shopify import ShopifyConnector
from tasks.normalize import normalize_shopify_orders
from tests.contract.conftest import ANCHOR, FAST_RETRIES, source_config, truth_in_window, window


def fetch(sandbox, start, end, **options):
    connector = ShopifyConnector(source_config(sandbox, "shop-us", **options), policy=FAST_RETRIES)
    pages = list(connector.order_pages(start, end))
    return connector, pages, [record for page in pages for record in page]


def assert_matches_truth(sandbox, records, start, end):
    """Every visible order updated in [start, end) arrives — once, or twice if the source lists it twice."""
    truth = truth_in_window(sandbox, "shop-us", start, end)
    expected = truth.loc[truth["malformed"] != "missing_id", "id"]
    fetched = pd.Series([r["id"] for r in records if r.get("id") is not None])
    assert set(fetched) == set(expected)
    assert len(records) == len(truth) + int(truth["duplicated"].sum())
    assert sum(r.get("id") is None for r in records) == int((truth["malformed"] == "missing_id").sum())


def test_many_pages_bring_exactly_the_window(fresh_sandbox):
    start, end = window(days_back=14, days_long=7)
    connector, pages, records = fetch(fresh_sandbox, start, end, page_size=25)
    assert len(pages) > 5
    assert_matches_truth(fresh_sandbox, records, start, end)
    assert connector.http.stats.rate_limited == 0  # paced under the bucket, never refused


def test_adjacent_windows_meet_exactly_at_their_edges(fresh_sandbox):
    start, middle = window(days_back=10, days_long=3)
    _, _, first = fetch(fresh_sandbox, start, middle)
    _, _, second = fetch(fresh_sandbox, middle, ANCHOR)
    _, _, whole = fetch(fresh_sandbox, start, ANCHOR)
    key = lambda r: (r.get("id"), r.get("updated_at"))  # noqa: E731
    assert sorted(map(key, first + second), key=repr) == sorted(map(key, whole), key=repr)


def test_a_429_storm_is_waited_out(fresh_sandbox):
    start, end = window(days_back=7, days_long=7)
    fresh_sandbox.faults.arm("shop-us", "429", count=12, retry_after=0.05)
    connector, _, records = fetch(fresh_sandbox, start, end, page_size=50)
    assert connector.http.stats.rate_limited == 12
    assert_matches_truth(fresh_sandbox, records, start, end)


@pytest.mark.parametrize("kind", ["500", "502", "503", "truncate"])
def test_server_errors_and_truncated_bodies_are_retried_then_succeed(fresh_sandbox, kind):
    start, end = window(days_back=7, days_long=7)
    fresh_sandbox.faults.arm("shop-us", kind, count=3)
    connector, _, records = fetch(fresh_sandbox, start, end, page_size=50)
    assert connector.http.stats.retries >= 3
    assert_matches_truth(fresh_sandbox, records, start, end)


def test_an_expired_page_cursor_resumes_from_the_last_update_seen(fresh_sandbox):
    start, end = window(days_back=14, days_long=14)
    fresh_sandbox.faults.arm("shop-us", "expired_cursor", count=2)
    _, _, records = fetch(fresh_sandbox, start, end, page_size=30)
    # The resumed query overlaps what was already read; the overlap is removed downstream.
    truth = truth_in_window(fresh_sandbox, "shop-us", start, end)
    assert set(r["id"] for r in records if r.get("id")) == set(truth.loc[truth["malformed"] != "missing_id", "id"])


def test_offsets_across_the_dst_change_parse_to_the_true_utc_times(fresh_sandbox):
    start, end = window(days_back=21, days_long=5)  # 2026-10-30 .. 2026-11-04
    _, _, records = fetch(fresh_sandbox, start, end)
    offsets = {r["updated_at"][-6:] for r in records if isinstance(r.get("updated_at"), str)}
    assert {"-04:00", "-05:00"} <= offsets
    parsed = normalize_shopify_orders(records, "shop-us", b"k").orders
    truth = fresh_sandbox.truth("shop-us").orders().set_index("id")
    clean = parsed[parsed["external_id"].notna() & parsed["created_at"].notna()]
    for _, row in clean.iterrows():
        expected = truth.loc[int(row["external_id"])]
        assert row["updated_at"] == expected["updated_at"]
        if expected["malformed"] != "impossible_date":
            assert row["created_at"] == expected["created_at"]


def test_a_wrong_token_fails_at_once_with_a_clear_error(fresh_sandbox, monkeypatch):
    config = source_config(fresh_sandbox, "shop-us")
    monkeypatch.setenv(config.credentials["access_token"]["env"], "shpat_wrong")
    connector = ShopifyConnector(config, policy=FAST_RETRIES)
    with pytest.raises(AuthError) as failure:
        list(connector.order_pages(*window(days_back=1, days_long=1)))
    message = str(failure.value)
    assert message.startswith("shop-us: GET http://127.0.0.1:")
    assert "credentials were refused" in message and "last status 401" in message
    assert "shpat_wrong" not in message
    assert connector.http.stats.requests == 1
