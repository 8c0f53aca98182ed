"""Determinism over the wire, late visibility, and the ground truth agreeing with the API."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest
import requests

from connectors.sandbox import Sandbox, SandboxConfig

ANCHOR = datetime(2026, 11, 15, tzinfo=timezone.utc)


def small_config(**changes) -> SandboxConfig:
    return SandboxConfig(anchor=ANCHOR, days=20, skus=300, rate_limit_bucket=100_000,
                         rate_limit_leak_per_second=1_000.0, **changes)


def shopify_session(sb: Sandbox) -> requests.Session:
    session = requests.Session()
    session.headers["X-Shopify-Access-Token"] = sb.credentials()["SHOPOPS_SANDBOX_SHOP_US_TOKEN"]
    return session


def page_info(response: requests.Response) -> str:
    return response.links["next"]["url"].split("page_info=")[1]


def test_same_config_same_bytes_other_seed_other_bytes():
    bodies = []
    for config in (small_config(), small_config(), small_config(seed=8)):
        with Sandbox(config) as sb:
            shop = shopify_session(sb)
            orders = f"{sb.url}/shopify/shop-us/admin/api/2025-07/orders.json"
            first = shop.get(orders, params={"status": "any", "limit": 250, "order": "updated_at asc"})
            second = shop.get(first.links["next"]["url"])
            credentials = sb.credentials()
            woo = requests.get(f"{sb.url}/woocommerce/woo-eu/wp-json/wc/v3/orders", params={"per_page": 100},
                               auth=(credentials["SHOPOPS_SANDBOX_WOO_EU_KEY"], credentials["SHOPOPS_SANDBOX_WOO_EU_SECRET"]))
            bodies.append((first.content, page_info(first), second.content, woo.content, credentials))
    assert bodies[0] == bodies[1]
    assert all(part_a != part_b for part_a, part_b in zip(bodies[0], bodies[2]))


def test_late_version_stays_hidden_until_its_lag_has_passed():
    with Sandbox(small_config(anomalies={"late_visibility": 0.2})) as sb:
        later = ANCHOR + timedelta(days=40)  # every event has happened and shows
        truth = sb.truth("shop-us").orders(now=later)
        late = truth[(truth["late_visibility_minutes"] > 0) & truth["malformed"].isna() & (truth["version"] > 0)]
        row = late.iloc[0]
        updated, lag = row["updated_at"].to_pydatetime(), timedelta(minutes=int(row["late_visibility_minutes"]))
        shop = shopify_session(sb)
        orders = f"{sb.url}/shopify/shop-us/admin/api/2025-07/orders.json"
        exactly = {"status": "any", "updated_at_min": updated.isoformat(), "updated_at_max": updated.isoformat()}

        sb.clock.set(updated + lag - timedelta(seconds=1))
        assert row["id"] not in [o["id"] for o in shop.get(orders, params=exactly).json()["orders"]]
        hidden = sb.truth("shop-us").orders().set_index("id").loc[row["id"]]
        assert hidden["visible"] and hidden["version"] == row["version"] - 1 and hidden["updated_at"] < updated

        sb.clock.set(updated + lag)
        assert row["id"] in [o["id"] for o in shop.get(orders, params=exactly).json()["orders"]]
        shown = sb.truth("shop-us").orders().set_index("id").loc[row["id"]]
        assert shown["version"] == row["version"] and shown["updated_at"] == updated


def test_api_lines_and_refunds_match_the_truth():
    with Sandbox(small_config()) as sb:
        shop = shopify_session(sb)
        url, params, orders = (f"{sb.url}/shopify/shop-us/admin/api/2025-07/orders.json",
                               {"status": "any", "limit": 250, "order": "id asc"}, [])
        while url:
            response = shop.get(url, params=params)
            orders += response.json()["orders"]
            url, params = response.links.get("next", {}).get("url"), None
        truth = sb.truth("shop-us")
        table = truth.orders()
        clean = set(table[table["visible"] & table["malformed"].isna()]["id"])
        seen, units, refunded = set(), Counter(), Counter()
        for order in orders:
            if order["id"] not in clean or order["id"] in seen:  # skip malformed and duplicate listings
                continue
            seen.add(order["id"])
            for line in order["line_items"]:
                units[line["sku"]] += line["quantity"]
            for refund in order["refunds"]:
                for line in refund["refund_line_items"]:
                    refunded[line["line_item_id"]] += line["quantity"]
        lines = truth.lines()
        lines = lines[lines["order_id"].isin(clean)]
        assert seen == clean
        assert units == Counter(lines.groupby("sku")["quantity"].sum().to_dict())
        assert refunded == Counter({k: v for k, v in lines.set_index("line_id")["refunded_quantity"].items() if v})
        assert sum(refunded.values()) > 0


def test_sources_credentials_and_supply_csv(tmp_path):
    config = small_config()
    with Sandbox(config) as sb:
        sources = {source["name"]: source for source in sb.sources()}
        assert sources["shop-us"] == {
            "name": "shop-us", "kind": "shopify", "base_url": f"{sb.url}/shopify/shop-us", "api_version": "2025-07",
            "credentials": {"access_token": {"env": "SHOPOPS_SANDBOX_SHOP_US_TOKEN"}}}
        assert sources["woo-eu"] == {
            "name": "woo-eu", "kind": "woocommerce", "base_url": f"{sb.url}/woocommerce/woo-eu",
            "stock_pool": "shop-eu",  # the Shopify shop selling in the same currency
            "credentials": {"consumer_key": {"env": "SHOPOPS_SANDBOX_WOO_EU_KEY"},
                            "consumer_secret": {"env": "SHOPOPS_SANDBOX_WOO_EU_SECRET"}}}
        credentials = sb.credentials()
        assert set(credentials) == {"SHOPOPS_SANDBOX_SHOP_US_TOKEN", "SHOPOPS_SANDBOX_SHOP_EU_TOKEN",
                                    "SHOPOPS_SANDBOX_WOO_EU_KEY", "SHOPOPS_SANDBOX_WOO_EU_SECRET",
                                    # the support desk and survey services (test_sandbox_support.py)
                                    "SHOPOPS_SANDBOX_SUPPORT_API_TOKEN", "SHOPOPS_SANDBOX_SUPPORT_CHAT_TOKEN",
                                    "SHOPOPS_SANDBOX_SMS_AUTH_TOKEN", "SHOPOPS_SANDBOX_SMTP_PASSWORD",
                                    "SHOPOPS_SANDBOX_SURVEYS_API_TOKEN"}
        assert credentials["SHOPOPS_SANDBOX_SHOP_US_TOKEN"].startswith("shpat_")
        assert credentials["SHOPOPS_SANDBOX_WOO_EU_KEY"].startswith("ck_")
        path = sb.write_supply_csv(tmp_path / "supply.csv")
    header, *rows = path.read_text().splitlines()
    assert header == "sku,supplier,pack_size,moq,lead_time_days,lead_time_std_days"
    assert len(rows) == config.skus and rows[0].startswith("SKU-00001,")
    for row in rows:
        pack, moq, lead = (int(value) for value in row.split(",")[-4:-1])
        assert moq % pack == 0 and 3 <= lead <= 60


def test_config_constructors_and_validation():
    demo = SandboxConfig.demo(anchor=ANCHOR)
    assert [(s.name, s.kind, s.timezone, s.currency, s.orders_per_day) for s in demo.stores] == [
        ("shop-us", "shopify", "America/New_York", "USD", 150),
        ("shop-eu", "shopify", "Europe/Berlin", "EUR", 120),
        ("woo-eu", "woocommerce", "Europe/Paris", "EUR", 80)]
    assert demo.initial_now == ANCHOR and demo.anomalies == {"duplicate": 0.005, "malformed": 0.003,
                                                            "late_visibility": 0.01, "deleted": 0.0}
    assert SandboxConfig().anchor.minute == 0 and SandboxConfig().anchor.second == 0
    bench = SandboxConfig.bench(60_000, anchor=ANCHOR)
    assert bench.rate_limit_bucket == 10_000 and bench.rate_limit_leak_per_second == 10_000
    world_orders = sum(Sandbox(bench).truth(s.name).orders()["visible"].sum() for s in bench.stores)
    assert 57_000 < world_orders < 63_000
    with pytest.raises(ValueError):
        SandboxConfig(anomalies={"typo": 0.1})
    with pytest.raises(ValueError):
        SandboxConfig(stores=[SandboxConfig.demo().stores[0]] * 2)


def test_malformed_orders_are_damaged_on_the_wire_as_the_truth_says():
    with Sandbox(small_config(anomalies={"malformed": 0.1, "duplicate": 0.0})) as sb:
        shop = shopify_session(sb)
        url, params, orders = (f"{sb.url}/shopify/shop-us/admin/api/2025-07/orders.json",
                               {"status": "any", "limit": 250}, [])
        while url:
            response = shop.get(url, params=params)
            orders += response.json()["orders"]
            url, params = response.links.get("next", {}).get("url"), None
        truth = sb.truth("shop-us").orders()
        skus = set(sb.truth("shop-us").products()["sku"])
    visible = truth[truth["visible"]]
    kind_of = visible.set_index("id")["malformed"]

    def unparsable(text):
        try:
            Decimal(text)
            return False
        except ArithmeticError:
            return True

    damaged = {
        "negative_quantity": lambda o: any(line["quantity"] == -1 for line in o["line_items"]),
        "unknown_sku": lambda o: any(line["sku"] not in skus for line in o["line_items"]),
        "bad_money": lambda o: unparsable(o["total_price"]) or any(unparsable(line["price"]) for line in o["line_items"]),
        "impossible_date": lambda o: o["created_at"].startswith("1970")
        or datetime.fromisoformat(o["created_at"]) > datetime.fromisoformat(o["updated_at"]),
        "missing_lines": lambda o: o["line_items"] == [],
    }
    assert sum(order["id"] is None for order in orders) == (visible["malformed"] == "missing_id").sum() > 0
    seen = Counter()
    for order in orders:
        if order["id"] is None:
            continue
        kind = kind_of[order["id"]]
        for name, check in damaged.items():
            assert check(order) == (kind == name), (name, order["id"])
        seen[kind] += 1
    assert all(seen[kind] > 0 for kind in damaged)
