"""WooCommerce REST v3 JSON for a page of orders, for the product categories and for one product.

Dates come twice, site-local and GMT, both without an offset; money is a string except
line_items[].price, a number; refund totals are negative.
"""

from __future__ import annotations

import hashlib

import numpy as np

from .anomalies import MALFORMED_KINDS, NOT_MALFORMED
from .basket import gather_segments, segment_sums
from .catalogue import CATEGORY_NAMES
from .lifecycle import REFUND_NOTES
from .locales import COUNTRIES
from .promotion_render import category_term_id
from .shopify_render import product_updated_at
from .state import WOO_STATUSES, state_at
from .store import StoreData
from .wire import NEVER, garbled_amount, iso_naive, money, money_list, slug

PAYMENT_METHODS = (("stripe", "Credit Card (Stripe)"), ("paypal", "PayPal"),
                   ("bacs", "Direct bank transfer"), ("cod", "Cash on delivery"))
DAY = 86_400
_ALPHABET = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"


def _token(store: StoreData, order_id: int, purpose: str, length: int, alphabet: str = _ALPHABET) -> str:
    """A stable random-looking string per order (order keys, gateway transaction ids)."""
    digest = hashlib.blake2b(f"{store.name}:{order_id}:{purpose}".encode(), digest_size=16).digest()
    number = int.from_bytes(digest, "big")
    chars = []
    for _ in range(length):
        number, index = divmod(number, len(alphabet))
        chars.append(alphabet[index])
    return "".join(chars)


def _transaction_id(store: StoreData, order_id: int, method: int) -> str:
    if method == 0:
        return "ch_" + _token(store, order_id, "charge", 24)
    if method == 1:
        return _token(store, order_id, "paypal", 17, "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
    return ""  # bank transfers and cash have no gateway transaction


def _address(address: dict, email: str | None) -> dict:
    woo = {
        "first_name": address["first_name"], "last_name": address["last_name"], "company": "",
        "address_1": address["address1"], "address_2": "", "city": address["city"],
        "state": address["province_code"] or "", "postcode": address["zip"],
        "country": address["country_code"],
    }
    if email is not None:
        woo["email"] = email
    woo["phone"] = address["phone"] or ""
    return woo


def render_orders(store: StoreData, rows: np.ndarray, versions: np.ndarray) -> list[dict]:
    state = state_at(store, rows, versions)
    life, basket, ids, customers, catalogue = store.life, store.basket, store.ids, store.customers, store.catalogue
    n = len(rows)
    customer = store.customer[rows]
    paid_at = np.where(state.paid, life.paid_at[rows], NEVER)
    completed_at = np.where(state.fulfilled, life.fulfilled_at[rows], NEVER)
    moments = np.concatenate([store.created[rows], state.updated, paid_at, completed_at])
    local, gmt = iso_naive(moments, store.zone), iso_naive(moments, None)
    created_local, modified_local, paid_local, completed_local = (local[k * n:(k + 1) * n] for k in range(4))
    created_gmt, modified_gmt, paid_gmt, completed_gmt = (gmt[k * n:(k + 1) * n] for k in range(4))

    lines, line_bounds = gather_segments(basket.line_offsets, rows)
    sku = basket.sku[lines]
    product = catalogue.product[sku]
    tax_rates = np.array([country.tax_basis_points for country in COUNTRIES])
    line_rates = np.repeat(tax_rates[store.ship_country[rows]], np.diff(line_bounds))
    gross = basket.unit_price[lines] * basket.quantity[lines]
    net = gross - basket.discount[lines]
    gross_tax = (gross * line_rates + 5_000) // 10_000
    discount_tax = segment_sums(gross_tax - basket.tax[lines], np.array(line_bounds))
    names = [catalogue.product_title[p] if catalogue.option[s] < 0 else
             f"{catalogue.product_title[p]} - {catalogue.variant_title(s)}"
             for p, s in zip(product.tolist(), sku.tolist())]
    line_rows = list(zip(ids.line[lines].tolist(), names, ids.product[product].tolist(), ids.variant[sku].tolist(),
                         basket.quantity[lines].tolist(), money_list(gross), money_list(gross_tax), money_list(net),
                         money_list(basket.tax[lines]), [catalogue.sku_codes[s] for s in sku.tolist()],
                         (net / 100 / basket.quantity[lines]).tolist(), store.promotions.gift[lines].tolist()))

    emails, phones, billing = customers.contact(customer)
    recipient = store.recipient[rows]
    gift_addresses = iter(store.recipients.addresses(recipient[recipient >= 0]))
    status = state.woo_status().tolist()
    refunded = state.refunded.tolist()
    book = store.promotions
    member = (book.member[customer] & ~store.guest[rows]).tolist()
    order_promotion = book.order_promotion[rows].tolist()

    orders = []
    for (i, order_id, status_code, customer_id, guest, email, address, gift_to, method, shipping, shipping_line_id,
         code, refund_id, note, discount, discount_tax_text, shipping_text, shipping_tax, cart_tax, total, tax,
         refund_total) in zip(
            range(n), ids.order[rows].tolist(), status, customers.id[customer].tolist(), store.guest[rows].tolist(),
            emails, billing, recipient.tolist(), life.payment_method[rows].tolist(), basket.shipping[rows].tolist(),
            ids.shipping_line[rows].tolist(), store.discount_code[rows].tolist(), ids.refund[rows].tolist(),
            life.refund_note[rows].tolist(), money_list(basket.discount_total[rows]), money_list(discount_tax),
            money_list(basket.shipping[rows]), money_list(basket.shipping_tax[rows]), money_list(basket.cart_tax[rows]),
            money_list(basket.total[rows]), money_list(basket.tax_total[rows]), money_list(life.refund_total[rows])):
        shipping_address = _address(address, None) if gift_to < 0 else _address(next(gift_addresses), None)
        method_id, method_title = PAYMENT_METHODS[method]
        order = {
            "id": order_id,
            "parent_id": 0,
            "number": str(order_id),
            "order_key": "wc_order_" + _token(store, order_id, "order_key", 13),
            "created_via": "checkout",
            "status": WOO_STATUSES[status_code],
            "currency": store.config.currency,
            "date_created": created_local[i],
            "date_created_gmt": created_gmt[i],
            "date_modified": modified_local[i],
            "date_modified_gmt": modified_gmt[i],
            "discount_total": discount,
            "discount_tax": discount_tax_text,
            "shipping_total": shipping_text,
            "shipping_tax": shipping_tax,
            "cart_tax": cart_tax,
            "total": total,
            "total_tax": tax,
            "prices_include_tax": False,
            "customer_id": 0 if guest else customer_id,
            "billing": _address(address, email),
            "shipping": shipping_address,
            "payment_method": method_id,
            "payment_method_title": method_title,
            "transaction_id": _transaction_id(store, order_id, method) if paid_local[i] else "",
            "customer_note": "",
            "date_paid": paid_local[i],
            "date_paid_gmt": paid_gmt[i],
            "date_completed": completed_local[i],
            "date_completed_gmt": completed_gmt[i],
            "line_items": [
                {"id": line_id, "name": name, "product_id": product_id, "variation_id": variation_id,
                 "quantity": quantity, "tax_class": "", "subtotal": subtotal, "subtotal_tax": subtotal_tax,
                 "total": line_total, "total_tax": line_tax, "sku": sku_code, "price": price,
                 "meta_data": [{"id": line_id, "key": "_free_gift", "value": book.promotions[order_promotion[i]].id}]
                 if gift else []}
                for line_id, name, product_id, variation_id, quantity, subtotal, subtotal_tax, line_total, line_tax,
                sku_code, price, gift in line_rows[line_bounds[i]:line_bounds[i + 1]]],
            "shipping_lines": [{"id": shipping_line_id,
                                "method_title": "Free shipping" if shipping == 0 else "Flat rate",
                                "method_id": "free_shipping" if shipping == 0 else "flat_rate",
                                "total": shipping_text}],
            "meta_data": [{"id": shipping_line_id + 2, "key": "is_member", "value": "yes"}] if member[i] else [],
            "coupon_lines": [] if code < 0 else [
                {"id": shipping_line_id + 1, "code": store.discount_codes[code].lower(), "discount": discount}],
            "refunds": [{"id": refund_id, "reason": REFUND_NOTES[note], "total": "-" + refund_total}]
            if refunded[i] else [],
        }
        orders.append(order)

    for i in np.flatnonzero(store.anomalies.malformed[rows] != NOT_MALFORMED).tolist():
        _corrupt(orders[i], store, int(rows[i]), int(state.updated[i]))
    return orders


def _corrupt(order: dict, store: StoreData, row: int, updated: int) -> None:
    """Damage one rendered order the way its malformed kind says (the truth keeps the clean values)."""
    kind = MALFORMED_KINDS[store.anomalies.malformed[row]]
    variant = int(store.anomalies.malformed_variant[row])
    if kind == "missing_id":
        order["id"] = None
    elif kind == "negative_quantity" and order["line_items"]:
        order["line_items"][0]["quantity"] = -1
    elif kind == "unknown_sku" and order["line_items"]:
        order["line_items"][0]["sku"] = f"SKU-{store.catalogue.size + 1 + row % 90_000:05d}"
    elif kind == "bad_money":
        if variant == 0:
            order["total"] = "N/A"
        elif variant == 1:
            order["total"] = garbled_amount(int(store.basket.total[row]))
        elif order["line_items"]:
            order["line_items"][0]["total"] = "N/A"
    elif kind == "impossible_date":
        moment = np.array([12 * 3600 if variant == 0 else updated + variant * DAY])  # 1970, or after modified
        order["date_created"] = iso_naive(moment, store.zone)[0]
        order["date_created_gmt"] = iso_naive(moment, None)[0]
    elif kind == "missing_lines":
        order["line_items"] = []


# -- the catalogue ------------------------------------------------------------------------------
def category_counts(store: StoreData, moment: int) -> np.ndarray:
    """Products listed by `moment` per category: a product_cat term counts products, not variations."""
    catalogue = store.catalogue
    listed = catalogue.product_created <= moment
    return np.bincount(catalogue.product_category[listed], minlength=len(CATEGORY_NAMES))


def render_product_categories(categories: list[int], counts: np.ndarray) -> list[dict]:
    """product_cat terms, one per catalogue category (flat: no parents, no images). No `_links`: they
    would hold the port, and the same config gives byte-identical bodies."""
    return [
        {"id": category_term_id(category), "name": CATEGORY_NAMES[category], "slug": slug(CATEGORY_NAMES[category]),
         "parent": 0, "description": "", "display": "default", "image": None, "menu_order": 0,
         "count": int(counts[category])}
        for category in categories
    ]


def render_product(store: StoreData, product: int, sku: int, moment: int) -> dict:
    """Product `product` as GET products/<id> shows it: a simple product (one SKU), a variable one (its
    SKUs are variations; no SKU or regular price of its own, the price its cheapest variation's, as
    WooCommerce computes it) or, with `sku` >= 0, that variation (no categories of its own). No `_links`,
    as for the categories."""
    catalogue, ids = store.catalogue, store.ids
    skus = np.arange(catalogue.product_offsets[product], catalogue.product_offsets[product + 1])
    variable = bool(catalogue.option[skus[0]] >= 0)
    created = int(catalogue.product_created[product])
    prices = catalogue.price_at(skus, np.full(len(skus), moment))  # a later price change has not happened yet
    title = catalogue.product_title[product]
    category = int(catalogue.product_category[product])
    if sku >= 0:
        changed = int(catalogue.price_changed_at[sku])
        modified = changed if changed <= moment else created
        post_id, kind, parent = int(ids.variant[sku]), "variation", int(ids.product[product])
        name, sku_code = f"{title} - {catalogue.variant_title(sku)}", catalogue.sku_codes[sku]
        price = regular = money(int(prices[sku - skus[0]]))
    else:
        modified = int(product_updated_at(store, np.array([product]), moment)[0])
        post_id, kind, parent = int(ids.product[product]), "variable" if variable else "simple", 0
        name, sku_code = title, "" if variable else catalogue.sku_codes[int(skus[0])]
        price = money(int(prices.min()))
        regular = "" if variable else price
    stamps = np.array([created, modified])
    local, gmt = iso_naive(stamps, store.zone), iso_naive(stamps, None)
    return {
        "id": post_id,
        "name": name,
        "slug": slug(name),
        "date_created": local[0], "date_created_gmt": gmt[0],
        "date_modified": local[1], "date_modified_gmt": gmt[1],
        "type": kind,
        "status": "publish",
        "featured": False,
        "catalog_visibility": "visible",
        "description": "" if parent else f"<p>{title} from our {CATEGORY_NAMES[category]} range.</p>",
        "short_description": "",
        "sku": sku_code,
        "price": price,
        "regular_price": regular,
        "sale_price": "",
        "on_sale": False,
        "purchasable": True,
        "parent_id": parent,
        "categories": [] if parent else [{"id": category_term_id(category), "name": CATEGORY_NAMES[category],
                                           "slug": slug(CATEGORY_NAMES[category])}],
        "tags": [],
        "images": [],
        "variations": ids.variant[skus].tolist() if variable and not parent else [],
        "meta_data": [],
    }
