"""Promotions in the sandbox: served over Shopify price rules / WooCommerce coupons, written into the
orders, exported as a calendar, and their truth matching what the orders show."""

from __future__ import annotations

import csv
import json
import re
from collections import defaultdict
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
import requests

from connectors.sandbox import Sandbox, SandboxConfig
from connectors.sandbox.catalogue import CATEGORY_NAMES
from connectors.sandbox.promotion_render import collection_id
from connectors.sandbox.promotions import KINDS

ANCHOR = datetime(2026, 6, 1, tzinfo=timezone.utc)
VERSION = "2025-07"


@pytest.fixture(scope="module")
def sandbox():
    config = SandboxConfig(anchor=ANCHOR, days=90, skus=1500, competitors=[],
                           rate_limit_bucket=10_000, rate_limit_leak_per_second=10_000.0)
    with Sandbox(config) as sb:
        yield sb


@pytest.fixture(scope="module")
def truth(sandbox):
    return sandbox.promotion_truth()


def _shopify(sandbox, store):
    session = requests.Session()
    session.headers["X-Shopify-Access-Token"] = sandbox.credentials()[f"SHOPOPS_SANDBOX_{store.upper().replace('-', '_')}_TOKEN"]
    return session, f"{sandbox.url}/shopify/{store}/admin/api/{VERSION}"


def _woo(sandbox):
    source = next(s for s in sandbox.sources() if s["name"] == "woo-eu")
    creds = sandbox.credentials()
    session = requests.Session()
    session.auth = tuple(creds[source["credentials"][field]["env"]] for field in ("consumer_key", "consumer_secret"))
    return session, f"{source['base_url']}/wp-json/wc/v3"


def _walk_shopify(session, url, params):
    rows, pages = [], 0
    while url:
        response = session.get(url, params=params)
        assert response.status_code == 200, response.text
        key = next(iter(response.json()))
        rows += response.json()[key]
        pages += 1
        link = response.headers.get("link", "")
        url = next((part.split(";")[0].strip()[1:-1] for part in link.split(",") if 'rel="next"' in part), None)
        params = None
    return rows, pages


def _orders_shopify(sandbox, store):
    session, base = _shopify(sandbox, store)
    orders, _ = _walk_shopify(session, f"{base}/orders.json", {"status": "any", "limit": 250})
    return orders


def _orders_woo(sandbox):
    session, base = _woo(sandbox)
    orders, page = [], 1
    while True:
        response = session.get(f"{base}/orders", params={"per_page": 100, "page": page})
        orders += response.json()
        if page >= int(response.headers["X-WP-TotalPages"]):
            return orders
        page += 1


@pytest.fixture(scope="module")
def served(sandbox):
    """Every store's orders as served, by id (clean ones only)."""
    result = {}
    for store in ("shop-us", "shop-eu", "woo-eu"):
        orders = _orders_woo(sandbox) if store == "woo-eu" else _orders_shopify(sandbox, store)
        malformed = set(sandbox.truth(store).orders().query("malformed.notna()")["id"])
        result[store] = {o["id"]: o for o in orders if o["id"] is not None and o["id"] not in malformed}
    return result


def test_every_kind_is_planned_in_every_store(truth):
    frame = truth.promotions()
    for store in ("shop-us", "shop-eu", "woo-eu"):
        kinds = set(frame.loc[(frame["store"] == store) & (frame["origin"] == "planned"), "type"])
        assert kinds == set(KINDS)
    assert set(frame["origin"]) == {"planned", "promotion_day", "welcome"}
    assert (frame["uplift"] == 1.0).any() and (frame["uplift"] > 1.0).any()
    assert (frame["pull_forward_share"] > 0).any()
    assert frame["promotion_id"].is_unique


def test_the_same_seed_gives_the_same_promotions():
    config = SandboxConfig(anchor=ANCHOR, days=60, skus=500, competitors=[])
    first = Sandbox(config).promotion_truth().promotions()
    second = Sandbox(config).promotion_truth().promotions()
    assert first.drop(columns=["parameters", "phases"]).equals(second.drop(columns=["parameters", "phases"]))


def test_price_rules_are_served_with_shopify_shapes_and_pagination(sandbox, truth):
    session, base = _shopify(sandbox, "shop-us")
    rules, pages = _walk_shopify(session, f"{base}/price_rules.json", {"limit": 3})
    expected = truth.promotions("shop-us")
    expected_ids = sorted(i for ids in expected["price_rule_ids"] for i in ids)
    assert [r["id"] for r in rules] == expected_ids
    assert pages == -(-len(rules) // 3)
    for rule in rules:
        assert rule["value_type"] in ("percentage", "fixed_amount")
        assert rule["value"].startswith("-") and Decimal(rule["value"]) < 0
        assert rule["target_type"] == "line_item" and rule["target_selection"] in ("all", "entitled")
        for field in ("allocation_method", "entitled_product_ids", "entitled_variant_ids", "entitled_collection_ids",
                      "prerequisite_subtotal_range", "prerequisite_customer_ids", "customer_selection", "starts_at",
                      "ends_at", "updated_at", "title"):
            assert field in rule
    by_code = {r["title"]: r for r in rules}
    for row in expected.itertuples():
        if row.type == "threshold":
            tiers = row.parameters["tiers"]
            for code, tier in zip(row.codes, tiers):
                rule = by_code[code]
                assert rule["value_type"] == "fixed_amount"
                assert Decimal(rule["value"]) == -Decimal(tier["off"])
                assert Decimal(rule["prerequisite_subtotal_range"]["greater_than_or_equal_to"]) == Decimal(tier["spend"])
        if row.type == "member":
            assert by_code[row.codes[0]]["customer_selection"] == "prerequisite"
            assert by_code[row.codes[0]]["prerequisite_customer_ids"]
    # updated_at_min filters; a page_info request takes only limit/fields.
    middle = sorted(r["updated_at"] for r in rules)[len(rules) // 2]
    later = session.get(f"{base}/price_rules.json", params={"updated_at_min": middle, "limit": 250}).json()["price_rules"]
    assert later and all(datetime.fromisoformat(r["updated_at"]) >= datetime.fromisoformat(middle) for r in later)
    first = session.get(f"{base}/price_rules.json", params={"limit": 2})
    token = first.headers["link"].split("page_info=")[1].split(">")[0]
    bad = session.get(f"{base}/price_rules.json", params={"page_info": token, "updated_at_min": middle})
    assert bad.status_code == 400
    # Each rule has its discount code.
    rule = rules[-1]
    codes = session.get(f"{base}/price_rules/{rule['id']}/discount_codes.json").json()["discount_codes"]
    assert [(c["code"], c["price_rule_id"]) for c in codes] == [(rule["title"], rule["id"])]
    assert session.get(f"{base}/price_rules/1/discount_codes.json").status_code == 404


def test_price_rules_appear_once_created(sandbox, truth):
    session, base = _shopify(sandbox, "shop-us")
    frame = truth.promotions("shop-us")
    planned = frame[(frame["origin"] == "planned") & frame["price_rule_ids"].map(len).astype(bool)]
    first = planned.sort_values("starts_at").iloc[0]
    sandbox.clock.set(first["starts_at"].to_pydatetime() - timedelta(days=6))
    try:
        ids = {r["id"] for r in session.get(f"{base}/price_rules.json", params={"limit": 250}).json()["price_rules"]}
    finally:
        sandbox.clock.set(ANCHOR)
    assert not set(first["price_rule_ids"]) & ids


def test_coupons_are_served_with_woocommerce_shapes_and_pagination(sandbox, truth):
    session, base = _woo(sandbox)
    expected = truth.promotions("woo-eu")
    expected_ids = sorted(i for ids in expected["coupon_ids"] for i in ids)
    first = session.get(f"{base}/coupons", params={"per_page": 2, "orderby": "id", "order": "asc"})
    assert first.status_code == 200
    total, pages = int(first.headers["X-WP-Total"]), int(first.headers["X-WP-TotalPages"])
    assert total == len(expected_ids) and pages == -(-total // 2)
    assert 'rel="next"' in first.headers["Link"]
    coupons = first.json()
    for page in range(2, pages + 1):
        coupons += session.get(f"{base}/coupons", params={"per_page": 2, "page": page, "orderby": "id",
                                                          "order": "asc"}).json()
    assert [c["id"] for c in coupons] == expected_ids
    for coupon in coupons:
        assert coupon["discount_type"] in ("percent", "fixed_cart", "fixed_product")
        assert coupon["code"] == coupon["code"].lower()
        for field in ("amount", "date_expires", "minimum_amount", "product_ids", "product_categories",
                      "email_restrictions", "date_created", "date_modified", "date_created_gmt"):
            assert field in coupon
    by_code = {c["code"]: c for c in coupons}
    for row in expected.itertuples():
        if row.type == "threshold":
            for code, tier in zip(row.codes, row.parameters["tiers"]):
                assert by_code[code.lower()]["discount_type"] == "fixed_cart"
                assert Decimal(by_code[code.lower()]["minimum_amount"]) == Decimal(tier["spend"])
                assert Decimal(by_code[code.lower()]["amount"]) == Decimal(tier["off"])
        if row.type == "member":
            members = set(truth.members("woo-eu")["email"])
            assert set(by_code[row.codes[0].lower()]["email_restrictions"]) == members
    middle = sorted(c["date_modified_gmt"] for c in coupons)[total // 2]
    after = session.get(f"{base}/coupons", params={"modified_after": middle, "dates_are_gmt": "true",
                                                    "per_page": 100}).json()
    assert after and all(c["date_modified_gmt"] > middle for c in after)
    assert session.get(f"{base}/coupons", params={"per_page": 101}).status_code == 400


def _in_scope(row, sku):
    return not row.scope_skus or sku in set(row.scope_skus)


def test_orders_exactly_on_a_threshold_qualify_and_one_cent_below_do_not(sandbox, truth, served):
    checked = defaultdict(int)
    for store in ("shop-us", "shop-eu", "woo-eu"):
        probes = truth.threshold_probes(store)
        promotions = truth.promotions(store).set_index("promotion_id")
        used = truth.orders(store).set_index("order_id")
        for probe in probes.itertuples():
            order = served[store].get(probe.order_id)
            if order is None:
                continue
            row = promotions.loc[probe.promotion_id]
            price_field = "price" if store != "woo-eu" else "subtotal"
            subtotal = sum((Decimal(line[price_field]) * (line["quantity"] if store != "woo-eu" else 1))
                           for line in order["line_items"]
                           if _in_scope(row, line["sku"]) and Decimal(line[price_field]) > 0)
            assert subtotal == probe.in_scope_subtotal
            ran = probe.order_id in used.index and used.loc[probe.order_id, "promotion_id"] == probe.promotion_id
            if row.type == "threshold":
                spends = [Decimal(t["spend"]) for t in row.parameters["tiers"]]
                offs = [Decimal(t["off"]) for t in row.parameters["tiers"]]
                reached = [k for k, spend in enumerate(spends) if subtotal >= spend]
                expected = offs[reached[-1]] if reached else Decimal(0)
                discount = Decimal(order["total_discounts" if store != "woo-eu" else "discount_total"])
                assert discount == expected
                checked["on" if probe.at_threshold else "below"] += 1
            else:  # a gift's minimum spend
                gifts = [line for line in order["line_items"] if Decimal(line[price_field]) == 0]
                assert bool(gifts) == probe.at_threshold == ran
                checked["gift"] += 1
    assert checked["on"] >= 3 and checked["below"] >= 3 and checked["gift"] >= 2


def test_gift_lines_are_priced_zero_and_flash_phases_follow_the_clock(sandbox, truth, served):
    seen = defaultdict(int)
    for store in ("shop-us", "shop-eu", "woo-eu"):
        promotions = truth.promotions(store).set_index("promotion_id")
        used = truth.orders(store)
        for row in used.itertuples():
            order = served[store].get(row.order_id)
            promotion = promotions.loc[row.promotion_id]
            if order is None or promotion["origin"] != "planned":
                continue
            created = datetime.fromisoformat(order["created_at"] if store != "woo-eu" else order["date_created_gmt"] + "+00:00")
            assert promotion["starts_at"] <= created < promotion["ends_at"]
            if promotion["type"] == "flash":
                phase = promotion["phases"][row.phase]
                assert phase["starts_at"] <= created < phase["ends_at"]
                seen[f"flash-{phase['rule']}"] += 1
                discount = Decimal(order["total_discounts" if store != "woo-eu" else "discount_total"])
                assert (discount > 0) == (phase["rule"] == "percent")
            gift_sku = promotion["parameters"].get("gift_sku") or next(
                (p.get("gift_sku") for p in promotion["parameters"].get("phases", []) if "gift_sku" in p), None)
            gift_lines = [line for line in order["line_items"] if line["sku"] == gift_sku
                          and Decimal(line["price"] if store != "woo-eu" else line["total"]) == 0]
            assert len(gift_lines) == row.gift_units
            for line in gift_lines:
                assert line["quantity"] == 1
                if store == "woo-eu":
                    assert line["subtotal"] == line["total"] == "0.00"
                    assert line["meta_data"][0]["key"] == "_free_gift"
                else:
                    assert line["total_discount"] == "0.00"
                    assert line["properties"] == [{"name": "_free_gift", "value": row.promotion_id}]
                seen["gift"] += 1
    assert seen["gift"] > 10 and seen["flash-percent"] >= 1 and seen["flash-gift"] >= 1


def test_member_only_discounts_go_to_members(sandbox, truth, served):
    checked = 0
    for store in ("shop-us", "shop-eu", "woo-eu"):
        promotions = truth.promotions(store).set_index("promotion_id")
        members = set(truth.members(store)["customer_id"])
        tagged = {o["id"] for o in served[store].values()
                  if (o["customer"]["tags"] == "member" if store != "woo-eu"
                      else {"key": "is_member", "value": "yes"} in [{k: m[k] for k in ("key", "value")} for m in o["meta_data"]])}
        for row in truth.orders(store).itertuples():
            if row.order_id not in served[store] or not promotions.loc[row.promotion_id, "member_only"]:
                continue
            order = served[store][row.order_id]
            assert row.order_id in tagged
            assert (order["customer"]["id"] if store != "woo-eu" else order["customer_id"]) in members
            checked += 1
    assert checked > 5


def test_truth_discounts_equal_the_served_orders(sandbox, truth, served):
    for store in ("shop-us", "shop-eu", "woo-eu"):
        used = truth.orders(store)
        promotions = truth.promotions(store).set_index("promotion_id")
        served_discount = defaultdict(Decimal)
        served_orders = defaultdict(int)
        clean = used[used["order_id"].isin(served[store])]
        for row in clean.itertuples():
            order = served[store][row.order_id]
            if store == "woo-eu":
                served_discount[row.promotion_id] += sum(
                    Decimal(line["subtotal"]) - Decimal(line["total"]) for line in order["line_items"])
                if row.code:
                    assert [c["code"] for c in order["coupon_lines"]] == [row.code.lower()]
                    assert Decimal(order["coupon_lines"][0]["discount"]) == Decimal(order["discount_total"])
                else:
                    assert order["coupon_lines"] == []
            else:
                allocated = sum(Decimal(a["amount"]) for line in order["line_items"]
                                for a in line["discount_allocations"])
                assert allocated == Decimal(order["total_discounts"])
                served_discount[row.promotion_id] += Decimal(order["total_discounts"])
                if row.code:
                    assert [c["code"] for c in order["discount_codes"]] == [row.code]
                    assert order["discount_applications"][0]["type"] == "discount_code"
                elif order["discount_applications"]:
                    assert order["discount_applications"][0]["type"] == "automatic"
            served_orders[row.promotion_id] += 1
        every = truth.orders(store).groupby("promotion_id")["discount"].sum()
        for promotion_id, row in promotions.iterrows():
            if served_orders[promotion_id] == len(used[used["promotion_id"] == promotion_id]):
                assert served_discount[promotion_id] == row["discount"]  # no malformed order among them
            assert every.get(promotion_id, Decimal(0)) == row["discount"]
            assert row["orders"] == (used["promotion_id"] == promotion_id).sum()


def test_realised_figures_add_up(truth):
    frame = truth.promotions()
    planned = frame[frame["origin"] == "planned"]
    assert (planned["units_in_scope"] == planned["baseline_units"] + planned["added_units"]
            + planned["cannibalised_units"]).all()
    lifted = planned[planned["uplift"] > 1.0]
    assert (lifted["added_units"] + lifted["cannibalised_units"] > 0).mean() > 0.8
    assert (planned.loc[planned["uplift"] == 1.0, "added_units"] == 0).all()
    assert (planned.loc[planned["pull_forward_share"] == 0, "pulled_forward_units"] == 0).all()
    assert (planned.loc[planned["pull_forward_share"] > 0, "pulled_forward_units"] > 0).any()
    gifts = planned[planned["type"].isin(["gift", "flash"])]
    assert (gifts["gift_units"] > 0).any()


def test_refunds_still_happen_on_promoted_orders(sandbox, truth):
    later = ANCHOR + timedelta(days=60)
    orders = sandbox.truth("shop-us").orders(now=later)
    used = truth.orders("shop-us")
    refunded = orders[orders["refunded_total"] > 0]
    assert refunded["id"].isin(used["order_id"]).sum() > 5


def test_the_calendar_has_one_row_per_promotion(sandbox, truth, tmp_path):
    path = sandbox.write_promotion_calendar(tmp_path / "promotions.csv")
    with open(path, newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == ["promotion_id", "name", "type", "parameters", "starts_at", "ends_at", "skus",
                             "categories", "channels", "member_only", "codes"]
    frame = truth.promotions()
    assert [r["promotion_id"] for r in rows] == frame["promotion_id"].tolist()
    for row, expected in zip(rows, frame.itertuples()):
        assert row["channels"] == expected.store
        assert json.loads(row["parameters"]) == expected.parameters
        assert row["codes"] == ";".join(expected.codes)
        assert row["member_only"] == ("true" if expected.member_only else "false")
        assert datetime.fromisoformat(row["starts_at"]) == expected.starts_at
        if expected.type == "flash":
            phases = json.loads(row["parameters"])["phases"]
            assert phases[0]["minutes"] == 60 and "percent" in phases[0] and "gift_sku" in phases[1]
    assert path.read_bytes() == sandbox.write_promotion_calendar(tmp_path / "again.csv").read_bytes()


# -- scopes: collections, categories and products ------------------------------------------------
def _next_url(response):
    return response.links.get("next", {}).get("url")


def test_custom_collections_are_the_categories_with_shopify_shapes_and_pagination(sandbox):
    session, base = _shopify(sandbox, "shop-us")
    url = f"{base}/custom_collections.json"
    ids, names = [collection_id(c) for c in range(len(CATEGORY_NAMES))], list(CATEGORY_NAMES)
    collections, pages = _walk_shopify(session, url, {"limit": 5})
    assert [c["id"] for c in collections] == ids and pages == 3
    assert [c["title"] for c in collections] == names
    history_start = ANCHOR - timedelta(days=90)
    for collection in collections:
        assert list(collection) == ["id", "handle", "title", "updated_at", "body_html", "published_at", "sort_order",
                                    "template_suffix", "published_scope", "admin_graphql_api_id"]
        assert collection["handle"] == collection["title"].lower()
        assert collection["body_html"] == "" and collection["template_suffix"] is None
        assert collection["sort_order"] == "best-selling" and collection["published_scope"] == "web"
        assert collection["admin_graphql_api_id"] == f"gid://shopify/Collection/{collection['id']}"
        published = datetime.fromisoformat(collection["published_at"])
        assert collection["updated_at"] == collection["published_at"] and published < history_start
        assert collection["published_at"][-6:] in ("-05:00", "-04:00")  # shop-local, New York
    products, _ = _walk_shopify(session, f"{base}/products.json", {"limit": 250, "fields": "product_type"})
    assert {p["product_type"] for p in products} <= set(names)
    # Headers as for every endpoint; the default limit is 50.
    first = session.get(url)
    assert first.headers["X-Shopify-API-Version"] == VERSION and "X-Shopify-Shop-Api-Call-Limit" in first.headers
    assert len(first.json()["custom_collections"]) == 12 and "link" not in first.headers
    # Filters.
    get = lambda **params: session.get(url, params=params)  # noqa: E731
    assert [c["id"] for c in get(since_id=ids[8]).json()["custom_collections"]] == ids[9:]
    assert [c["id"] for c in get(ids=f"{ids[4]},{ids[1]},1").json()["custom_collections"]] == [ids[1], ids[4]]
    assert [c["title"] for c in get(title="gLaSsWaRe").json()["custom_collections"]] == ["Glassware"]
    assert [c["title"] for c in get(handle="pet").json()["custom_collections"]] == ["Pet"]
    assert get(handle="Pet").json()["custom_collections"] == []
    assert get(fields="id,title", limit=1).json()["custom_collections"] == [{"id": ids[0], "title": names[0]}]
    # Cursor pages: next, previous, page_info companions, limits and bad values.
    page_two = session.get(_next_url(get(limit=5, since_id=ids[0])))
    assert [c["id"] for c in page_two.json()["custom_collections"]] == ids[6:11]
    previous = session.get(page_two.links["previous"]["url"])
    assert [c["id"] for c in previous.json()["custom_collections"]] == ids[1:6]
    token = page_two.links["next"]["url"].split("page_info=")[1]
    assert [c["id"] for c in get(page_info=token, limit=1).json()["custom_collections"]] == [ids[11]]
    bad = get(page_info=token, title="Pet")
    assert bad.status_code == 400 and bad.json() == {"errors": "title cannot be passed when page_info is present."}
    assert get(page_info="nonsense").json() == {"errors": {"page_info": "Invalid value."}}
    prices_token = session.get(f"{base}/price_rules.json", params={"limit": 1}).links["next"]["url"].split("page_info=")[1]
    assert get(page_info=prices_token).status_code == 400  # a cursor of another endpoint
    for limit in ("0", "251", "x"):
        response = get(limit=limit)
        assert response.status_code == 400 and response.json() == {"errors": {"limit": ["must be between 1 and 250"]}}
    assert get(limit=250).status_code == 200
    assert get(since_id="x").status_code == 400 and get(ids="a,b").status_code == 400
    unauthorized = requests.get(url)
    assert unauthorized.status_code == 401 and "Invalid API key" in unauthorized.json()["errors"]


def test_price_rule_scopes_resolve_to_collections_and_variants_of_the_truth_scope(sandbox, truth):
    checked = defaultdict(int)
    for store in ("shop-us", "shop-eu"):
        session, base = _shopify(sandbox, store)
        collections = {c["id"]: c["title"] for c in session.get(
            f"{base}/custom_collections.json", params={"limit": 250}).json()["custom_collections"]}
        products, _ = _walk_shopify(session, f"{base}/products.json", {"limit": 250})
        variant_skus = {v["id"]: v["sku"] for p in products for v in p["variants"]}
        rules, _ = _walk_shopify(session, f"{base}/price_rules.json", {"limit": 250})
        promotions = {rule_id: row for row in truth.promotions(store).itertuples() for rule_id in row.price_rule_ids}
        for rule in rules:
            row = promotions[rule["id"]]
            assert set(rule["entitled_collection_ids"]) <= set(collections)
            assert [collections[c] for c in rule["entitled_collection_ids"]] == row.scope_categories
            skus = {variant_skus[v] for v in rule["entitled_variant_ids"]}
            assert skus <= set(row.scope_skus)
            if not row.scope_categories:
                assert skus == set(row.scope_skus)
            checked["collections"] += bool(rule["entitled_collection_ids"])
            checked["variants"] += bool(rule["entitled_variant_ids"])
    assert checked["collections"] >= 1 and checked["variants"] >= 1


def test_product_categories_with_woocommerce_shapes_and_pagination(sandbox):
    session, base = _woo(sandbox)
    url = f"{base}/products/categories"
    names = list(CATEGORY_NAMES)
    first = session.get(url, params={"per_page": 5})
    assert first.status_code == 200
    assert (first.headers["X-WP-Total"], first.headers["X-WP-TotalPages"]) == ("12", "3")
    assert 'rel="next"' in first.headers["Link"] and 'rel="prev"' not in first.headers["Link"]
    categories = first.json()
    page = 2
    while _next_url(first):
        first = session.get(_next_url(first))
        assert 'rel="prev"' in first.headers["Link"] and f"page={page}" in first.url
        categories += first.json()
        page += 1
    assert [c["name"] for c in categories] == sorted(names)  # orderby name, order asc by default
    products = sandbox.truth("woo-eu").products()
    products["product"] = products["title"].str.split(" - ").str[0]  # the truth's title carries the variant
    counts = products[products["created_at"] <= ANCHOR].drop_duplicates("product").groupby("category").size()
    for category in categories:
        assert set(category) >= {"id", "name", "slug", "parent", "description", "display", "image", "menu_order",
                                 "count"}
        assert category["id"] == 15 + names.index(category["name"])
        assert category["slug"] == category["name"].lower()
        assert (category["parent"], category["description"], category["display"], category["image"],
                category["menu_order"]) == (0, "", "default", None, 0)
        assert category["count"] == counts.get(category["name"], 0)
    get = lambda **params: session.get(url, params=params)  # noqa: E731
    assert [c["id"] for c in get(orderby="id", per_page=100).json()] == list(range(15, 27))
    assert [c["slug"] for c in get(orderby="slug", order="desc", per_page=3).json()] == sorted(
        n.lower() for n in names)[::-1][:3]
    assert [c["id"] for c in get(include="17,15", orderby="include").json()] == [17, 15]
    assert [c["name"] for c in get(include="17,15").json()] == ["Ceramics", "Kitchen"]
    assert len(get(exclude="15,16", per_page=100).json()) == 10
    assert [c["name"] for c in get(search="WARE").json()] == ["Glassware"]
    assert [c["name"] for c in get(slug="pet,kitchen").json()] == ["Kitchen", "Pet"]
    assert len(get(parent=0, per_page=100).json()) == 12 and get(parent=15).json() == []
    counted = get(orderby="count", order="desc", per_page=100).json()
    assert [c["count"] for c in counted] == sorted((c["count"] for c in counted), reverse=True)
    past = get(page=9)
    assert past.status_code == 200 and past.json() == [] and past.headers["X-WP-Total"] == "12"
    for params, name in (({"per_page": 101}, "per_page"), ({"per_page": 0}, "per_page"),
                         ({"orderby": "date"}, "orderby"), ({"order": "up"}, "order"), ({"include": "x"}, "include"),
                         ({"page": 0}, "page")):
        response = get(**params)
        assert response.status_code == 400, params
        assert response.json()["code"] == "rest_invalid_param" and list(response.json()["data"]["params"]) == [name]
    assert get(per_page=101).json()["data"]["params"]["per_page"] == \
        "per_page must be between 1 (inclusive) and 100 (inclusive)"
    unauthorized = requests.get(url)
    assert unauthorized.status_code == 401 and unauthorized.json() == {
        "code": "woocommerce_rest_cannot_view", "message": "Sorry, you cannot list resources.", "data": {"status": 401}}


def test_products_by_id_serve_the_ids_of_the_order_lines(sandbox, served):
    session, base = _woo(sandbox)
    catalogue = sandbox.truth("woo-eu").products().set_index("sku")
    lines = {}
    for order in served["woo-eu"].values():
        for line in order["line_items"]:
            if line["sku"] in catalogue.index:
                lines.setdefault((line["product_id"], line["variation_id"]), line)
    simple = [line for (_, variation), line in lines.items() if not variation][:15]
    varied = [line for (_, variation), line in lines.items() if variation][:15]
    assert simple and varied
    product_fields = {"id", "name", "slug", "type", "status", "sku", "parent_id", "price", "regular_price",
                      "categories", "variations", "date_created", "date_created_gmt", "date_modified",
                      "date_modified_gmt"}
    for line in simple + varied:
        expected = catalogue.loc[line["sku"]]
        product = session.get(f"{base}/products/{line['product_id']}")
        assert product.status_code == 200
        product = product.json()
        assert set(product) >= product_fields
        assert product["id"] == line["product_id"] and product["status"] == "publish" and product["parent_id"] == 0
        assert product["name"] == expected["title"].split(" - ")[0]
        assert product["slug"] == re.sub(r"[^a-z0-9]+", "-", product["name"].lower()).strip("-")
        assert product["categories"] == [{"id": product["categories"][0]["id"], "name": expected["category"],
                                          "slug": expected["category"].lower()}]
        created = datetime.fromisoformat(product["date_created_gmt"] + "+00:00")
        assert created == expected["created_at"] and product["date_modified_gmt"] >= product["date_created_gmt"]
        if line["variation_id"]:
            assert product["type"] == "variable" and product["sku"] == "" and product["regular_price"] == ""
            assert line["variation_id"] in product["variations"] and product["variations"] == sorted(product["variations"])
            variation = session.get(f"{base}/products/{line['variation_id']}").json()
            assert set(variation) >= product_fields
            assert (variation["id"], variation["type"], variation["parent_id"], variation["sku"], variation["categories"],
                    variation["variations"]) == (line["variation_id"], "variation", line["product_id"], line["sku"], [], [])
            assert variation["name"] == line["name"] == expected["title"]
            assert Decimal(variation["regular_price"]) == Decimal(variation["price"]) == expected["list_price"]
            assert Decimal(product["price"]) <= Decimal(variation["price"])
        else:
            assert (product["type"], product["sku"], product["variations"]) == ("simple", line["sku"], [])
            assert Decimal(product["regular_price"]) == Decimal(product["price"]) == expected["list_price"]
    # Not a product (an order, nothing), or not listed yet at the clock: 404. No credentials: 401.
    invalid = {"code": "woocommerce_rest_product_invalid_id", "message": "Invalid ID.", "data": {"status": 404}}
    for post_id in (0, next(iter(served["woo-eu"])), 999_999_999):
        response = session.get(f"{base}/products/{post_id}")
        assert response.status_code == 404 and response.json() == invalid
    product = session.get(f"{base}/products/{simple[0]['product_id']}").json()
    sandbox.clock.set(datetime.fromisoformat(product["date_created_gmt"] + "+00:00") - timedelta(seconds=1))
    try:
        assert session.get(f"{base}/products/{simple[0]['product_id']}").status_code == 404
    finally:
        sandbox.clock.set(ANCHOR)
    unauthorized = requests.get(f"{base}/products/{simple[0]['product_id']}")
    assert unauthorized.status_code == 401 and unauthorized.json()["code"] == "woocommerce_rest_cannot_view"
    assert session.get(f"{base}/products/categories/15").status_code == 404  # not a served route


def test_coupon_scopes_resolve_to_skus_and_categories_of_the_truth_scope(sandbox, truth):
    session, base = _woo(sandbox)
    coupons = session.get(f"{base}/coupons", params={"per_page": 100}).json()
    promotions = {coupon_id: row for row in truth.promotions("woo-eu").itertuples() for coupon_id in row.coupon_ids}
    terms = {c["id"]: c["name"] for c in session.get(f"{base}/products/categories", params={"per_page": 100}).json()}
    checked = defaultdict(int)
    for coupon in coupons:
        row = promotions[coupon["id"]]
        skus = set()
        for post_id in coupon["product_ids"]:
            product = session.get(f"{base}/products/{post_id}")
            assert product.status_code == 200
            assert product.json()["type"] in ("simple", "variation")
            skus.add(product.json()["sku"])
            checked[product.json()["type"]] += 1
        assert skus <= set(row.scope_skus)
        if coupon["product_ids"] and not row.scope_categories:
            assert skus == set(row.scope_skus)
        assert [terms[term] for term in coupon["product_categories"]] == row.scope_categories
        if coupon["product_categories"]:
            included = session.get(f"{base}/products/categories",
                                   params={"include": ",".join(map(str, coupon["product_categories"]))}).json()
            assert {c["name"] for c in included} == set(row.scope_categories)
        checked["skus"] += bool(coupon["product_ids"])
        checked["categories"] += bool(coupon["product_categories"])
    assert checked["skus"] >= 1 and checked["categories"] >= 1 and checked["simple"] and checked["variation"]
