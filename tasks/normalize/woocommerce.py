"""WooCommerce REST v3 orders → the canonical model. Renames, casts, units; nothing decided.

WooCommerce specifics: `*_gmt` dates are UTC without an offset; refund totals are negative;
`line_items[].price` is a float, so the exact unit price is `subtotal / quantity`; the order
listing gives refunds without a date or lines, so a refund is dated by the order's modification
time (flagged `created_at_estimated`) and a fully refunded order counts every unit as refunded.
"""

from __future__ import annotations

from functools import partial

import numpy as np
import pandas as pd

from tasks.normalize.common import (
    CONTACT_COLUMNS, LINE_COLUMNS, ORDER_COLUMNS, REFUND_COLUMNS, Normalized, Reasons, customer_keys,
    email_addresses, empty_frame, external_ids, fields, join_codes, nested, not_objects,
    parse_int, parse_money, parse_times, payloads, text, unit_prices,
)
from tasks.normalize.flatten import flatten, sum_by

FIELDS = [
    "id", "number", "status", "currency", "date_created_gmt", "date_modified_gmt", "date_paid_gmt",
    "date_completed_gmt", "discount_total", "shipping_total", "total_tax", "total", "customer_id",
    "billing", "shipping", "payment_method", "coupon_lines", "line_items", "refunds",
]
LINE_FIELDS = ["id", "name", "sku", "quantity", "subtotal", "total"]
TIMESTAMPS = {"created_at": "date_created_gmt", "updated_at": "date_modified_gmt",
              "processed_at": "date_paid_gmt", "closed_at": "date_completed_gmt"}
MONEY = {"discount_total": "discount_total", "shipping_total": "shipping_total", "tax_total": "total_tax",
         "total": "total"}
STATUS = {
    "pending": "pending", "checkout-draft": "pending", "on-hold": "on_hold", "processing": "paid",
    "completed": "fulfilled", "cancelled": "cancelled", "refunded": "refunded", "failed": "failed",
    "trash": "deleted",
}


def normalize_woocommerce_orders(records: list, source: str, secret: bytes) -> Normalized:
    reasons = Reasons()
    rid = np.arange(len(records))
    reasons.add(not_objects(records), "the record is not a JSON object")
    top = fields(records, FIELDS)

    external_id = external_ids(top["id"])
    times = {}
    for canonical, field in TIMESTAMPS.items():
        times[canonical] = reasons.parsed(rid, top[field], partial(parse_times, naive_is_utc=True), "timestamp", field)
    money = {}
    for canonical, field in MONEY.items():
        money[canonical] = reasons.parsed(rid, top[field], parse_money, "money", field)

    lines, line_reasons = _lines(top, source, external_id)
    refunds, refund_reasons = _refunds(top, source, external_id, times["updated_at"])
    reasons.merge(line_reasons)
    reasons.merge(refund_reasons)

    source_status = text(top["status"])
    status = source_status.map(STATUS)
    has_refunds = np.bincount(refunds["rid"].to_numpy(dtype=np.int64), minlength=len(records)) > 0
    status = status.where(~(status.isin(["paid", "fulfilled"]).to_numpy() & has_refunds), "partially_refunded")
    status = status.where(status.notna(), "unknown (" + source_status.fillna("none") + ")")
    # Cancellation has no timestamp of its own in WooCommerce; the modification is when it happened.
    cancelled_at = times["updated_at"].where((status == "cancelled").to_numpy())
    if not lines.empty:
        fully_refunded = (status == "refunded").to_numpy()[lines["rid"].to_numpy()]
        lines.loc[fully_refunded, "refunded_quantity"] = lines.loc[fully_refunded, "quantity"]

    email = nested(top["billing"], "email")
    key = customer_keys(email, top["customer_id"], source, secret)
    billing_country = text(nested(top["billing"], "country"), upper=True)
    orders = pd.DataFrame({
        "rid": rid,
        "source": source,
        "external_id": external_id,
        "order_number": text(top["number"], max_length=64),
        "status": status,
        "source_status": source_status,
        "currency": text(top["currency"], upper=True),
        "created_at": times["created_at"],
        "updated_at": times["updated_at"],
        "processed_at": times["processed_at"],
        "cancelled_at": cancelled_at,
        "closed_at": times["closed_at"],
        "fulfilled_at": times["closed_at"],  # WooCommerce completes an order when it ships
        "subtotal": sum_by(lines["rid"], lines["subtotal"], len(records)),
        **money,
        "refunded_total": sum_by(refunds["rid"], refunds["amount"], len(records)),
        "customer_key": key,
        "payment_method": text(top["payment_method"], max_length=64).replace({"cod": "cash_on_delivery"}),
        "billing_country": billing_country,
        "shipping_country": text(nested(top["shipping"], "country"), upper=True),
        "discount_codes": join_codes(top["coupon_lines"]),
        "line_count": np.bincount(lines["rid"].to_numpy(dtype=np.int64), minlength=len(records)),
        "item_count": sum_by(lines["rid"], lines["quantity"], len(records)),
        "is_deleted": (status == "deleted").to_numpy(),
    })[ORDER_COLUMNS]

    contacts = pd.DataFrame({
        "rid": rid,
        "customer_key": key,
        "email": email_addresses(email),
        "phone": text(nested(top["billing"], "phone")),
        "accepts_marketing": None,  # WooCommerce core does not record marketing consent
        "country": billing_country,
        "order_created_at": times["created_at"],
    })[CONTACT_COLUMNS]
    contacts = contacts[contacts["customer_key"].notna()]

    keys = pd.DataFrame({"rid": rid, "external_id": external_id, "updated_at": times["updated_at"]})
    return Normalized(source, payloads(records), keys, orders, lines[LINE_COLUMNS], refunds, contacts, reasons)


def _lines(top: pd.DataFrame, source: str, external_id: pd.Series) -> tuple[pd.DataFrame, Reasons]:
    reasons = Reasons()
    rids, items = flatten(top["line_items"])
    if not items:
        return empty_frame(LINE_COLUMNS + ["subtotal"]), reasons
    item = fields(items, LINE_FIELDS)
    quantity = reasons.parsed(rids, item["quantity"], parse_int, "quantity", "line_items.quantity")
    subtotal = reasons.parsed(rids, item["subtotal"], parse_money, "money", "line_items.subtotal")
    line_total = reasons.parsed(rids, item["total"], parse_money, "money", "line_items.total")
    lines = pd.DataFrame({
        "rid": rids,
        "source": source,
        "external_order_id": external_id.to_numpy()[rids],
        "line_id": external_ids(item["id"]),
        "sku": text(item["sku"], max_length=64),
        "title": text(item["name"]),
        "quantity": quantity,
        "unit_price": unit_prices(subtotal, quantity),
        "discount": subtotal - line_total,
        "line_total": line_total,
        "refunded_quantity": pd.Series(np.zeros(len(items), dtype=np.int64)).astype("Int64"),
        "subtotal": subtotal,
    })
    return lines, reasons


def _refunds(top: pd.DataFrame, source: str, external_id: pd.Series,
             modified_at: pd.Series) -> tuple[pd.DataFrame, Reasons]:
    reasons = Reasons()
    rids, items = flatten(top["refunds"])
    if not items:
        return empty_frame(REFUND_COLUMNS), reasons
    refund = fields(items, ["id", "reason", "total"])
    amount = reasons.parsed(rids, refund["total"], parse_money, "money", "refunds.total")
    frame = pd.DataFrame({
        "rid": rids,
        "source": source,
        "external_id": external_ids(refund["id"]),
        "external_order_id": external_id.to_numpy()[rids],
        "created_at": modified_at.to_numpy()[rids],
        "created_at_estimated": True,
        "amount": -amount,
        "currency": text(top["currency"], upper=True).to_numpy()[rids],
        "reason": text(refund["reason"], max_length=500),
    })
    return frame[REFUND_COLUMNS], reasons
