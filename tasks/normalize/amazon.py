"""Amazon SP-API Orders v0 orders (with the `OrderItems` the connector added) → the canonical model.

Amazon specifics: times are UTC; an item's `ItemPrice` is for all its units, so the unit price is
`ItemPrice / QuantityOrdered` rounded half up; shipping and tax are per item; a `Pending` order has
no prices at all until its payment clears, so it loads with zero amounts (its quantities already
count for replenishment) and the later `Unshipped` version, a newer `LastUpdateDate`, replaces it;
a non-pending order without prices is quarantined. The buyer's address is Amazon's relay, which
keys the customer but is not kept as a contact: Amazon's policies forbid writing to buyers
outside its messaging service. Refunds are in Amazon's Finances API, not here.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from tasks.normalize.common import (
    CONTACT_COLUMNS, LINE_COLUMNS, ORDER_COLUMNS, REFUND_COLUMNS, Normalized, Reasons, customer_keys, empty_frame,
    external_ids, fields, nested, not_objects, parse_int, parse_money, parse_times, payloads, text, unit_prices,
)
from tasks.normalize.flatten import flatten, sum_by

FIELDS = ["AmazonOrderId", "PurchaseDate", "LastUpdateDate", "OrderStatus", "OrderTotal", "PaymentMethod",
          "MarketplaceId", "ShippingAddress", "BuyerInfo", "OrderItems"]
ITEM_FIELDS = ["OrderItemId", "SellerSKU", "Title", "QuantityOrdered", "ItemPrice", "ItemTax", "ShippingPrice",
               "ShippingTax", "PromotionDiscount"]
STATUS = {"Pending": "pending", "PendingAvailability": "pending", "Unshipped": "paid", "PartiallyShipped": "paid",
          "Shipped": "fulfilled", "InvoiceUnconfirmed": "fulfilled", "Canceled": "cancelled",
          "Unfulfillable": "cancelled"}
PAYMENT = {"COD": "cash_on_delivery", "CVS": "convenience_store", "Other": "amazon_payments"}
# The currency of each marketplace, for orders that carry no amount yet (Pending).
MARKETPLACE_CURRENCY = {
    "ATVPDKIKX0DER": "USD", "A2EUQ1WTGCTBG2": "CAD", "A1AM78C64UM0Y8": "MXN", "A2Q3Y263D00KWC": "BRL",
    "A1PA6795UKMFR9": "EUR", "A13V1IB3VIYZZH": "EUR", "APJ6JRA9NG5V4": "EUR", "A1RKKUPIHCS9HS": "EUR",
    "A1805IZSGTT6HS": "EUR", "AMEN7PMS3EDWL": "EUR", "A1F83G8C2ARO7P": "GBP", "A2NODRKZP88ZB9": "SEK",
    "A1C3SOZRARQ6R3": "PLN", "A1VC38T7YXB528": "JPY", "A39IBJ37TRP1C6": "AUD", "A21TJRUUN4KGV": "INR",
}


def normalize_amazon_orders(records: list, source: str, secret: bytes) -> Normalized:
    reasons = Reasons()
    n = len(records)
    rid = np.arange(n)
    reasons.add(not_objects(records), "the record is not a JSON object")
    top = fields(records, FIELDS)
    external_id = external_ids(top["AmazonOrderId"])
    created_at = reasons.parsed(rid, top["PurchaseDate"], parse_times, "timestamp", "PurchaseDate")
    updated_at = reasons.parsed(rid, top["LastUpdateDate"], parse_times, "timestamp", "LastUpdateDate")
    source_status = text(top["OrderStatus"])
    status = source_status.map(STATUS)
    status = status.where(status.notna(), "unknown (" + source_status.fillna("none") + ")")
    pending = (status == "pending").to_numpy()

    no_items = np.asarray([type(r) is dict and type(r.get("OrderItems")) is not list for r in records], dtype=bool)
    reasons.add(rid[no_items], "orders: Amazon returned no items for this order")
    lines, line_reasons, per_order = _lines(top, source, external_id, pending)
    reasons.merge(line_reasons)

    total = reasons.parsed(rid, nested(top["OrderTotal"], "Amount"), parse_money, "money", "OrderTotal.Amount")
    total = total.mask(pending & top["OrderTotal"].isna().to_numpy(), 0)  # no prices yet, not missing ones
    currency = text(nested(top["OrderTotal"], "CurrencyCode"), upper=True)
    currency = currency.where(currency.notna(), text(top["MarketplaceId"]).map(MARKETPLACE_CURRENCY))

    email = nested(top["BuyerInfo"], "BuyerEmail")
    key = customer_keys(email, pd.Series([None] * n, dtype=object), source, secret)
    country = text(nested(top["ShippingAddress"], "CountryCode"), upper=True)
    no_time = pd.Series(pd.NaT, index=rid, dtype="datetime64[us, UTC]")
    orders = pd.DataFrame({
        "rid": rid,
        "source": source,
        "external_id": external_id,
        "order_number": text(top["AmazonOrderId"], max_length=64),
        "status": status,
        "source_status": source_status,
        "currency": currency,
        "created_at": created_at,
        "updated_at": updated_at,
        "processed_at": no_time,
        "cancelled_at": updated_at.where((status == "cancelled").to_numpy()),
        "closed_at": no_time,
        "fulfilled_at": no_time,  # Orders v0 gives no shipping or closing time
        **{name: sum_by(lines["rid"], per_order[name], n) for name in ("subtotal", "discount_total",
                                                                       "shipping_total", "tax_total")},
        "total": total,
        "refunded_total": sum_by([], [], n),
        "customer_key": key,
        "payment_method": text(top["PaymentMethod"], max_length=64).map(lambda v: PAYMENT.get(v, v.lower()),
                                                                         na_action="ignore"),
        "billing_country": country,  # Amazon shows one address, the shipping one
        "shipping_country": country,
        "discount_codes": None,
        "line_count": np.bincount(lines["rid"].to_numpy(dtype=np.int64), minlength=n),
        "item_count": sum_by(lines["rid"], lines["quantity"], n),
        "is_deleted": False,
    })[ORDER_COLUMNS]

    contacts = pd.DataFrame({
        "rid": rid, "customer_key": key, "email": None, "phone": None, "accepts_marketing": False,
        "country": country, "order_created_at": created_at,
    })[CONTACT_COLUMNS]
    contacts = contacts[contacts["customer_key"].notna()]
    keys = pd.DataFrame({"rid": rid, "external_id": external_id, "updated_at": updated_at})
    return Normalized(source, payloads(records), keys, orders, lines[LINE_COLUMNS], empty_frame(REFUND_COLUMNS),
                      contacts, reasons)


def _lines(top: pd.DataFrame, source: str, external_id: pd.Series,
           pending: np.ndarray) -> tuple[pd.DataFrame, Reasons, dict[str, pd.Series]]:
    reasons = Reasons()
    rids, items = flatten(top["OrderItems"])
    if not items:
        empty = pd.Series([], dtype="Int64")
        return empty_frame(LINE_COLUMNS), reasons, dict.fromkeys(("subtotal", "discount_total", "shipping_total",
                                                                  "tax_total"), empty)
    item = fields(items, ITEM_FIELDS)
    quantity = reasons.parsed(rids, item["QuantityOrdered"], parse_int, "quantity", "OrderItems.QuantityOrdered")
    unpriced = pending[rids]
    amounts = {}
    for name in ("ItemPrice", "ItemTax", "ShippingPrice", "ShippingTax", "PromotionDiscount"):
        raw = nested(item[name], "Amount")
        parsed = reasons.parsed(rids, raw, parse_money, "money", f"OrderItems.{name}.Amount")
        optional = raw.isna().to_numpy() & (unpriced | (name != "ItemPrice"))  # only ItemPrice is required
        amounts[name] = parsed.mask(optional, 0)
    gross = amounts["ItemPrice"]
    lines = pd.DataFrame({
        "rid": rids,
        "source": source,
        "external_order_id": external_id.to_numpy()[rids],
        "line_id": external_ids(item["OrderItemId"]),
        "sku": text(item["SellerSKU"], max_length=64),
        "title": text(item["Title"]),
        "quantity": quantity,
        "unit_price": unit_prices(gross, quantity),
        "discount": amounts["PromotionDiscount"],
        "line_total": gross - amounts["PromotionDiscount"],
        "refunded_quantity": pd.Series(np.zeros(len(items), dtype=np.int64)).astype("Int64"),
    })
    per_order = {"subtotal": gross, "discount_total": amounts["PromotionDiscount"],
                 "shipping_total": amounts["ShippingPrice"], "tax_total": amounts["ItemTax"] + amounts["ShippingTax"]}
    return lines, reasons, per_order
