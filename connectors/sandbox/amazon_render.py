"""Amazon SP-API Orders v0 objects from one store's generated orders: `getOrders` orders (without
items) and `getOrderItems` items, the way Amazon shows them.

Amazon's facts: ids like `028-1234567-1234567`; UTC times with a Z; `OrderTotal` and every item
price absent while an order is `Pending` (Amazon withholds prices until the payment clears); an
item's `ItemPrice` is the price of all its units; shipping is charged per item (here all of it on
the first item); buyer details are Amazon's relay e-mail; refunds live in another API.
"""

from __future__ import annotations

import hashlib
import zlib

import numpy as np

from .anomalies import MALFORMED_KINDS, NOT_MALFORMED
from .basket import gather_segments, segment_sums
from .lifecycle import CASH_ON_DELIVERY
from .locales import COUNTRIES
from .state import AMAZON_STATUSES, state_at
from .store import StoreData
from .support_render import iso_z
from .wire import garbled_amount, money_list

# The marketplace a store sells on, by its currency (SP-API marketplace ids).
MARKETPLACES = {"USD": ("ATVPDKIKX0DER", "Amazon.com"), "EUR": ("A1PA6795UKMFR9", "Amazon.de"),
                "GBP": ("A1F83G8C2ARO7P", "Amazon.co.uk"), "CAD": ("A2EUQ1WTGCTBG2", "Amazon.ca")}
PENDING = AMAZON_STATUSES.index("Pending")


def marketplace(store: StoreData) -> tuple[str, str]:
    return MARKETPLACES.get(store.config.currency, MARKETPLACES["EUR"])


def order_id(store: StoreData, numbers: np.ndarray) -> list[str]:
    """`3-7-7` digit ids from the store's order numbers (unique per store, stable)."""
    numbers = np.asarray(numbers, dtype=np.int64)
    return [f"{171 + n % 829:03d}-{n % 10_000_000:07d}-{(n * 7_919 + 1_234_567) % 10_000_000:07d}"
            for n in numbers.tolist()]


def render_orders(store: StoreData, rows: np.ndarray, versions: np.ndarray) -> list[dict]:
    state = state_at(store, rows, versions)
    basket, life = store.basket, store.life
    status = state.amazon_status()
    lines, bounds = gather_segments(basket.line_offsets, rows)
    quantities = segment_sums(basket.quantity[lines], np.array(bounds))
    market, channel = marketplace(store)
    currency = store.config.currency
    emails, _, _ = store.customers.contact(store.customer[rows])
    created, updated = iso_z(store.created[rows]), iso_z(state.updated)
    orders = []
    for i, (amazon_id, code, method, total, units, email, country) in enumerate(zip(
            order_id(store, store.ids.order[rows]), status.tolist(), life.payment_method[rows].tolist(),
            money_list(basket.total[rows]), quantities.tolist(), emails, store.ship_country[rows].tolist())):
        shipped = AMAZON_STATUSES[code] == "Shipped"
        order = {
            "AmazonOrderId": amazon_id,
            "PurchaseDate": created[i],
            "LastUpdateDate": updated[i],
            "OrderStatus": AMAZON_STATUSES[code],
            "FulfillmentChannel": "MFN",
            "SalesChannel": channel,
            "ShipServiceLevel": "Std DE Dom" if currency == "EUR" else "Std Dom",
            "NumberOfItemsShipped": units if shipped else 0,
            "NumberOfItemsUnshipped": 0 if shipped or code == 3 else units,
            "PaymentMethod": "COD" if method == CASH_ON_DELIVERY else "Other",
            "PaymentMethodDetails": ["CashOnDelivery" if method == CASH_ON_DELIVERY else "Standard"],
            "MarketplaceId": market,
            "ShipmentServiceLevelCategory": "Standard",
            "OrderType": "StandardOrder",
            "IsBusinessOrder": False,
            "IsPrime": False,
            "IsReplacementOrder": False,
            "ShippingAddress": {"CountryCode": COUNTRIES[country].code},
            "BuyerInfo": {"BuyerEmail": _relay_email(email, market)},
        }
        if code != PENDING:
            order["OrderTotal"] = {"CurrencyCode": currency, "Amount": total}
        orders.append(order)
    for i in np.flatnonzero(store.anomalies.malformed[rows] != NOT_MALFORMED).tolist():
        _corrupt_order(orders[i], store, int(rows[i]))
    return orders


def render_items(store: StoreData, row: int, version: int) -> list[dict]:
    state = state_at(store, np.array([row]), np.array([version]))
    basket, catalogue, ids = store.basket, store.catalogue, store.ids
    lines = np.arange(basket.line_offsets[row], basket.line_offsets[row + 1])
    sku = basket.sku[lines]
    currency = store.config.currency
    gross = money_list(basket.unit_price[lines] * basket.quantity[lines])
    taxes, discounts = money_list(basket.tax[lines]), money_list(basket.discount[lines])
    first_only = lambda amount: money_list(np.concatenate([[amount], np.zeros(max(len(lines) - 1, 0), np.int64)]))  # noqa: E731
    shipping, shipping_tax = first_only(basket.shipping[row]), first_only(basket.shipping_tax[row])
    priced = int(state.amazon_status()[0]) != PENDING
    shipped = bool(state.fulfilled[0])
    items = []
    for k, (line_id, sku_code, title, quantity) in enumerate(zip(
            ids.line[lines].tolist(), [catalogue.sku_codes[s] for s in sku.tolist()],
            [catalogue.product_title[p] for p in catalogue.product[sku].tolist()], basket.quantity[lines].tolist())):
        item = {
            "ASIN": f"B0{zlib.crc32(sku_code.encode()) % 10**8:08d}",
            "SellerSKU": sku_code,
            "OrderItemId": f"{line_id:014d}",
            "Title": title,
            "QuantityOrdered": quantity,
            "QuantityShipped": quantity if shipped else 0,
            "ProductInfo": {"NumberOfItems": "1"},
            "IsGift": "false",
        }
        if priced:
            item.update({
                "ItemPrice": {"CurrencyCode": currency, "Amount": gross[k]},
                "ItemTax": {"CurrencyCode": currency, "Amount": taxes[k]},
                "ShippingPrice": {"CurrencyCode": currency, "Amount": shipping[k]},
                "ShippingTax": {"CurrencyCode": currency, "Amount": shipping_tax[k]},
                "PromotionDiscount": {"CurrencyCode": currency, "Amount": discounts[k]},
            })
        items.append(item)
    kind = MALFORMED_KINDS[store.anomalies.malformed[row]] if store.anomalies.malformed[row] != NOT_MALFORMED else None
    if kind == "negative_quantity" and items:
        items[0]["QuantityOrdered"] = -1
    elif kind == "unknown_sku" and items:
        items[0]["SellerSKU"] = f"SKU-{store.catalogue.size + 1 + row % 90_000:05d}"
    elif kind == "missing_lines":
        items = []
    return items


def _corrupt_order(order: dict, store: StoreData, row: int) -> None:
    kind = MALFORMED_KINDS[store.anomalies.malformed[row]]
    if kind == "missing_id":
        order["AmazonOrderId"] = None
    elif kind == "bad_money" and "OrderTotal" in order:
        order["OrderTotal"]["Amount"] = garbled_amount(int(store.basket.total[row]))
    elif kind == "impossible_date":
        order["PurchaseDate"] = "1970-01-01T12:00:00Z"


def _relay_email(email: str, market: str) -> str:
    """Amazon shows a relay address, stable per buyer: the same person gets one customer key."""
    local = hashlib.sha256(f"{market}:{email}".encode()).hexdigest()[:16]
    domain = "marketplace.amazon.de" if market == MARKETPLACES["EUR"][0] else "marketplace.amazon.com"
    return f"{local}@{domain}"
