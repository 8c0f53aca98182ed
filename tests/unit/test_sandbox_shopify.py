"""The sandbox's Shopify Admin REST wire protocol, checked against its ground truth."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import requests

from connectors.sandbox import Sandbox, SandboxConfig

ANCHOR = datetime(2026, 11, 15, tzinfo=timezone.utc)
US_DST_END = datetime(2026, 11, 1, 6, 0, tzinfo=timezone.utc)  # 02:00 EDT becomes 01:00 EST
UNAUTHORIZED = {"errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"}


@pytest.fixture(scope="module")
def sandbox():
    config = SandboxConfig(anchor=ANCHOR, days=30, skus=400, rate_limit_bucket=100_000,
                           rate_limit_leak_per_second=1_000.0)
    with Sandbox(config) as sb:
        yield sb


@pytest.fixture()
def shop(sandbox):
    """A session authenticated for shop-us, and its orders URL."""
    session = requests.Session()
    session.headers["X-Shopify-Access-Token"] = sandbox.credentials()["SHOPOPS_SANDBOX_SHOP_US_TOKEN"]
    yield session, f"{sandbox.url}/shopify/shop-us/admin/api/2025-07"
    session.close()


def walk(session, url, params):
    """Every order of every page, following rel="next"; returns (orders, responses)."""
    orders, responses = [], []
    while url:
        response = session.get(url, params=params)
        assert response.status_code == 200, response.text
        responses.append(response)
        orders.extend(response.json()["orders"])
        url, params = response.links.get("next", {}).get("url"), None
    return orders, responses


def expected_rows(truth, sort_columns):
    """Truth's visible orders in listing order, a duplicated order twice, ids as the wire shows them."""
    visible = truth[truth["visible"]].sort_values(sort_columns, kind="stable")
    expected = []
    for row in visible.itertuples():
        shown_id = None if row.malformed == "missing_id" else row.id
        expected.extend([shown_id] * (2 if row.duplicated else 1))
    return expected


def test_wrong_or_missing_token_is_401(sandbox, shop):
    session, base = shop
    for headers in ({}, {"X-Shopify-Access-Token": "shpat_wrong"}):
        response = requests.get(f"{base}/orders.json", headers=headers)
        assert response.status_code == 401
        assert response.json() == UNAUTHORIZED


def test_walk_in_updated_at_order_lists_every_visible_order_once(sandbox, shop):
    session, base = shop
    orders, responses = walk(session, f"{base}/orders.json",
                             {"status": "any", "order": "updated_at asc", "limit": 250})
    truth = sandbox.truth("shop-us").orders()
    assert [order["id"] for order in orders] == expected_rows(truth, ["updated_at", "id"])
    assert len(responses) > 10  # the walk really crossed many page boundaries
    by_id = truth.set_index("id")
    for order in orders:
        if order["id"] is not None:
            assert datetime.fromisoformat(order["updated_at"]) == by_id.at[order["id"], "updated_at"]
    assert "previous" not in responses[0].links and "previous" in responses[1].links
    assert all(response.headers["X-Shopify-API-Version"] == "2025-07" for response in responses)


def test_default_status_open_drops_closed_and_cancelled_orders(sandbox, shop):
    session, base = shop
    truth = sandbox.truth("shop-us").orders()
    open_orders, _ = walk(session, f"{base}/orders.json", {"limit": 250})
    any_orders, _ = walk(session, f"{base}/orders.json", {"limit": 250, "status": "any"})

    visible = truth[truth["visible"]]
    expected_open = visible[visible["status"] == "open"]
    assert len(open_orders) == len(expected_open) + expected_open["duplicated"].sum()
    assert all(order["closed_at"] is None and order["cancelled_at"] is None for order in open_orders)
    # The default silently drops most of the history: closed and cancelled orders.
    assert (visible["status"] == "closed").sum() > 5 * len(expected_open)
    assert (visible["status"] == "cancelled").sum() > 0
    assert len(any_orders) == len(visible) + visible["duplicated"].sum()
    assert any(order["cancelled_at"] is not None for order in any_orders)


def test_default_order_is_id_descending(sandbox, shop):
    session, base = shop
    response = session.get(f"{base}/orders.json", params={"status": "any", "limit": 250})
    ids = [order["id"] for order in response.json()["orders"] if order["id"] is not None]
    assert ids == sorted(ids, reverse=True)
    truth = sandbox.truth("shop-us").orders()
    assert ids[0] == truth[truth["visible"]]["id"].max()


@pytest.mark.parametrize("limit", ["0", "251", "abc"])
def test_limit_outside_1_to_250_is_400(shop, limit):
    session, base = shop
    response = session.get(f"{base}/orders.json", params={"limit": limit})
    assert response.status_code == 400
    assert response.json() == {"errors": {"limit": ["must be between 1 and 250"]}}


def test_page_info_may_only_carry_limit_and_fields(shop):
    session, base = shop
    first = session.get(f"{base}/orders.json", params={"status": "any", "limit": 5})
    next_url = first.links["next"]["url"]
    assert session.get(next_url, params={"limit": 7, "fields": "id"}).status_code == 200
    response = session.get(next_url, params={"status": "any"})
    assert response.status_code == 400
    assert response.json() == {"errors": "status cannot be passed when page_info is present."}


def test_unknown_or_tampered_page_info_is_400(shop):
    session, base = shop
    first = session.get(f"{base}/orders.json", params={"status": "any", "limit": 5})
    token = first.links["next"]["url"].split("page_info=")[1]
    for bad in ("nonsense", token[:-2] + ("AA" if not token.endswith("AA") else "BB")):
        response = session.get(f"{base}/orders.json", params={"page_info": bad})
        assert response.status_code == 400
        assert response.json() == {"errors": {"page_info": "Invalid value."}}


def test_previous_link_returns_the_page_before(shop):
    session, base = shop
    first = session.get(f"{base}/orders.json", params={"status": "any", "limit": 50, "order": "created_at asc"})
    second = session.get(first.links["next"]["url"])
    back = session.get(second.links["previous"]["url"])
    assert back.json() == first.json()


def test_updated_at_bounds_are_inclusive_and_read_offsets_and_shop_local_time(sandbox, shop):
    session, base = shop
    truth = sandbox.truth("shop-us").orders()
    row = truth[truth["visible"] & truth["malformed"].isna() & ~truth["duplicated"]].iloc[100]
    instant = row["updated_at"].to_pydatetime()
    new_york = instant.astimezone(ZoneInfo("America/New_York"))
    same_instant = [
        instant.isoformat(),                                          # UTC with +00:00
        instant.astimezone(timezone(timedelta(hours=9))).isoformat(),  # another offset
        new_york.replace(tzinfo=None).isoformat(),                    # naive = shop local
    ]
    for text in same_instant:
        response = session.get(f"{base}/orders.json", params={
            "status": "any", "updated_at_min": text, "updated_at_max": text})
        assert row["id"] in [order["id"] for order in response.json()["orders"]], text
    one_second_later = (instant + timedelta(seconds=1)).isoformat()
    response = session.get(f"{base}/orders.json", params={
        "status": "any", "updated_at_min": one_second_later, "updated_at_max": one_second_later})
    assert row["id"] not in [order["id"] for order in response.json()["orders"]]


def test_timestamps_carry_the_offset_of_their_instant_across_dst(sandbox, shop):
    session, base = shop
    orders, _ = walk(session, f"{base}/orders.json", {
        "status": "any", "limit": 250,
        "created_at_min": (US_DST_END - timedelta(hours=6)).isoformat(),
        "created_at_max": (US_DST_END + timedelta(hours=6)).isoformat()})
    truth = sandbox.truth("shop-us").orders().set_index("id")
    offsets = set()
    for order in orders:
        if order["id"] is None or truth.at[order["id"], "malformed"] is not None:
            continue
        created = truth.at[order["id"], "created_at"].to_pydatetime()
        expected = "-04:00" if created < US_DST_END else "-05:00"
        assert order["created_at"].endswith(expected)
        assert datetime.fromisoformat(order["created_at"]) == created
        offsets.add(expected)
    assert offsets == {"-04:00", "-05:00"}  # orders on both sides of the change


def test_fields_keeps_only_the_named_top_level_fields(shop):
    session, base = shop
    response = session.get(f"{base}/orders.json", params={"status": "any", "limit": 3, "fields": "id,updated_at"})
    assert [set(order) for order in response.json()["orders"]] == [{"id", "updated_at"}] * 3


def test_money_strings_add_up(sandbox, shop):
    session, base = shop
    orders, _ = walk(session, f"{base}/orders.json", {"status": "any", "limit": 250, "order": "id asc"})
    malformed = set(sandbox.truth("shop-us").orders().query("malformed.notna()")["id"])
    checked = 0
    for order in orders:
        if order["id"] is None or order["id"] in malformed:
            continue
        gross = Decimal(order["total_line_items_price"])
        assert gross == sum(Decimal(line["price"]) * line["quantity"] for line in order["line_items"])
        assert gross - Decimal(order["total_discounts"]) == Decimal(order["subtotal_price"])
        shipping = Decimal(order["total_shipping_price_set"]["shop_money"]["amount"])
        assert Decimal(order["subtotal_price"]) + shipping + Decimal(order["total_tax"]) == Decimal(order["total_price"])
        for refund in order["refunds"]:
            refunded = sum(Decimal(t["amount"]) for t in refund["transactions"])
            assert refunded <= Decimal(order["total_price"])
            if order["financial_status"] == "refunded":
                assert refunded == Decimal(order["total_price"])
        checked += 1
    assert checked > 1000


def test_products_pages_walk_the_catalogue(sandbox, shop):
    session, base = shop
    products, pages = [], 0
    url, params = f"{base}/products.json", {"limit": 250}
    while url:
        response = session.get(url, params=params)
        products.extend(response.json()["products"])
        url, params, pages = response.links.get("next", {}).get("url"), None, pages + 1
    skus = [variant["sku"] for product in products for variant in product["variants"]]
    catalogue = sandbox.truth("shop-us").products()
    assert sorted(skus) == sorted(catalogue[catalogue["created_at"] <= ANCHOR]["sku"])
    assert pages > 1
    assert [p["id"] for p in products] == sorted(p["id"] for p in products)


def test_inventory_endpoints(sandbox, shop):
    session, base = shop
    locations = session.get(f"{base}/locations.json").json()["locations"]
    assert len(locations) == 2
    assert session.get(f"{base}/inventory_levels.json").status_code == 400
    levels = session.get(f"{base}/inventory_levels.json",
                         params={"location_ids": locations[0]["id"], "limit": 250}).json()["inventory_levels"]
    assert len(levels) == 250 and all(level["location_id"] == locations[0]["id"] for level in levels)
    ids = [level["inventory_item_id"] for level in levels[:100]]
    items = session.get(f"{base}/inventory_items.json", params={"ids": ",".join(map(str, ids))}).json()
    assert sorted(item["id"] for item in items["inventory_items"]) == sorted(ids)
    too_many = ",".join(str(i) for i in range(1, 102))
    assert session.get(f"{base}/inventory_items.json", params={"ids": too_many}).status_code == 400


def test_stock_out_at_the_anchor_means_zero_inventory(sandbox, shop):
    session, base = shop
    outs = sandbox.truth("shop-us").stock_outs()
    ongoing = set(outs[outs["end"].isna()]["sku"])
    products = session.get(f"{base}/products.json", params={"limit": 250}).json()["products"]
    variants = [v for p in products for v in p["variants"]]
    assert ongoing, "the catalogue should have SKUs out of stock at the anchor"
    assert all(v["inventory_quantity"] == 0 for v in variants if v["sku"] in ongoing)
    assert any(v["inventory_quantity"] > 0 for v in variants)


def test_leaky_bucket_throttles_fast_callers():
    config = SandboxConfig(anchor=ANCHOR, days=2, skus=50)  # the real 40-call bucket, 2 calls/s
    with Sandbox(config) as sb:
        session = requests.Session()
        session.headers["X-Shopify-Access-Token"] = sb.credentials()["SHOPOPS_SANDBOX_SHOP_US_TOKEN"]
        url = f"{sb.url}/shopify/shop-us/admin/api/2025-07/locations.json"
        responses = [session.get(url) for _ in range(45)]
    levels = [int(r.headers["X-Shopify-Shop-Api-Call-Limit"].split("/")[0]) for r in responses if r.status_code == 200]
    throttled = [r for r in responses if r.status_code == 429]
    assert levels[0] == 1 and levels == sorted(levels) and levels[-1] >= 38
    assert all(r.headers["X-Shopify-Shop-Api-Call-Limit"].endswith("/40") for r in responses)
    assert throttled, "45 calls in well under a second must overflow a 40-call bucket"
    assert throttled[0].headers["Retry-After"] == "1.0"
    assert throttled[0].json() == {
        "errors": "Exceeded 2 calls per second for api client. Reduce request rates to resume uninterrupted service."}


def test_a_page_boundary_can_split_a_duplicated_pair(sandbox, shop):
    session, base = shop
    truth = sandbox.truth("shop-us").orders()
    visible = truth[truth["visible"]].sort_values("id")
    pair = visible[visible["duplicated"] & visible["malformed"].isna()].iloc[0]
    since = pair["created_at"] - timedelta(hours=2)
    expected = expected_rows(visible[visible["created_at"] >= since], ["id"])
    limit = expected.index(pair["id"]) + 1  # the first page ends on the first copy
    first = session.get(f"{base}/orders.json", params={
        "status": "any", "order": "id asc", "limit": limit, "created_at_min": since.isoformat()})
    second = session.get(first.links["next"]["url"])
    assert [order["id"] for order in first.json()["orders"]] == expected[:limit]
    assert second.json()["orders"][0]["id"] == pair["id"]
