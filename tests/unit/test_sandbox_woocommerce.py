"""The sandbox's WooCommerce REST v3 orders endpoint, checked against its ground truth."""

from __future__ import annotations

import math
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import requests

from connectors.sandbox import Sandbox, SandboxConfig

ANCHOR = datetime(2026, 11, 15, tzinfo=timezone.utc)
PARIS = ZoneInfo("Europe/Paris")


@pytest.fixture(scope="module")
def sandbox():
    with Sandbox(SandboxConfig(anchor=ANCHOR, days=30, skus=400)) as sb:
        yield sb


@pytest.fixture()
def woo(sandbox):
    credentials = sandbox.credentials()
    session = requests.Session()
    session.auth = (credentials["SHOPOPS_SANDBOX_WOO_EU_KEY"], credentials["SHOPOPS_SANDBOX_WOO_EU_SECRET"])
    yield session, f"{sandbox.url}/woocommerce/woo-eu/wp-json/wc/v3/orders"
    session.close()


def visible_truth(sandbox):
    truth = sandbox.truth("woo-eu").orders()
    return truth[truth["visible"]]


def test_auth_by_basic_or_query_string_else_401(sandbox, woo):
    session, url = woo
    key, secret = session.auth
    assert session.get(url).status_code == 200
    by_query = requests.get(url, params={"consumer_key": key, "consumer_secret": secret, "per_page": 5})
    assert by_query.status_code == 200 and len(by_query.json()) == 5
    assert "consumer_secret" not in by_query.links["next"]["url"]  # links never repeat the secret
    for attempt in (requests.get(url), requests.get(url, auth=(key, "cs_wrong"))):
        assert attempt.status_code == 401
        assert attempt.json() == {"code": "woocommerce_rest_cannot_view",
                                  "message": "Sorry, you cannot list resources.", "data": {"status": 401}}


@pytest.mark.parametrize("per_page", ["0", "101", "many"])
def test_per_page_outside_1_to_100_is_400(woo, per_page):
    session, url = woo
    response = session.get(url, params={"per_page": per_page})
    assert response.status_code == 400
    assert response.json() == {
        "code": "rest_invalid_param", "message": "Invalid parameter(s): per_page",
        "data": {"status": 400, "params": {"per_page": "per_page must be between 1 (inclusive) and 100 (inclusive)"}}}


def test_orderby_modified_is_rejected(woo):
    session, url = woo
    response = session.get(url, params={"orderby": "modified"})
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "rest_invalid_param" and "orderby" in body["data"]["params"]


def test_totals_headers_and_page_past_the_end(sandbox, woo):
    session, url = woo
    visible = visible_truth(sandbox)
    rows = len(visible) + int(visible["duplicated"].sum())
    first = session.get(url, params={"per_page": 100})
    assert int(first.headers["X-WP-Total"]) == rows
    assert int(first.headers["X-WP-TotalPages"]) == math.ceil(rows / 100)
    assert "next" in first.links and "prev" not in first.links
    last_page = math.ceil(rows / 100)
    last = session.get(url, params={"per_page": 100, "page": last_page})
    assert len(last.json()) == rows - 100 * (last_page - 1)
    assert "next" not in last.links and "prev" in last.links
    past = session.get(url, params={"per_page": 100, "page": last_page + 1})
    assert past.status_code == 200 and past.json() == []


def test_pages_in_date_order_list_every_visible_order_once(sandbox, woo):
    session, url = woo
    listed, page = [], 1
    while True:
        response = session.get(url, params={"per_page": 100, "page": page, "orderby": "date", "order": "asc"})
        listed.extend(order["id"] for order in response.json())
        if "next" not in response.links:
            break
        page += 1
    expected = []
    for row in visible_truth(sandbox).sort_values(["created_at", "id"]).itertuples():
        expected.extend([None if row.malformed == "missing_id" else row.id] * (2 if row.duplicated else 1))
    assert listed == expected


def test_modified_bounds_are_exclusive_in_site_time_unless_gmt(sandbox, woo):
    session, url = woo
    visible = visible_truth(sandbox)
    row = visible[visible["malformed"].isna() & ~visible["duplicated"]].iloc[50]
    modified = row["updated_at"].to_pydatetime()
    local = modified.astimezone(PARIS).replace(tzinfo=None)
    gmt = modified.replace(tzinfo=None)

    def ids(**params):
        return [order["id"] for order in session.get(url, params={"per_page": 100, **params}).json()]

    second = timedelta(seconds=1)
    assert row["id"] in ids(modified_after=(local - second).isoformat(), modified_before=(local + second).isoformat())
    assert row["id"] not in ids(modified_after=local.isoformat(), modified_before=(local + second).isoformat())
    assert row["id"] not in ids(modified_after=(local - second).isoformat(), modified_before=local.isoformat())
    assert row["id"] in ids(modified_after=(gmt - second).isoformat(), modified_before=(gmt + second).isoformat(),
                            dates_are_gmt="true")
    # A GMT wall clock read as Paris time is an hour off: the order falls outside.
    assert row["id"] not in ids(modified_after=(gmt - second).isoformat(), modified_before=(gmt + second).isoformat())


def test_status_filter_takes_a_comma_list(sandbox, woo):
    session, url = woo
    visible = visible_truth(sandbox)
    wanted = visible[visible["status"].isin(["cancelled", "refunded"])]
    response = session.get(url, params={"per_page": 100, "status": "cancelled,refunded"})
    assert int(response.headers["X-WP-Total"]) == len(wanted) + int(wanted["duplicated"].sum())
    assert {order["status"] for order in response.json()} <= {"cancelled", "refunded"}


def test_order_json_dates_money_and_refunds(sandbox, woo):
    session, url = woo
    orders, page = [], 1
    while page == 1 or "next" in response.links:
        response = session.get(url, params={"per_page": 100, "page": page, "status": "completed,refunded"})
        orders, page = orders + response.json(), page + 1
    malformed = set(visible_truth(sandbox).query("malformed.notna()")["id"])
    checked_refunds = 0
    for order in orders:
        if order["id"] is None or order["id"] in malformed:
            continue
        created_gmt = datetime.fromisoformat(order["date_created_gmt"]).replace(tzinfo=timezone.utc)
        assert datetime.fromisoformat(order["date_created"]) == created_gmt.astimezone(PARIS).replace(tzinfo=None)
        assert "+" not in order["date_created"] and "+" not in order["date_modified_gmt"]
        lines_total = sum(Decimal(line["total"]) for line in order["line_items"])
        assert Decimal(order["total"]) == lines_total + Decimal(order["shipping_total"]) + Decimal(order["total_tax"])
        assert Decimal(order["total_tax"]) == Decimal(order["cart_tax"]) + Decimal(order["shipping_tax"])
        assert Decimal(order["discount_total"]) == sum(
            Decimal(line["subtotal"]) - Decimal(line["total"]) for line in order["line_items"])
        for line in order["line_items"]:
            assert isinstance(line["price"], (int, float))
            assert line["price"] == pytest.approx(float(Decimal(line["total"]) / line["quantity"]))
        for refund in order["refunds"]:
            assert Decimal(refund["total"]) < 0
            checked_refunds += 1
        if order["status"] == "refunded":
            assert -sum(Decimal(r["total"]) for r in order["refunds"]) == Decimal(order["total"])
    assert checked_refunds > 5
