"""WooCommerce REST v3 orders → the canonical model. Renames, casts, units; nothing decided.

WooCommerce specifics: `*_gmt` dates are UTC without an offset; refund totals are negative;
`line_items[].price` is a float, so the exact unit price is `subtotal / quantity`; the order
listing gives refunds without a date or lines, so a refund is dated by the order's modification
time (flagged `created_at_estimated`) and a fully refunded order counts every unit as refunded.
"""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pandas as pd

from tasks.normalize.common import (
    CONTACT_COLUMNS, LINE_COLUMNS, ORDER_COLUMNS, REFUND_COLUMNS, Normalized, Reasons, column,
    customer_keys, describe_bad, empty_frame, external_ids, join_codes, parse_int, parse_money,
    parse_times, text,
)
from tasks.normalize.flatten import flatten, sum_by
from warehouse.types import MONEY_SCALE

STATUS = {
    "pending": "pending", "checkout-draft": "pending", "on-hold": "on_hold", "processing": "paid",
    "completed": "fulfilled", "cancelled": "cancelled", "refunded": "refunded", "failed": "failed",
    "trash": "deleted",
}
ZERO = Decimal("0")
QUANTUM = Decimal(1).scaleb(-MONEY_SCALE)


def normalize_woocommerce_orders(records: list, source: str, secret: bytes) -> Normalized:
    reasons = Reasons()
    orders_raw = [r if isinstance(r, dict) else {} for r in records]
    rid = np.arange(len(records))
    reasons.add(rid[[not isinstance(r, dict) for r in records]], "the record is not a JSON object")

    external_id = external_ids(column(orders_raw, "id"))
    timestamps = {}
    for canonical, field in (("created_at", "date_created_gmt"), ("updated_at", "date_modified_gmt"),
                             ("processed_at", "date_paid_gmt"), ("closed_at", "date_completed_gmt")):
        raw = column(orders_raw, field)
        timestamps[canonical], bad = parse_times(raw, naive_is_utc=True)
        reasons.add(rid[bad.to_numpy()], describe_bad("unparsable timestamp", field, raw[bad]))

    money = {}
    for canonical, field in (("discount_total", "discount_total"), ("shipping_total", "shipping_total"),
                             ("tax_total", "total_tax"), ("total", "total")):
        raw = column(orders_raw, field)
        money[canonical], bad = parse_money(raw)
        reasons.add(rid[bad.to_numpy()], describe_bad("unparsable money", field, raw[bad]))

    lines, line_reasons = _lines(orders_raw, source, external_id)
    reasons.merge(line_reasons)
    refunds, refund_reasons = _refunds(orders_raw, source, external_id, timestamps["updated_at"])
    reasons.merge(refund_reasons)

    source_status = text(column(orders_raw, "status"))
    status = source_status.map(STATUS)
    has_refunds = np.bincount(refunds["rid"].to_numpy(dtype=np.int64), minlength=len(records)) > 0
    partially = status.isin(["paid", "fulfilled"]).to_numpy() & has_refunds
    status = status.where(~partially, "partially_refunded")
    status = status.where(status.notna(), "unknown (" + source_status.fillna("none") + ")")
    # Cancellation has no timestamp of its own in WooCommerce; the modification is when it happened.
    cancelled_at = timestamps["updated_at"].where((status == "cancelled").to_numpy())

    if not lines.empty:
        fully_refunded = (status == "refunded").to_numpy()[lines["rid"].to_numpy()]
        lines.loc[fully_refunded, "refunded_quantity"] = lines.loc[fully_refunded, "quantity"]

    email = column(orders_raw, "billing", "email")
    key = customer_keys(email, column(orders_raw, "customer_id"), source, secret)
    billing_country = text(column(orders_raw, "billing", "country"), upper=True)
    codes = column(orders_raw, "coupon_lines")

    orders = pd.DataFrame({
        "rid": rid,
        "source": source,
        "external_id": external_id,
        "order_number": text(column(orders_raw, "number"), max_length=64),
        "status": status,
        "source_status": source_status,
        "currency": text(column(orders_raw, "currency"), upper=True),
        "created_at": timestamps["created_at"],
        "updated_at": timestamps["updated_at"],
        "processed_at": timestamps["processed_at"],
        "cancelled_at": cancelled_at,
        "closed_at": timestamps["closed_at"],
        "subtotal": sum_by(lines["rid"], lines["subtotal"], len(records)) if not lines.empty else pd.Series([ZERO] * len(records), dtype=object),
        **money,
        "refunded_total": sum_by(refunds["rid"], refunds["amount"], len(records)),
        "customer_key": key,
        "payment_method": text(column(orders_raw, "payment_method"), max_length=64).replace({"cod": "cash_on_delivery"}),
        "billing_country": billing_country,
        "shipping_country": text(column(orders_raw, "shipping", "country"), upper=True),
        "discount_codes": join_codes(codes),
        "line_count": np.bincount(lines["rid"].to_numpy(dtype=np.int64), minlength=len(records)),
        "item_count": sum_by(lines["rid"], lines["quantity"].fillna(0).astype(np.int64), len(records), zero=0),
        "is_deleted": (status == "deleted").to_numpy(),
    })[ORDER_COLUMNS]

    contacts = pd.DataFrame({
        "rid": rid,
        "customer_key": key,
        "email": email.map(lambda v: v.strip().lower() if isinstance(v, str) and "@" in v else None),
        "phone": text(column(orders_raw, "billing", "phone")),
        "accepts_marketing": None,  # WooCommerce core does not record marketing consent
        "country": billing_country,
        "order_created_at": timestamps["created_at"],
    })[CONTACT_COLUMNS]
    contacts = contacts[contacts["customer_key"].notna()]

    keys = pd.DataFrame({"rid": rid, "external_id": external_id, "updated_at": timestamps["updated_at"]})
    return Normalized(source, records, keys, orders, lines[LINE_COLUMNS], refunds, contacts, reasons)



def _lines(orders_raw: list[dict], source: str, external_id: pd.Series) -> tuple[pd.DataFrame, Reasons]:
    reasons = Reasons()
    rids, items = flatten(orders_raw, "line_items")
    if not items:
        return empty_frame(LINE_COLUMNS + ["subtotal"]), reasons
    quantity_raw = column(items, "quantity")
    quantity, bad_qty = parse_int(quantity_raw)
    reasons.add(rids[bad_qty.to_numpy()], describe_bad("unparsable quantity", "line_items.quantity", quantity_raw[bad_qty]))
    subtotal_raw, total_raw = column(items, "subtotal"), column(items, "total")
    subtotal, bad_subtotal = parse_money(subtotal_raw)
    line_total, bad_total = parse_money(total_raw)
    reasons.add(rids[bad_subtotal.to_numpy()], describe_bad("unparsable money", "line_items.subtotal", subtotal_raw[bad_subtotal]))
    reasons.add(rids[bad_total.to_numpy()], describe_bad("unparsable money", "line_items.total", total_raw[bad_total]))

    unit_price, discount = [], []
    for q, s, t in zip(quantity.tolist(), subtotal.tolist(), line_total.tolist()):
        ok = q is not pd.NA and q > 0 and s is not None
        unit_price.append((s / q).quantize(QUANTUM) if ok else (s if s is not None and q is not pd.NA else None))
        discount.append(s - t if s is not None and t is not None else None)

    lines = pd.DataFrame({
        "rid": rids,
        "source": source,
        "external_order_id": external_id.to_numpy()[rids],
        "line_id": external_ids(column(items, "id")),
        "sku": text(column(items, "sku"), max_length=64),
        "title": text(column(items, "name")),
        "quantity": quantity,
        "unit_price": pd.Series(unit_price, dtype=object),
        "discount": pd.Series(discount, dtype=object),
        "line_total": line_total,
        "refunded_quantity": pd.Series(0, index=range(len(items)), dtype="Int64"),
        "subtotal": subtotal,
    })
    return lines, reasons


def _refunds(orders_raw: list[dict], source: str, external_id: pd.Series,
             modified_at: pd.Series) -> tuple[pd.DataFrame, Reasons]:
    reasons = Reasons()
    rids, refunds = flatten(orders_raw, "refunds")
    if not refunds:
        return empty_frame(REFUND_COLUMNS), reasons
    total_raw = column(refunds, "total")
    amount, bad = parse_money(total_raw)
    reasons.add(rids[bad.to_numpy()], describe_bad("unparsable money", "refunds.total", total_raw[bad]))
    frame = pd.DataFrame({
        "rid": rids,
        "source": source,
        "external_id": external_ids(column(refunds, "id")),
        "external_order_id": external_id.to_numpy()[rids],
        "created_at": modified_at.to_numpy()[rids],
        "created_at_estimated": True,
        "amount": amount.map(lambda v: -v if v is not None else None, na_action="ignore").astype(object),
        "currency": text(column(orders_raw, "currency"), upper=True).to_numpy()[rids],
        "reason": text(column(refunds, "reason"), max_length=500),
    })
    return frame[REFUND_COLUMNS], reasons
