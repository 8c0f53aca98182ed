"""Normalisers: marketplace records → canonical rows, numbers worked out by hand."""

from decimal import Decimal

import pandas as pd

from tasks.normalize import normalize_shopify_orders, normalize_woocommerce_orders

SECRET = b"test-key"


def money(text: str) -> int:
    """An amount as the pipeline carries it: whole ten-thousandths."""
    return int(Decimal(text).scaleb(4))


def shopify_order(**overrides):
    order = {
        "id": 5001, "name": "#1001", "email": "Jane.Doe@Example.com",
        # New York, before and after the 2026-11-01 DST change: -04:00 then -05:00.
        "created_at": "2026-10-31T22:15:00-04:00",   # 2026-11-01 02:15 UTC
        "updated_at": "2026-11-02T09:00:00-05:00",   # 2026-11-02 14:00 UTC
        "processed_at": "2026-10-31T22:15:01-04:00", "cancelled_at": None, "closed_at": None,
        "financial_status": "partially_refunded", "fulfillment_status": "fulfilled", "currency": "USD",
        # 2 x 19.99 + 1 x 5.50 = 45.48; - 4.00 discount + 4.99 shipping + 3.68 tax = 50.15
        "total_line_items_price": "45.48", "total_discounts": "4.00", "total_tax": "3.68", "total_price": "50.15",
        "total_shipping_price_set": {"shop_money": {"amount": "4.99", "currency_code": "USD"}},
        "payment_gateway_names": ["shopify_payments"], "buyer_accepts_marketing": True,
        "customer": {"id": 77, "email": "jane.doe@example.com", "phone": "+15550001111"},
        "billing_address": {"country_code": "us"}, "shipping_address": {"country_code": "CA"},
        "discount_codes": [{"code": "FALL10", "amount": "4.00", "type": "fixed_amount"}],
        "line_items": [
            {"id": 11, "sku": "SKU-A", "title": "Mug", "quantity": 2, "price": "19.99", "total_discount": "4.00"},
            {"id": 12, "sku": "SKU-B", "title": "Spoon", "quantity": 1, "price": "5.50", "total_discount": "0.00"},
        ],
        "refunds": [{
            "id": 900, "created_at": "2026-11-02T08:59:00-05:00", "note": "chipped",
            "refund_line_items": [{"id": 1, "line_item_id": 11, "quantity": 1}],
            "transactions": [
                {"kind": "refund", "status": "success", "amount": "17.99"},
                {"kind": "refund", "status": "failure", "amount": "17.99"},  # not money that went back
            ],
        }],
    }
    order.update(overrides)
    return order


def test_shopify_order_becomes_canonical_rows_with_exact_money_and_utc_times():
    batch = normalize_shopify_orders([shopify_order()], "shop-us", SECRET)
    order = batch.orders.iloc[0]
    assert order["external_id"] == "5001"
    assert order["status"] == "partially_refunded"
    assert order["created_at"] == pd.Timestamp("2026-11-01T02:15:00Z")
    assert order["updated_at"] == pd.Timestamp("2026-11-02T14:00:00Z")
    assert (order["subtotal"], order["discount_total"], order["shipping_total"], order["tax_total"], order["total"]) == (
        money("45.48"), money("4.00"), money("4.99"), money("3.68"), money("50.15"))
    assert order["refunded_total"] == money("17.99")
    assert (order["line_count"], order["item_count"]) == (2, 3)
    assert (order["billing_country"], order["shipping_country"], order["discount_codes"]) == ("US", "CA", "FALL10")
    assert len(order["customer_key"]) == 64 and "@" not in order["customer_key"]

    lines = batch.lines.set_index("line_id")
    assert lines.loc["11", "line_total"] == money("35.98")  # 2 x 19.99 - 4.00
    assert lines.loc["12", "line_total"] == money("5.50")
    assert lines.loc["11", "refunded_quantity"] == 1 and lines.loc["12", "refunded_quantity"] == 0

    refund = batch.refunds.iloc[0]
    assert (refund["external_id"], refund["amount"], refund["created_at_estimated"]) == ("900", money("17.99"), False)
    assert refund["created_at"] == pd.Timestamp("2026-11-02T13:59:00Z")
    assert batch.contacts.iloc[0]["email"] == "jane.doe@example.com"
    assert not batch.reasons.rids()


def test_the_same_email_on_two_marketplaces_gives_one_customer_key_and_case_does_not_matter():
    shop = normalize_shopify_orders([shopify_order()], "shop-us", SECRET).orders.iloc[0]["customer_key"]
    woo = normalize_woocommerce_orders([woo_order(billing={"email": "JANE.DOE@example.com", "country": "US"})],
                                       "woo-eu", SECRET).orders.iloc[0]["customer_key"]
    other_secret = normalize_shopify_orders([shopify_order()], "shop-us", b"another").orders.iloc[0]["customer_key"]
    assert shop == woo
    assert other_secret != shop


def test_shopify_statuses_map_to_the_canonical_vocabulary():
    records = [
        shopify_order(id=1, financial_status="paid", fulfillment_status=None, refunds=[]),
        shopify_order(id=2, financial_status="paid", fulfillment_status="fulfilled", refunds=[]),
        shopify_order(id=3, financial_status="voided", cancelled_at="2026-11-01T10:00:00Z", refunds=[]),
        shopify_order(id=4, financial_status="refunded", cancelled_at="2026-11-01T10:00:00Z", refunds=[]),
        shopify_order(id=5, financial_status="authorized", refunds=[]),
        shopify_order(id=6, financial_status="mystery", refunds=[]),
    ]
    statuses = normalize_shopify_orders(records, "s", SECRET).orders["status"].tolist()
    assert statuses == ["paid", "fulfilled", "cancelled", "cancelled", "pending", "unknown (mystery)"]


def test_unparsable_values_are_reported_per_record_without_losing_the_record():
    records = [
        shopify_order(id=1, total_price="N/A"),
        shopify_order(id=2, created_at="0000-00-00T00:00:00"),
        shopify_order(id=3, line_items=[{"id": 1, "sku": "SKU-A", "quantity": "two", "price": "1.00"}]),
        shopify_order(id=4),
        "not an object",
    ]
    batch = normalize_shopify_orders(records, "s", SECRET)
    reasons = batch.reasons.by_rid
    assert reasons[0] == ["unparsable money in total_price: 'N/A'"]
    assert reasons[1] == ["unparsable timestamp in created_at: '0000-00-00T00:00:00'"]
    assert reasons[2] == ["unparsable quantity in line_items.quantity: 'two'"]
    assert reasons[4] == ["the record is not a JSON object"]
    assert batch.reasons.rids() == {0, 1, 2, 4}
    assert len(batch.orders) == 5  # every record still has its row, for validation to see


def woo_order(**overrides):
    order = {
        "id": 727, "number": "727", "status": "completed", "currency": "EUR",
        "date_created": "2026-10-24T23:30:00", "date_created_gmt": "2026-10-24T21:30:00",
        "date_modified": "2026-10-26T10:00:00", "date_modified_gmt": "2026-10-26T09:00:00",
        "date_paid_gmt": "2026-10-24T21:31:00", "date_completed_gmt": "2026-10-25T08:00:00",
        # lines: 30.00 (3 x 10.00) - 3.00 discount = 27.00; + 4.90 shipping + 0 tax = 31.90
        "discount_total": "3.00", "shipping_total": "4.90", "total_tax": "0.00", "total": "31.90",
        "customer_id": 26, "billing": {"email": "max@example.de", "country": "de", "phone": "+49301234"},
        "shipping": {"country": "DE"}, "payment_method": "cod",
        "line_items": [{"id": 315, "name": "Vase", "sku": "SKU-C", "quantity": 3, "subtotal": "30.00",
                        "total": "27.00", "price": 9.0}],
        "coupon_lines": [{"code": "autumn", "discount": "3.00"}],
        "refunds": [{"id": 726, "reason": "broken", "total": "-10.00"}],
    }
    order.update(overrides)
    return order


def test_woocommerce_order_uses_gmt_dates_exact_line_money_and_positive_refunds():
    batch = normalize_woocommerce_orders([woo_order()], "woo-eu", SECRET)
    order = batch.orders.iloc[0]
    assert order["created_at"] == pd.Timestamp("2026-10-24T21:30:00Z")
    assert order["updated_at"] == pd.Timestamp("2026-10-26T09:00:00Z")
    assert order["status"] == "partially_refunded"  # completed, with a refund
    assert (order["subtotal"], order["discount_total"], order["total"]) == (money("30.00"), money("3.00"), money("31.90"))
    assert order["refunded_total"] == money("10.00")
    assert order["payment_method"] == "cash_on_delivery"
    line = batch.lines.iloc[0]
    assert (line["unit_price"], line["discount"], line["line_total"]) == (money("10.0000"), money("3.00"), money("27.00"))
    refund = batch.refunds.iloc[0]
    assert refund["amount"] == money("10.00") and refund["created_at_estimated"]
    assert refund["created_at"] == pd.Timestamp("2026-10-26T09:00:00Z")


def test_woocommerce_full_refund_refunds_every_unit_and_cancellation_is_dated_by_modification():
    batch = normalize_woocommerce_orders([
        woo_order(id=1, status="refunded", refunds=[{"id": 9, "total": "-31.90"}]),
        woo_order(id=2, status="cancelled", refunds=[]),
        woo_order(id=3, status="trash", refunds=[]),
    ], "woo-eu", SECRET)
    assert batch.lines.loc[batch.lines["rid"] == 0, "refunded_quantity"].tolist() == [3]
    cancelled = batch.orders.iloc[1]
    assert cancelled["status"] == "cancelled" and cancelled["cancelled_at"] == pd.Timestamp("2026-10-26T09:00:00Z")
    assert batch.orders.iloc[2]["status"] == "deleted" and batch.orders.iloc[2]["is_deleted"]


def test_customer_keys_are_standard_hmac_sha256_of_the_normalised_email():
    import hmac

    from tasks.normalize.common import customer_keys

    for secret in (b"k", b"x" * 64, b"y" * 100):  # shorter than, equal to and longer than a block
        keys = customer_keys(pd.Series([" Jane@Example.com ", None]), pd.Series([None, 42], dtype=object), "shop", secret)
        assert keys[0] == hmac.new(secret, b"jane@example.com", "sha256").hexdigest()
        assert keys[1] == hmac.new(secret, b"shop:customer:42", "sha256").hexdigest()
