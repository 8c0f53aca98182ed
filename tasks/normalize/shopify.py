"""Shopify Admin REST orders → the canonical model. Renames, casts, units; nothing decided."""

from __future__ import annotations

import numpy as np
import pandas as pd

from tasks.normalize.common import (
    CONTACT_COLUMNS, LINE_COLUMNS, ORDER_COLUMNS, REFUND_COLUMNS, Normalized, Reasons, customer_keys,
    email_addresses, empty_frame, external_ids, fields, first_of, join_codes, nested, not_objects,
    parse_int, parse_money, parse_times, payloads, text,
)
from tasks.normalize.flatten import flatten, sum_by

FIELDS = [
    "id", "name", "email", "created_at", "updated_at", "processed_at", "cancelled_at", "closed_at",
    "financial_status", "fulfillment_status", "currency", "total_line_items_price", "total_discounts",
    "total_tax", "total_price", "total_shipping_price_set", "payment_gateway_names", "buyer_accepts_marketing",
    "customer", "billing_address", "shipping_address", "discount_codes", "line_items", "refunds", "fulfillments",
]
LINE_FIELDS = ["id", "sku", "title", "quantity", "price", "total_discount"]
REFUND_FIELDS = ["id", "created_at", "note", "refund_line_items", "transactions"]
TIMESTAMPS = ("created_at", "updated_at", "processed_at", "cancelled_at", "closed_at")
# financial_status → canonical; cancellation and fulfilment refine it below.
FINANCIAL_STATUS = {
    "pending": "pending", "authorized": "pending", "partially_paid": "pending",
    "paid": "paid", "partially_refunded": "partially_refunded", "refunded": "refunded",
    "voided": "cancelled",
}


def normalize_shopify_orders(records: list, source: str, secret: bytes) -> Normalized:
    reasons = Reasons()
    rid = np.arange(len(records))
    reasons.add(not_objects(records), "the record is not a JSON object")
    top = fields(records, FIELDS)

    external_id = external_ids(top["id"])
    times = {}
    for name in TIMESTAMPS:
        times[name] = reasons.parsed(rid, top[name], parse_times, "timestamp", name)

    # When the order shipped: its first fulfilment (Shopify lists them in the order they were made).
    times["fulfilled_at"] = reasons.parsed(rid, nested(first_of(top["fulfillments"]), "created_at"), parse_times,
                                           "timestamp", "fulfillments[0].created_at")

    shipping_raw = nested(top["total_shipping_price_set"], "shop_money", "amount")
    money = {}
    for canonical, raw, label in (
        ("subtotal", top["total_line_items_price"], "total_line_items_price"),
        ("discount_total", top["total_discounts"], "total_discounts"),
        ("tax_total", top["total_tax"], "total_tax"),
        ("total", top["total_price"], "total_price"),
        ("shipping_total", shipping_raw, "total_shipping_price_set.shop_money.amount"),
    ):
        money[canonical] = reasons.parsed(rid, raw, parse_money, "money", label)
    # Orders without shipping or discounts may omit the field: that is zero, not missing.
    money["shipping_total"] = money["shipping_total"].mask(shipping_raw.isna().to_numpy(), 0)
    money["discount_total"] = money["discount_total"].mask(top["total_discounts"].isna().to_numpy(), 0)

    lines, line_reasons = _lines(top, source, external_id)
    refunds, refund_reasons = _refunds(top, source, external_id)
    reasons.merge(line_reasons)
    reasons.merge(refund_reasons)

    source_status = text(top["financial_status"])
    status = source_status.map(FINANCIAL_STATUS)
    fulfilled = (top["fulfillment_status"] == "fulfilled").to_numpy()
    status = status.where(~((status == "paid").to_numpy() & fulfilled), "fulfilled")
    status = status.where(times["cancelled_at"].isna().to_numpy(), "cancelled")
    status = status.where(status.notna(), "unknown (" + source_status.fillna("none") + ")")

    email = top["email"].where(top["email"].notna(), nested(top["customer"], "email"))
    key = customer_keys(email, nested(top["customer"], "id"), source, secret)
    billing_country = text(nested(top["billing_address"], "country_code"), upper=True)
    gateways = top["payment_gateway_names"].tolist()

    orders = pd.DataFrame({
        "rid": rid,
        "source": source,
        "external_id": external_id,
        "order_number": text(top["name"], max_length=64),
        "status": status,
        "source_status": source_status,
        "currency": text(top["currency"], upper=True),
        **times,
        **money,
        "refunded_total": sum_by(refunds["rid"], refunds["amount"], len(records)),
        "customer_key": key,
        "payment_method": [str(g[0])[:64] if type(g) is list and g else None for g in gateways],
        "billing_country": billing_country,
        "shipping_country": text(nested(top["shipping_address"], "country_code"), upper=True),
        "discount_codes": join_codes(top["discount_codes"]),
        "line_count": np.bincount(lines["rid"].to_numpy(dtype=np.int64), minlength=len(records)),
        "item_count": sum_by(lines["rid"], lines["quantity"], len(records)),
        "is_deleted": False,
    })[ORDER_COLUMNS]

    contacts = pd.DataFrame({
        "rid": rid,
        "customer_key": key,
        "email": email_addresses(email),
        "phone": text(nested(top["customer"], "phone")).where(
            lambda phones: phones.notna(), text(nested(top["billing_address"], "phone"))),
        "accepts_marketing": [v if type(v) is bool else None for v in top["buyer_accepts_marketing"].tolist()],
        "country": billing_country,
        "order_created_at": times["created_at"],
    })[CONTACT_COLUMNS]
    contacts = contacts[contacts["customer_key"].notna()]

    keys = pd.DataFrame({"rid": rid, "external_id": external_id, "updated_at": times["updated_at"]})
    return Normalized(source, payloads(records), keys, orders, lines, refunds, contacts, reasons)


def _lines(top: pd.DataFrame, source: str, external_id: pd.Series) -> tuple[pd.DataFrame, Reasons]:
    reasons = Reasons()
    rids, items = flatten(top["line_items"])
    if not items:
        return empty_frame(LINE_COLUMNS), reasons
    item = fields(items, LINE_FIELDS)
    quantity = reasons.parsed(rids, item["quantity"], parse_int, "quantity", "line_items.quantity")
    unit_price = reasons.parsed(rids, item["price"], parse_money, "money", "line_items.price")
    discount = reasons.parsed(rids, item["total_discount"], parse_money, "money", "line_items.total_discount")
    discount = discount.mask(item["total_discount"].isna().to_numpy(), 0)
    line_id = external_ids(item["id"])
    lines = pd.DataFrame({
        "rid": rids,
        "source": source,
        "external_order_id": external_id.to_numpy()[rids],
        "line_id": line_id,
        "sku": text(item["sku"], max_length=64),
        "title": text(item["title"]),
        "quantity": quantity,
        "unit_price": unit_price,
        "discount": discount,
        "line_total": quantity * unit_price - discount,
        "refunded_quantity": _refunded_quantities(top, rids, line_id),
    })
    return lines[LINE_COLUMNS], reasons


def _refunded_quantities(top: pd.DataFrame, line_rids: np.ndarray, line_ids: pd.Series) -> pd.Series:
    """Units refunded per line, from every refund's refund_line_items."""
    none = pd.Series(np.zeros(len(line_ids), dtype=np.int64), index=line_ids.index).astype("Int64")
    refund_rids, refunds = flatten(top["refunds"])
    item_refund, refund_items = flatten(nested(pd.Series(refunds, dtype=object), "refund_line_items"))
    if not refund_items:
        return none
    item = fields(refund_items, ["line_item_id", "quantity"])
    quantities, _ = parse_int(item["quantity"])
    refunded = pd.DataFrame({
        "rid": refund_rids[item_refund],
        "line_id": external_ids(item["line_item_id"]),
        "quantity": quantities.fillna(0),
    }).groupby(["rid", "line_id"])["quantity"].sum()
    keys = pd.MultiIndex.from_arrays([line_rids, line_ids.to_numpy()])
    return pd.Series(refunded.reindex(keys).fillna(0).to_numpy(), index=line_ids.index).astype("Int64")


def _refunds(top: pd.DataFrame, source: str, external_id: pd.Series) -> tuple[pd.DataFrame, Reasons]:
    reasons = Reasons()
    rids, items = flatten(top["refunds"])
    if not items:
        return empty_frame(REFUND_COLUMNS), reasons
    refund = fields(items, REFUND_FIELDS)
    created_at = reasons.parsed(rids, refund["created_at"], parse_times, "timestamp", "refunds.created_at")
    # The money that went back is the sum of the refund's successful refund transactions.
    tx_refund, transactions = flatten(refund["transactions"])
    tx = fields(transactions, ["kind", "status", "amount"])
    amounts = reasons.parsed(rids[tx_refund], tx["amount"], parse_money, "money", "refunds.transactions.amount")
    counted = ((tx["kind"] == "refund") & (tx["status"].isin(["success"]) | tx["status"].isna())).to_numpy()
    frame = pd.DataFrame({
        "rid": rids,
        "source": source,
        "external_id": external_ids(refund["id"]),
        "external_order_id": external_id.to_numpy()[rids],
        "created_at": created_at,
        "created_at_estimated": False,
        "amount": sum_by(tx_refund[counted], amounts[counted], len(items)),
        "currency": text(top["currency"], upper=True).to_numpy()[rids],
        "reason": text(refund["note"], max_length=500),
    })
    return frame[REFUND_COLUMNS], reasons
