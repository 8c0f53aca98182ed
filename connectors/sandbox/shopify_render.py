"""Shopify Admin REST JSON for a page of orders, products, collections and inventory, with the real field names.

Columns are gathered and formatted for the whole page at once (timestamps in one numpy pass);
the Python loop only assembles dicts.
"""

from __future__ import annotations

import numpy as np

from .anomalies import MALFORMED_KINDS, NOT_MALFORMED
from .promotion_render import MEMBER_TAG, code_type, collection_id, discount_application
from .basket import gather_segments, segment_sums
from .catalogue import CATEGORY_NAMES, PRODUCT_STATUSES, SUPPLIERS
from .lifecycle import CANCEL_REASONS, REFUND_NOTES, RESTOCK_TYPES
from .state import FINANCIAL_STATUSES, state_at
from .store import StoreData
from .wire import NEVER, garbled_amount, iso_with_offset, money, money_list, slug

GATEWAYS = (["shopify_payments"], ["paypal"], ["manual"], ["cash_on_delivery"])
DAY = 86_400


def _money_set(amount: str, currency: str) -> dict:
    return {"shop_money": {"amount": amount, "currency_code": currency},
            "presentment_money": {"amount": amount, "currency_code": currency}}


def _shipping_title(cents: int, abroad: bool) -> tuple[str, str]:
    if cents == 0:
        return "Free Shipping", "FREE"
    return ("International Shipping", "INTL") if abroad else ("Standard Shipping", "STANDARD")


def render_orders(store: StoreData, rows: np.ndarray, versions: np.ndarray) -> list[dict]:
    state = state_at(store, rows, versions)
    life, basket, ids, customers, catalogue = store.life, store.basket, store.ids, store.customers, store.catalogue
    currency = store.config.currency
    n = len(rows)
    customer = store.customer[rows]

    cancelled_at = np.where(state.cancelled, life.cancelled_at[rows], NEVER)
    closed_at = np.where(state.closed, life.closed_at[rows], NEVER)
    refund_at = np.where(state.refunded, life.refund_at[rows], NEVER)
    fulfilled_at = np.where(state.fulfilled, life.fulfilled_at[rows], NEVER)
    stamps = iso_with_offset(np.concatenate([store.created[rows], state.updated, cancelled_at, closed_at,
                                             refund_at, customers.created[customer], fulfilled_at]), store.zone)
    created_s, updated_s, cancelled_s, closed_s, refund_s, customer_created_s, fulfilled_s = (
        stamps[k * n:(k + 1) * n] for k in range(7))

    financial = state.financial_status().tolist()
    fulfilled = state.fulfilled.tolist()
    settled = (state.fulfilled | state.cancelled).tolist()
    refunded = state.refunded.tolist()

    book = store.promotions
    lines, line_bounds = gather_segments(basket.line_offsets, rows)
    sku = basket.sku[lines]
    product = catalogue.product[sku]
    line_rows = list(zip(ids.line[lines].tolist(), ids.variant[sku].tolist(), ids.product[product].tolist(),
                         [catalogue.sku_codes[s] for s in sku.tolist()],
                         [catalogue.product_title[p] for p in product.tolist()],
                         basket.quantity[lines].tolist(), money_list(basket.unit_price[lines]),
                         money_list(basket.discount[lines]), book.gift[lines].tolist(),
                         (basket.discount[lines] > 0).tolist()))
    has_presale = (segment_sums(catalogue.product_is_presale[product].astype(np.int64), np.array(line_bounds)) > 0).tolist()

    refund_lines, refund_bounds = gather_segments(life.refund_line_offsets, rows)
    refund_line_rows = list(zip(ids.refund_line[refund_lines].tolist(), ids.line[life.refund_line[refund_lines]].tolist(),
                                life.refund_quantity[refund_lines].tolist(),
                                money_list(life.refund_subtotal[refund_lines]), money_list(life.refund_tax[refund_lines])))

    emails, phones, billing_addresses = customers.contact(customer)
    recipient = store.recipient[rows]
    gift_addresses = iter(store.recipients.addresses(recipient[recipient >= 0]))
    accepts_marketing = customers.accepts_marketing[customer].tolist()
    member = book.member[customer].tolist()
    order_promotion = book.order_promotion[rows].tolist()
    order_phase = book.order_phase[rows].tolist()
    applications = {}

    columns = zip(
        range(n), ids.order[rows].tolist(), ids.order_number[rows].tolist(), customers.id[customer].tolist(),
        emails, phones, billing_addresses, accepts_marketing,
        money_list(basket.subtotal[rows]), money_list(basket.subtotal[rows] - basket.discount_total[rows]),
        money_list(basket.discount_total[rows]), money_list(basket.tax_total[rows]), money_list(basket.total[rows]),
        basket.shipping[rows].tolist(), money_list(basket.shipping[rows]), life.payment_method[rows].tolist(),
        recipient.tolist(),
        (store.ship_country[rows] != store.home_country).tolist(), store.discount_code[rows].tolist(),
        life.cancel_reason[rows].tolist(), ids.shipping_line[rows].tolist(), ids.refund[rows].tolist(),
        ids.transaction[rows].tolist(), life.refund_note[rows].tolist(), life.refund_restock[rows].tolist(),
        money_list(life.refund_total[rows]))
    orders = []
    for (i, order_id, number, customer_id, email, phone, billing, marketing, gross, net, discount, tax, total,
         shipping, shipping_text, method, gift_to, abroad, code, cancel_reason, shipping_line_id, refund_id, transaction_id,
         note, restock, refund_total) in columns:
        shipping_address = billing if gift_to < 0 else next(gift_addresses)
        title, shipping_code = _shipping_title(shipping, abroad)
        promotion = order_promotion[i]
        if promotion >= 0 and (promotion, order_phase[i]) not in applications:
            applications[promotion, order_phase[i]] = discount_application(store, promotion, order_phase[i])
        application = applications[promotion, order_phase[i]] if promotion >= 0 else None
        restock_type = RESTOCK_TYPES[restock]
        order = {
            "id": order_id,
            "admin_graphql_api_id": f"gid://shopify/Order/{order_id}",
            "name": f"#{number}",
            "order_number": number,
            "email": email,
            "phone": phone,
            "created_at": created_s[i],
            "updated_at": updated_s[i],
            "processed_at": created_s[i],
            "cancelled_at": cancelled_s[i],
            "cancel_reason": CANCEL_REASONS[cancel_reason] if cancelled_s[i] else None,
            "closed_at": closed_s[i],
            "financial_status": FINANCIAL_STATUSES[financial[i]],
            "fulfillment_status": "fulfilled" if fulfilled[i] else None,
            "currency": currency,
            "presentment_currency": currency,
            "subtotal_price": net,
            "total_line_items_price": gross,
            "total_discounts": discount,
            "total_tax": tax,
            "total_price": total,
            "total_shipping_price_set": _money_set(shipping_text, currency),
            "payment_gateway_names": list(GATEWAYS[method]),
            "buyer_accepts_marketing": marketing,
            "customer": {
                "id": customer_id,
                "email": email,
                "first_name": billing["first_name"],
                "last_name": billing["last_name"],
                "phone": phone,
                "created_at": customer_created_s[i],
                "accepts_marketing": marketing,
                "tags": MEMBER_TAG if member[i] else "",
            },
            "billing_address": billing,
            "shipping_address": shipping_address,
            "discount_codes": [] if code < 0 else [
                {"code": store.discount_codes[code], "amount": discount, "type": code_type(store, promotion)}],
            "discount_applications": [] if application is None else [application],
            "line_items": [
                {"id": line_id, "variant_id": variant_id, "product_id": product_id, "sku": sku_code,
                 "title": line_title, "quantity": quantity, "price": price, "total_discount": line_discount,
                 "discount_allocations": [{"amount": line_discount, "discount_application_index": 0,
                                           "amount_set": _money_set(line_discount, currency)}]
                 if discounted and application is not None else [],
                 "properties": [{"name": "_free_gift", "value": book.promotions[promotion].id}] if gift else [],
                 "fulfillable_quantity": 0 if settled[i] else quantity, "requires_shipping": True,
                 "taxable": True, "gift_card": False}
                for line_id, variant_id, product_id, sku_code, line_title, quantity, price, line_discount, gift,
                discounted in line_rows[line_bounds[i]:line_bounds[i + 1]]],
            "shipping_lines": [{"id": shipping_line_id, "title": title, "code": shipping_code, "price": shipping_text}],
            # One shipment with every line; its id only needs to be stable, so it is derived.
            "fulfillments": [] if not fulfilled[i] else [{
                "id": shipping_line_id + 1, "order_id": order_id, "status": "success",
                "created_at": fulfilled_s[i], "updated_at": fulfilled_s[i], "tracking_company": title,
                "line_items": [{"id": line[0], "quantity": line[5]}
                               for line in line_rows[line_bounds[i]:line_bounds[i + 1]]],
            }],
            "refunds": [] if not refunded[i] else [{
                "id": refund_id,
                "order_id": order_id,
                "created_at": refund_s[i],
                "processed_at": refund_s[i],
                "note": REFUND_NOTES[note],
                "refund_line_items": [
                    {"id": refund_line_id, "line_item_id": line_id, "quantity": quantity,
                     "restock_type": restock_type, "subtotal": subtotal, "total_tax": line_tax}
                    for refund_line_id, line_id, quantity, subtotal, line_tax
                    in refund_line_rows[refund_bounds[i]:refund_bounds[i + 1]]],
                "transactions": [{"id": transaction_id, "kind": "refund", "status": "success",
                                  "amount": refund_total, "currency": currency}],
            }],
            "tags": "presale" if has_presale[i] else "",
            "test": False,
            "source_name": "web",
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
        order["admin_graphql_api_id"] = None
    elif kind == "negative_quantity" and order["line_items"]:
        order["line_items"][0]["quantity"] = -1
    elif kind == "unknown_sku" and order["line_items"]:
        order["line_items"][0]["sku"] = f"SKU-{store.catalogue.size + 1 + row % 90_000:05d}"
    elif kind == "bad_money":
        if variant == 0:
            order["total_price"] = "N/A"
        elif variant == 1:
            order["total_price"] = garbled_amount(int(store.basket.total[row]))
        elif order["line_items"]:
            order["line_items"][0]["price"] = "N/A"
    elif kind == "impossible_date":
        moment = 12 * 3600 if variant == 0 else updated + variant * DAY  # 1970, or after updated_at
        order["created_at"] = iso_with_offset(np.array([moment]), store.zone)[0]
    elif kind == "missing_lines":
        order["line_items"] = []


def render_products(store: StoreData, products: np.ndarray, moment: int, levels: np.ndarray) -> list[dict]:
    """`levels`: (skus, 2) stock per location at `moment`."""
    catalogue, ids = store.catalogue, store.ids
    skus, bounds = gather_segments(catalogue.product_offsets, products)
    # A price change made after `moment` has not happened yet: old price, older updated_at.
    changed = catalogue.price_changed_at[skus] <= moment
    price = np.where(changed, catalogue.list_price[skus], catalogue.old_price[skus])
    product_created = catalogue.product_created[catalogue.product[skus]]
    variant_updated = np.where(changed, catalogue.price_changed_at[skus], product_created)
    product_updated = product_updated_at(store, products, moment)
    n = len(products)
    stamps = iso_with_offset(np.concatenate([catalogue.product_created[products], product_updated, variant_updated]),
                             store.zone)
    created_s, updated_s, variant_updated_s = stamps[:n], stamps[n:2 * n], stamps[2 * n:]
    variant_created_s = [created_s[i] for i in range(n) for _ in range(bounds[i + 1] - bounds[i])]
    compare_at = catalogue.compare_at_price[skus]
    variants = [
        {"id": variant_id, "product_id": product_id, "title": catalogue.variant_title(sku), "price": money(cents),
         "sku": catalogue.sku_codes[sku], "inventory_item_id": item_id, "inventory_quantity": quantity,
         "compare_at_price": money(compare) if compare else None, "created_at": created, "updated_at": updated}
        for variant_id, product_id, sku, cents, item_id, quantity, compare, created, updated in zip(
            ids.variant[skus].tolist(), ids.product[catalogue.product[skus]].tolist(), skus.tolist(),
            price.tolist(), ids.inventory_item[skus].tolist(), levels[skus].sum(axis=1).tolist(),
            compare_at.tolist(), variant_created_s, variant_updated_s)]
    rendered = []
    for i, product in enumerate(products.tolist()):
        category = int(catalogue.product_category[product])
        tags = [tag for tag, flag in (("new", catalogue.product_is_new[product]),
                                      ("presale", catalogue.product_is_presale[product])) if flag]
        rendered.append({
            "id": int(ids.product[product]),
            "title": catalogue.product_title[product],
            "body_html": f"<p>{catalogue.product_title[product]} from our {CATEGORY_NAMES[category]} range.</p>",
            "vendor": SUPPLIERS[catalogue.product_supplier[product]],
            "product_type": CATEGORY_NAMES[category],
            "created_at": created_s[i],
            "updated_at": updated_s[i],
            "published_at": created_s[i],
            "status": PRODUCT_STATUSES[catalogue.product_status[product]],
            "tags": ", ".join(tags),
            "variants": variants[bounds[i]:bounds[i + 1]],
        })
    return rendered


def product_updated_at(store: StoreData, products: np.ndarray, moment: int) -> np.ndarray:
    """Latest price change at or before `moment` among the product's variants, else its creation."""
    catalogue = store.catalogue
    change = np.where(catalogue.price_changed_at <= moment, catalogue.price_changed_at, 0)
    latest = np.maximum.reduceat(change, catalogue.product_offsets[:-1])
    return np.maximum(latest, catalogue.product_created)[products]


def collections_published_at(store: StoreData) -> int:
    """When the shop set up its category collections: the UTC midnight before its first product (or
    order), so every collection predates the history, the products and the price rules naming it."""
    first = int(np.concatenate([store.catalogue.product_created, store.created[:1]]).min())
    return first - first % DAY


def render_custom_collections(store: StoreData, categories: np.ndarray) -> list[dict]:
    """One custom collection per category; its title is the products' `product_type`, so a price rule's
    `entitled_collection_ids` name categories. Never edited: updated_at = published_at."""
    stamp = iso_with_offset(np.array([collections_published_at(store)]), store.zone)[0]
    return [
        {"id": collection, "handle": slug(CATEGORY_NAMES[category]), "title": CATEGORY_NAMES[category],
         "updated_at": stamp, "body_html": "", "published_at": stamp, "sort_order": "best-selling",
         "template_suffix": None, "published_scope": "web",
         "admin_graphql_api_id": f"gid://shopify/Collection/{collection}"}
        for category, collection in zip(categories.tolist(), collection_id(categories).tolist())
    ]


def render_inventory_items(store: StoreData, skus: np.ndarray) -> list[dict]:
    catalogue = store.catalogue
    created = catalogue.product_created[catalogue.product[skus]]
    n = len(skus)
    stamps = iso_with_offset(np.concatenate([created, np.maximum(created, store.inventory.updated_at[skus].max(axis=1))]),
                             store.zone)
    return [
        {"id": item_id, "sku": catalogue.sku_codes[sku], "cost": money(cost), "tracked": True,
         "requires_shipping": True, "created_at": stamps[i], "updated_at": stamps[n + i]}
        for i, (item_id, sku, cost) in enumerate(zip(store.ids.inventory_item[skus].tolist(), skus.tolist(),
                                                     catalogue.unit_cost[skus].tolist()))
    ]


def render_locations(store: StoreData) -> list[dict]:
    inventory = store.inventory
    return [{"id": int(location_id), "name": name, "active": True, "country_code": inventory.location_country}
            for location_id, name in zip(inventory.location_id, inventory.location_name)]


def render_inventory_levels(store: StoreData, skus: np.ndarray, locations: np.ndarray, levels: np.ndarray,
                            updated_at: np.ndarray) -> list[dict]:
    """`levels` and `updated_at`: (skus, 2) stock per location and when it last changed."""
    inventory = store.inventory
    stamps = iso_with_offset(updated_at[skus, locations], store.zone)
    return [
        {"inventory_item_id": item_id, "location_id": location_id, "available": available, "updated_at": stamp}
        for item_id, location_id, available, stamp in zip(
            store.ids.inventory_item[skus].tolist(), inventory.location_id[locations].tolist(),
            levels[skus, locations].tolist(), stamps)
    ]


# -- events ---------------------------------------------------------------------------------------
def event_ids(rows: np.ndarray) -> np.ndarray:
    """Event ids grow with the order rows here; deletions are the only events the sandbox has."""
    return 98_000_000_000_000 + 7 * np.asarray(rows, dtype=np.int64)


def render_deletion_events(store: StoreData, rows: np.ndarray) -> list[dict]:
    """`events.json` entries for orders the merchant deleted (verb `destroy`, subject the order)."""
    moments = iso_with_offset(store.deleted_at[rows], store.zone)
    events = []
    for event_id, order_id, number, moment in zip(event_ids(rows).tolist(), store.ids.order[rows].tolist(),
                                                  store.ids.order_number[rows].tolist(), moments):
        message = f"Order #{number} was deleted."
        events.append({"id": event_id, "subject_id": order_id, "created_at": moment, "subject_type": "Order",
                       "verb": "destroy", "arguments": [f"#{number}"], "body": None, "message": message,
                       "author": "Shopify", "description": message, "path": f"/admin/orders/{order_id}"})
    return events
