"""Shopify Admin REST orders → the canonical model. Renames, casts, units; nothing decided."""

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

# financial_status → canonical; cancellation and fulfilment refine it below.
FINANCIAL_STATUS = {
    "pending": "pending", "authorized": "pending", "partially_paid": "pending",
    "paid": "paid", "partially_refunded": "partially_refunded", "refunded": "refunded",
    "voided": "cancelled",
}
ZERO = Decimal("0")


def normalize_shopify_orders(records: list, source: str, secret: bytes) -> Normalized:
    reasons = Reasons()
    orders_raw = [r if isinstance(r, dict) else {} for r in records]
    rid = np.arange(len(records))
    reasons.add(rid[[not isinstance(r, dict) for r in records]], "the record is not a JSON object")

    external_id = external_ids(column(orders_raw, "id"))
    timestamps = {}
    for name in ("created_at", "updated_at", "processed_at", "cancelled_at", "closed_at"):
        raw = column(orders_raw, name)
        timestamps[name], bad = parse_times(raw)
        reasons.add(rid[bad.to_numpy()], describe_bad("unparsable timestamp", name, raw[bad]))

    money = {}
    for canonical, path in (
        ("subtotal", ("total_line_items_price",)), ("discount_total", ("total_discounts",)),
        ("tax_total", ("total_tax",)), ("total", ("total_price",)),
        ("shipping_total", ("total_shipping_price_set", "shop_money", "amount")),
    ):
        raw = column(orders_raw, *path)
        money[canonical], bad = parse_money(raw)
        reasons.add(rid[bad.to_numpy()], describe_bad("unparsable money", ".".join(path), raw[bad]))
    # Orders without shipping or discounts may omit the field: that is zero, not missing.
    for optional in ("shipping_total", "discount_total"):
        money[optional] = money[optional].where(column(orders_raw, *_PATHS[optional]).notna(), ZERO)

    lines, line_reasons = _lines(orders_raw, source, external_id)
    reasons.merge(line_reasons)
    refunds, refund_reasons = _refunds(orders_raw, source, external_id)
    reasons.merge(refund_reasons)

    refunded_total = sum_by(refunds["rid"], refunds["amount"], len(records))
    line_count = np.bincount(lines["rid"].to_numpy(dtype=np.int64), minlength=len(records))
    item_count = sum_by(lines["rid"], lines["quantity"].fillna(0).astype(np.int64), len(records), zero=0)

    source_status = text(column(orders_raw, "financial_status"))
    status = source_status.map(FINANCIAL_STATUS)
    fulfilled = column(orders_raw, "fulfillment_status").eq("fulfilled").to_numpy()
    status = status.where(~((status == "paid").to_numpy() & fulfilled), "fulfilled")
    status = status.where(timestamps["cancelled_at"].isna().to_numpy(), "cancelled")
    status = status.where(status.notna(), "unknown (" + source_status.fillna("none") + ")")

    email = column(orders_raw, "email").where(lambda s: s.notna(), column(orders_raw, "customer", "email"))
    key = customer_keys(email, column(orders_raw, "customer", "id"), source, secret)
    billing_country = text(column(orders_raw, "billing_address", "country_code"), upper=True)
    gateways = column(orders_raw, "payment_gateway_names")
    codes = column(orders_raw, "discount_codes")

    orders = pd.DataFrame({
        "rid": rid,
        "source": source,
        "external_id": external_id,
        "order_number": text(column(orders_raw, "name"), max_length=64),
        "status": status,
        "source_status": source_status,
        "currency": text(column(orders_raw, "currency"), upper=True),
        **timestamps,
        **money,
        "refunded_total": refunded_total,
        "customer_key": key,
        "payment_method": gateways.map(lambda g: str(g[0])[:64] if isinstance(g, list) and g else None),
        "billing_country": billing_country,
        "shipping_country": text(column(orders_raw, "shipping_address", "country_code"), upper=True),
        "discount_codes": join_codes(codes),
        "line_count": line_count,
        "item_count": item_count,
        "is_deleted": False,
    })[ORDER_COLUMNS]

    contacts = pd.DataFrame({
        "rid": rid,
        "customer_key": key,
        "email": email.map(lambda v: v.strip().lower() if isinstance(v, str) and "@" in v else None),
        "phone": text(column(orders_raw, "customer", "phone")).where(
            lambda s: s.notna(), text(column(orders_raw, "billing_address", "phone"))),
        "accepts_marketing": column(orders_raw, "buyer_accepts_marketing").map(lambda v: v if isinstance(v, bool) else None),
        "country": billing_country,
        "order_created_at": timestamps["created_at"],
    })[CONTACT_COLUMNS]
    contacts = contacts[contacts["customer_key"].notna()]

    keys = pd.DataFrame({"rid": rid, "external_id": external_id, "updated_at": timestamps["updated_at"]})
    return Normalized(source, records, keys, orders, lines, refunds, contacts, reasons)


_PATHS = {"shipping_total": ("total_shipping_price_set", "shop_money", "amount"), "discount_total": ("total_discounts",)}




def _lines(orders_raw: list[dict], source: str, external_id: pd.Series) -> tuple[pd.DataFrame, Reasons]:
    reasons = Reasons()
    rids, items = flatten(orders_raw, "line_items")
    if not items:
        return empty_frame(LINE_COLUMNS), reasons
    quantity, bad_qty = parse_int(column(items, "quantity"))
    reasons.add(rids[bad_qty.to_numpy()], describe_bad("unparsable quantity", "line_items.quantity", column(items, "quantity")[bad_qty]))
    price_raw, discount_raw = column(items, "price"), column(items, "total_discount")
    unit_price, bad_price = parse_money(price_raw)
    discount, bad_discount = parse_money(discount_raw)
    reasons.add(rids[bad_price.to_numpy()], describe_bad("unparsable money", "line_items.price", price_raw[bad_price]))
    reasons.add(rids[bad_discount.to_numpy()], describe_bad("unparsable money", "line_items.total_discount", discount_raw[bad_discount]))
    discount = discount.where(discount_raw.notna(), ZERO)

    line_id = external_ids(column(items, "id"))
    refunded = _refunded_quantities(orders_raw, rids, line_id)
    lines = pd.DataFrame({
        "rid": rids,
        "source": source,
        "external_order_id": external_id.to_numpy()[rids],
        "line_id": line_id,
        "sku": text(column(items, "sku"), max_length=64),
        "title": text(column(items, "title")),
        "quantity": quantity,
        "unit_price": unit_price,
        "discount": discount,
        "line_total": _line_totals(quantity, unit_price, discount),
        "refunded_quantity": refunded,
    })
    return lines[LINE_COLUMNS], reasons


def _line_totals(quantity: pd.Series, unit_price: pd.Series, discount: pd.Series) -> pd.Series:
    return pd.Series(
        [q * p - d if q is not pd.NA and p is not None and d is not None else None
         for q, p, d in zip(quantity.tolist(), unit_price.tolist(), discount.tolist())],
        index=quantity.index, dtype=object,
    )


def _refunded_quantities(orders_raw: list[dict], line_rids: np.ndarray, line_ids: pd.Series) -> pd.Series:
    """Units refunded per line, from every refund's refund_line_items."""
    refund_rids, refunds = flatten(orders_raw, "refunds")
    if not refunds:
        return pd.Series(0, index=line_ids.index, dtype="Int64")
    item_refund_index, refund_items = flatten(refunds, "refund_line_items")
    if not refund_items:
        return pd.Series(0, index=line_ids.index, dtype="Int64")
    quantities, _ = parse_int(column(refund_items, "quantity"))
    refunded = pd.DataFrame({
        "rid": refund_rids[item_refund_index],
        "line_id": external_ids(column(refund_items, "line_item_id")),
        "quantity": quantities.fillna(0),
    }).groupby(["rid", "line_id"])["quantity"].sum()
    keys = pd.MultiIndex.from_arrays([line_rids, line_ids.to_numpy()])
    return pd.Series(refunded.reindex(keys).fillna(0).to_numpy(), index=line_ids.index).astype("Int64")


def _refunds(orders_raw: list[dict], source: str, external_id: pd.Series) -> tuple[pd.DataFrame, Reasons]:
    reasons = Reasons()
    rids, refunds = flatten(orders_raw, "refunds")
    if not refunds:
        return empty_frame(REFUND_COLUMNS), reasons
    created_raw = column(refunds, "created_at")
    created_at, bad_created = parse_times(created_raw)
    reasons.add(rids[bad_created.to_numpy()], describe_bad("unparsable timestamp", "refunds.created_at", created_raw[bad_created]))
    # The money that went back is the sum of the refund's successful refund transactions.
    tx_index, transactions = flatten(refunds, "transactions")
    amounts_raw = column(transactions, "amount")
    amounts, bad_amounts = parse_money(amounts_raw)
    reasons.add(rids[tx_index][bad_amounts.to_numpy()], describe_bad("unparsable money", "refunds.transactions.amount", amounts_raw[bad_amounts]))
    counted = (column(transactions, "kind").eq("refund") & column(transactions, "status").isin(["success", None])).to_numpy()
    amount = sum_by(pd.Series(tx_index[counted]), amounts[counted], len(refunds))
    frame = pd.DataFrame({
        "rid": rids,
        "source": source,
        "external_id": external_ids(column(refunds, "id")),
        "external_order_id": external_id.to_numpy()[rids],
        "created_at": created_at,
        "created_at_estimated": False,
        "amount": amount,
        "currency": text(column(orders_raw, "currency"), upper=True).to_numpy()[rids],
        "reason": text(column(refunds, "note"), max_length=500),
    })
    return frame[REFUND_COLUMNS], reasons
