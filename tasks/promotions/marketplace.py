"""Promotions the marketplaces store, as `promotions` rows: Shopify price rules (with their discount
codes and the collections and variants they target) and WooCommerce coupons (with the products
and categories they name).

What the platforms say, and what they cannot:
- A spend threshold with tiers ("spend 100 save 20, spend 200 save 50") is one price rule or coupon
  per tier. Fixed-amount rules with a minimum spend that share their window, scope and customers are
  read back as one threshold promotion with those tiers; a lone one is a fixed discount with a
  minimum spend.
- WooCommerce stores no start date, only the coupon's creation: a coupon starts at its first use
  on that store (to the hour), or at its creation while no order has used it.
- Gifts, flash-sale phases, automatic discounts and shipping costs are in neither API: those
  promotions come from the team's calendar.
- The calendar wins: a marketplace promotion whose code a calendar promotion of the same channel
  and an overlapping window also has is left out of the review (`superseded`), because the
  calendar's row knows more (gifts, phases, shipping).
- A rule this model cannot review (a shipping discount, buy X get Y) is reported, never dropped
  silently.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

import pandas as pd
from sqlalchemy import Engine, select

from connectors import build_connector
from connectors.http import SourceError
from connectors.sources import ConfigError, SourceConfig
from shopops.logs import get_logger
from tasks.promotions.calendar import as_list, store_promotions
from warehouse.io import read_frame
from warehouse.models import Order

# A rule without an end runs on; its row needs an end, and this one is far beyond any review.
OPEN_END = pd.Timestamp("2100-01-01", tz="UTC")
ROW_COLUMNS = ["promotion_id", "origin", "name", "type", "parameters", "starts_at", "ends_at", "scope_skus",
               "scope_categories", "scope_channels", "member_only", "codes"]


@dataclass
class MarketplaceImport:
    source: str
    loaded: int = 0
    problems: list[str] = field(default_factory=list)
    error: str | None = None


@dataclass
class Offer:
    """One price rule or coupon, in the platform-neutral terms of a promotion."""

    rule_id: str
    name: str
    percent: Decimal | None           # a percentage off; else `amount` off
    amount: Decimal | None
    min_spend: Decimal | None
    starts_at: pd.Timestamp
    ends_at: pd.Timestamp
    skus: tuple[str, ...]
    categories: tuple[str, ...]
    member_only: bool
    codes: tuple[str, ...]
    created_at: pd.Timestamp | None = None  # WooCommerce: tiers share it, not their first uses

    def terms(self) -> tuple:
        """What tiers of one threshold promotion share."""
        return (self.created_at or self.starts_at), self.ends_at, self.skus, self.categories, self.member_only


def import_marketplace_promotions(engine: Engine, configs: list[SourceConfig], **connector_options
                                  ) -> list[MarketplaceImport]:
    """Read every source's price rules or coupons and upsert them; one source failing does not stop
    the others (its result carries the error)."""
    log = get_logger("shopops.promotions")
    results = []
    for config in configs:
        result = MarketplaceImport(config.name)
        connector = None
        try:
            connector = build_connector(config, **connector_options)
            if config.kind == "shopify":
                offers, result.problems = shopify_offers(connector)
            else:
                offers, result.problems = woocommerce_offers(connector, first_uses(engine, config.name))
            rows = promotion_rows(config.name, offers)
            store_promotions(engine, rows)
            result.loaded = len(rows)
            log.info("%s: %d promotions read from its %s", config.name, len(rows),
                     "price rules" if config.kind == "shopify" else "coupons")
        except (SourceError, ConfigError) as error:
            result.error = str(error)
            log.error("%s: promotions not read: %s", config.name, error)
        finally:
            if connector is not None:
                connector.close()
        for problem in result.problems:
            log.warning("%s: %s", config.name, problem)
        results.append(result)
    return results


# -- Shopify ------------------------------------------------------------------------------------
def shopify_offers(connector) -> tuple[list[Offer], list[str]]:
    rules = [rule for page in connector.price_rules() for rule in page if isinstance(rule, dict)]
    problems: list[str] = []
    reviewable = []
    for rule in rules:
        reason = _unreviewable_rule(rule)
        if reason:
            problems.append(f"price rule {rule.get('id')} ({rule.get('title')}): {reason}; not reviewed")
        else:
            reviewable.append(rule)
    needs_products = any(rule.get("entitled_variant_ids") or rule.get("entitled_product_ids") for rule in reviewable)
    sku_of_variant, skus_of_product = _shopify_skus(connector.products()) if needs_products else ({}, {})
    category_of = ({str(c.get("id")): c.get("title") for page in connector.custom_collections() for c in page}
                   if any(rule.get("entitled_collection_ids") for rule in reviewable) else {})
    offers = []
    for rule in reviewable:
        rule_id = str(rule.get("id"))
        where = f"price rule {rule_id} ({rule.get('title')})"
        codes = tuple(sorted({str(c.get("code", "")).strip().upper() for c in connector.discount_codes(rule_id)} - {""}))
        if not codes:
            problems.append(f"{where}: has no discount codes; not reviewed")
            continue
        value = _decimal(rule.get("value"))
        starts, ends = _time(rule.get("starts_at")), _time(rule.get("ends_at"))
        if value is None or starts is None:
            problems.append(f"{where}: value {rule.get('value')!r} or starts_at {rule.get('starts_at')!r} unreadable; "
                            "not reviewed")
            continue
        variants = [str(v) for v in rule.get("entitled_variant_ids") or []]
        products = [str(p) for p in rule.get("entitled_product_ids") or []]
        collections = [str(c) for c in rule.get("entitled_collection_ids") or []]
        skus = {sku_of_variant[v] for v in variants if v in sku_of_variant}
        skus |= {sku for p in products for sku in skus_of_product.get(p, ())}
        categories = {category_of[c] for c in collections if category_of.get(c)}
        unknown = ([v for v in variants if v not in sku_of_variant] + [p for p in products if p not in skus_of_product]
                   + [c for c in collections if not category_of.get(c)])
        if unknown:
            problems.append(f"{where}: targets {', '.join(unknown[:5])}{' …' if len(unknown) > 5 else ''}, "
                            "which the shop's products and collections do not list")
            if not skus and not categories:
                continue  # its whole scope is unknown: reviewing it over every SKU would be wrong
        minimum = _decimal((rule.get("prerequisite_subtotal_range") or {}).get("greater_than_or_equal_to"))
        percent = rule.get("value_type") == "percentage"
        offers.append(Offer(
            rule_id=rule_id, name=str(rule.get("title") or rule_id), percent=abs(value) if percent else None,
            amount=None if percent else abs(value), min_spend=minimum or None, starts_at=starts,
            ends_at=ends if ends is not None else OPEN_END, skus=tuple(sorted(skus)),
            categories=tuple(sorted(categories)),
            member_only=rule.get("customer_selection") == "prerequisite", codes=codes))
    return offers, problems


def _unreviewable_rule(rule: dict) -> str:
    if rule.get("target_type") == "shipping_line":
        return "a shipping discount"
    ratio = rule.get("prerequisite_to_entitlement_quantity_ratio") or {}
    if ratio.get("prerequisite_quantity") or rule.get("prerequisite_product_ids") or rule.get("prerequisite_variant_ids"):
        return "a buy-X-get-Y rule (enter it in the calendar as a gift promotion)"
    if rule.get("value_type") not in ("percentage", "fixed_amount"):
        return f"value_type {rule.get('value_type')!r} is not percentage or fixed_amount"
    return ""


def _shopify_skus(product_pages: Iterable[list[dict]]) -> tuple[dict[str, str], dict[str, tuple[str, ...]]]:
    """SKU by variant id and the SKUs of each product id, from products.json."""
    sku_of_variant, skus_of_product = {}, {}
    for page in product_pages:
        for product in page:
            skus = []
            for variant in product.get("variants") or []:
                if isinstance(variant, dict) and variant.get("sku"):
                    sku_of_variant[str(variant.get("id"))] = str(variant["sku"])
                    skus.append(str(variant["sku"]))
            skus_of_product[str(product.get("id"))] = tuple(skus)
    return sku_of_variant, skus_of_product


# -- WooCommerce --------------------------------------------------------------------------------
def woocommerce_offers(connector, first_use: pd.Series) -> tuple[list[Offer], list[str]]:
    """`first_use`: the first order time (UTC) by upper-case code on this store."""
    coupons = [coupon for page in connector.coupons() for coupon in page if isinstance(coupon, dict)]
    problems: list[str] = []
    category_of = ({str(c.get("id")): c.get("name") for page in connector.product_categories() for c in page}
                   if any(c.get("product_categories") for c in coupons) else {})
    skus_of_id: dict[str, tuple[str, ...]] = {}
    offers = []
    for coupon in coupons:
        coupon_id = str(coupon.get("id"))
        code = str(coupon.get("code") or "").strip().upper()
        where = f"coupon {coupon_id} ({code.lower()})"
        kind = coupon.get("discount_type")
        if kind not in ("percent", "fixed_cart", "fixed_product"):
            problems.append(f"{where}: discount_type {kind!r} is not percent, fixed_cart or fixed_product; not reviewed")
            continue
        value = _decimal(coupon.get("amount"))
        created = _time(coupon.get("date_created_gmt"), naive_is_utc=True)
        if not code or value is None or created is None:
            problems.append(f"{where}: code, amount or date_created_gmt unreadable; not reviewed")
            continue
        products = [str(p) for p in coupon.get("product_ids") or []]
        terms = [str(t) for t in coupon.get("product_categories") or []]
        skus = {sku for p in products for sku in _woo_skus(connector, p, skus_of_id)}
        categories = {category_of[t] for t in terms if category_of.get(t)}
        unknown = [p for p in products if not skus_of_id.get(p)] + [t for t in terms if not category_of.get(t)]
        if unknown:
            problems.append(f"{where}: names products or categories {', '.join(unknown[:5])} the store does not serve")
            if not skus and not categories:
                continue
        if coupon.get("excluded_product_ids") or coupon.get("excluded_product_categories"):
            problems.append(f"{where}: its exclusions are not modelled; its scope is taken without them")
        used = first_use.get(code)
        starts = used.floor("h") if used is not None and used >= created.floor("h") else created
        expires = _time(coupon.get("date_expires_gmt"), naive_is_utc=True)
        minimum = _decimal(coupon.get("minimum_amount"))
        percent = kind == "percent"
        offers.append(Offer(
            rule_id=coupon_id, name=str(coupon.get("description") or code.lower()),
            percent=value if percent else None, amount=None if percent else value,
            min_spend=minimum or None, starts_at=starts, ends_at=expires if expires is not None else OPEN_END,
            skus=tuple(sorted(skus)), categories=tuple(sorted(categories)),
            member_only=bool(coupon.get("email_restrictions")), codes=(code,), created_at=created))
    return offers, problems


def _woo_skus(connector, product_id: str, cache: dict[str, tuple[str, ...]]) -> tuple[str, ...]:
    """A product id's SKUs: its own, or its variations' for a variable product (looked up once)."""
    if product_id not in cache:
        product = connector.product(product_id) or {}
        if product.get("sku"):
            cache[product_id] = (str(product["sku"]),)
        else:
            cache[product_id] = tuple(sku for variation in product.get("variations") or []
                                      for sku in _woo_skus(connector, str(variation), cache))
    return cache[product_id]


def first_uses(engine: Engine, source: str) -> pd.Series:
    """The first order time (UTC) of every code used on a store."""
    with engine.connect() as conn:
        orders = read_frame(conn, select(Order.discount_codes, Order.created_at).where(
            Order.source == source, Order.discount_codes.is_not(None), Order.is_deleted.is_(False)))
    if orders.empty:
        return pd.Series(dtype="datetime64[us, UTC]")
    codes = orders["discount_codes"].str.upper().str.split(",").explode().str.strip()
    created = pd.to_datetime(orders["created_at"], utc=True).reindex(codes.index)
    return created.groupby(codes.to_numpy()).min()


# -- rows ---------------------------------------------------------------------------------------
def promotion_rows(source: str, offers: list[Offer]) -> pd.DataFrame:
    """`promotions` rows: thresholds regrouped from their tiers, ids `<source>:<rule or coupon id>`."""
    tiers: dict[tuple, list[Offer]] = {}
    rows = []
    for offer in offers:
        if offer.percent is None and offer.min_spend:
            tiers.setdefault(offer.terms(), []).append(offer)
        else:
            rows.append(_row(source, offer, "member" if offer.member_only and offer.percent is not None else
                             ("percentage" if offer.percent is not None else "fixed"), _parameters(offer), [offer]))
    for group in tiers.values():
        group = sorted(group, key=lambda o: o.min_spend)
        if len(group) == 1:
            rows.append(_row(source, group[0], "fixed", _parameters(group[0]), group))
        else:
            parameters = {"tiers": [{"spend": _text(o.min_spend), "off": _text(o.amount)} for o in group]}
            rows.append(_row(source, group[0], "threshold", parameters, group))
    return pd.DataFrame(rows, columns=ROW_COLUMNS)


def _parameters(offer: Offer) -> dict:
    if offer.percent is not None:
        return {"percent": float(offer.percent) if offer.percent % 1 else int(offer.percent)}
    return {"amount": _text(offer.amount), **({"min_spend": _text(offer.min_spend)} if offer.min_spend else {})}


def _row(source: str, first: Offer, kind: str, parameters: dict, group: list[Offer]) -> dict:
    ids = sorted((o.rule_id for o in group), key=lambda i: (len(i), i))
    return {
        "promotion_id": f"{source}:{ids[0]}", "origin": source,
        "name": " / ".join(dict.fromkeys(o.name for o in group)), "type": kind,
        "parameters": json.dumps(parameters, sort_keys=True),
        "starts_at": min(o.starts_at for o in group), "ends_at": first.ends_at,
        "scope_skus": json.dumps(list(first.skus)) if first.skus else None,
        "scope_categories": json.dumps(list(first.categories)) if first.categories else None,
        "scope_channels": json.dumps([source]), "member_only": first.member_only,
        "codes": json.dumps(sorted({code for o in group for code in o.codes})),
    }


def superseded(promotions: pd.DataFrame) -> pd.Series:
    """True for each marketplace promotion a calendar promotion already describes: one of its codes is
    the calendar promotion's, their windows overlap and the calendar one runs on its channel."""
    calendar = promotions[promotions["origin"] == "calendar"]
    result = pd.Series(False, index=promotions.index)
    if calendar.empty:
        return result
    booked = [(set(as_list(c.codes)), set(as_list(c.scope_channels)), c.starts_at, c.ends_at)
              for c in calendar.itertuples(index=False)]
    for index, row in promotions[promotions["origin"] != "calendar"].iterrows():
        codes, channels = set(as_list(row["codes"])), set(as_list(row["scope_channels"]))
        result[index] = any(codes & booked_codes and (not booked_channels or channels & booked_channels)
                            and starts < row["ends_at"] and row["starts_at"] < ends
                            for booked_codes, booked_channels, starts, ends in booked)
    return result


def _decimal(value) -> Decimal | None:
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return number if value is not None and number.is_finite() else None


def _text(amount: Decimal) -> str:
    return f"{amount.quantize(Decimal('0.01'))}"


def _time(value, *, naive_is_utc: bool = False) -> pd.Timestamp | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = pd.Timestamp(value)
    except ValueError:
        return None
    if moment.tzinfo is None:
        if not naive_is_utc:
            return None
        moment = moment.tz_localize("UTC")
    return moment.tz_convert("UTC")
