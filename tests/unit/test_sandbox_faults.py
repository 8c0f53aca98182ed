"""Fault switches, the sandbox clock and stats, from Python and over the /_sandbox HTTP controls."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

import pytest
import requests

from connectors.sandbox import Sandbox, SandboxConfig

ANCHOR = datetime(2026, 11, 15, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def sandbox():
    config = SandboxConfig(anchor=ANCHOR, days=5, skus=100, rate_limit_bucket=10_000,
                           rate_limit_leak_per_second=1_000.0)
    with Sandbox(config) as sb:
        yield sb


@pytest.fixture()
def shop(sandbox):
    sandbox.faults.clear()
    session = requests.Session()
    session.headers["X-Shopify-Access-Token"] = sandbox.credentials()["SHOPOPS_SANDBOX_SHOP_US_TOKEN"]
    yield session, f"{sandbox.url}/shopify/shop-us/admin/api/2025-07/orders.json"
    sandbox.faults.clear()
    session.close()


def test_429_storm_for_count_requests_with_retry_after(sandbox, shop):
    session, url = shop
    sandbox.faults.arm("shop-us", "429", count=3, retry_after=2.5)
    storm = [session.get(url) for _ in range(3)]
    assert [r.status_code for r in storm] == [429] * 3
    assert {r.headers["Retry-After"] for r in storm} == {"2.5"}
    assert storm[0].json()["errors"].startswith("Exceeded 2 calls per second")
    assert session.get(url).status_code == 200


@pytest.mark.parametrize("kind", ["500", "502", "503"])
def test_server_error_bursts(sandbox, shop, kind):
    session, url = shop
    sandbox.faults.arm("shop-us", kind, count=2)
    assert [session.get(url).status_code for _ in range(3)] == [int(kind), int(kind), 200]


def test_faults_hit_only_their_store(sandbox, shop):
    session, url = shop
    sandbox.faults.arm("shop-eu", "503", count=1)
    assert session.get(url).status_code == 200
    key, secret = (sandbox.credentials()[f"SHOPOPS_SANDBOX_WOO_EU_{part}"] for part in ("KEY", "SECRET"))
    sandbox.faults.arm("woo-eu", "503", count=1)
    woo = f"{sandbox.url}/woocommerce/woo-eu/wp-json/wc/v3/orders"
    response = requests.get(woo, auth=(key, secret))
    assert response.status_code == 503 and response.json()["data"] == {"status": 503}
    assert requests.get(woo, auth=(key, secret)).status_code == 200


def test_slow_delays_the_answer(sandbox, shop):
    session, url = shop
    sandbox.faults.arm("shop-us", "slow", count=1, delay=0.4)
    started = time.monotonic()
    assert session.get(url).status_code == 200
    assert time.monotonic() - started >= 0.4
    with pytest.raises(requests.exceptions.ReadTimeout):
        sandbox.faults.arm("shop-us", "slow", count=1, delay=1.0)
        session.get(url, timeout=0.3)


def test_truncate_sends_half_the_announced_body_then_closes(sandbox, shop):
    session, url = shop
    sandbox.faults.arm("shop-us", "truncate", count=1)
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        session.get(url, params={"status": "any", "limit": 250})
    # The next request on a fresh connection is whole again.
    assert session.get(url, params={"status": "any", "limit": 250}).json()["orders"]


def test_expired_cursor_only_hits_requests_carrying_page_info(sandbox, shop):
    session, url = shop
    first = session.get(url, params={"status": "any", "limit": 5})
    sandbox.faults.arm("shop-us", "expired_cursor", count=1)
    assert session.get(url, params={"status": "any", "limit": 5}).status_code == 200  # not consumed
    expired = session.get(first.links["next"]["url"])
    assert expired.status_code == 400
    assert expired.json() == {"errors": {"page_info": "Invalid value."}}
    assert session.get(first.links["next"]["url"]).status_code == 200


def test_fault_armed_for_seconds_then_clear(sandbox, shop):
    session, url = shop
    sandbox.faults.arm("shop-us", "503", seconds=0.3)
    assert session.get(url).status_code == 503
    assert session.get(url).status_code == 503
    time.sleep(0.35)
    assert session.get(url).status_code == 200
    sandbox.faults.arm("shop-us", "500", count=100)
    sandbox.faults.clear()
    assert session.get(url).status_code == 200


def test_bad_fault_arguments_are_refused(sandbox):
    for args, options in ((("shop-us", "418"), {}), (("nowhere", "500"), {}), (("shop-us", "slow"), {"speed": 2})):
        with pytest.raises(ValueError):
            sandbox.faults.arm(*args, **options)


def test_http_controls_for_faults_clock_and_stats(sandbox, shop):
    session, url = shop
    control = f"{sandbox.url}/_sandbox"
    armed = requests.post(f"{control}/faults", json={"store": "shop-us", "kind": "502", "count": 1})
    assert armed.status_code == 200 and armed.json()["armed"][0]["kind"] == "502"
    assert session.get(url).status_code == 502
    assert requests.post(f"{control}/faults", json={"store": "shop-us", "kind": "teapot"}).status_code == 400

    before = sandbox.clock.now()
    moved = requests.post(f"{control}/clock", json={"advance_seconds": 3600}).json()
    assert datetime.fromisoformat(moved["now"]) == before + timedelta(hours=1)
    requests.post(f"{control}/clock", json={"now": "2026-11-10T12:00:00Z"})
    assert sandbox.clock.now() == datetime(2026, 11, 10, 12, tzinfo=timezone.utc)
    sandbox.clock.set(ANCHOR)

    stats = requests.get(f"{control}/stats").json()
    assert stats == sandbox.stats()
    assert stats["shop-us"]["orders.json"]["statuses"]["502"] >= 1
    assert stats["shop-us"]["orders.json"]["requests"] == sum(stats["shop-us"]["orders.json"]["statuses"].values())


def test_clock_hides_orders_created_after_it(sandbox, shop):
    session, url = shop
    sandbox.clock.set(ANCHOR - timedelta(days=1))
    try:
        orders = session.get(url, params={"status": "any", "limit": 250, "order": "created_at desc"}).json()["orders"]
        truth = sandbox.truth("shop-us").orders().set_index("id")
        listed = [order["id"] for order in orders if order["id"] is not None]
        assert listed and (truth.loc[listed, "created_at"] <= ANCHOR - timedelta(days=1)).all()
        assert not truth[truth["created_at"] > ANCHOR - timedelta(days=1)]["visible"].any()
    finally:
        sandbox.clock.set(ANCHOR)


def test_a_fault_armed_for_n_requests_hits_exactly_n_across_threads(sandbox, shop):
    session, url = shop
    headers = dict(session.headers)
    sandbox.faults.arm("shop-us", "500", count=10)
    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(lambda _: requests.get(url, headers=headers).status_code, range(40)))
    assert statuses.count(500) == 10 and statuses.count(200) == 30
