"""Promotions on the wire: Shopify price rules and discount codes, WooCommerce coupons, the
discount applications of an order, the promotion calendar (CSV) and the promotion truth."""

from __future__ import annotations

import json
from decimal import Decimal

import numpy as np
import pandas as pd

from .catalogue import CATEGORY_NAMES
from .promotions import Phase, Promotion, PromotionBook
from .store import StoreData
from .wire import iso_naive, iso_with_offset, money

CALENDAR_COLUMNS = ["promotion_id", "name", "type", "parameters", "starts_at", "ends_at", "skus", "categories",
                    "channels", "member_only", "codes"]
COLLECTION_BASE = 410_000_000_000  # Shopify custom collection of a category: COLLECTION_BASE + 1009 × category
MEMBER_TAG = "member"


def collection_id(category: int) -> int:
    return COLLECTION_BASE + 1009 * (category + 1)


def shopify_value(cents_or_percent: int, percent: bool) -> str:
    """Shopify's decimal texts: "20.0" (percent), "5.0" / "12.5" (an amount); price rules negate them."""
    value = Decimal(cents_or_percent) if percent else Decimal(cents_or_percent) / 100
    text = f"{value.normalize():f}"
    return text + ".0" if "." not in text else text


def _value_type(phase: Phase) -> str:
    return "percentage" if phase.rule == "percent" else "fixed_amount"


def rule_terms(promotion: Promotion, tier: int) -> tuple[Phase, str, int]:
    """(phase, value_type, value: percent or cents) of the promotion's code number `tier`."""
    phase = promotion.phases[0]
    if phase.rule == "percent":
        return phase, "percentage", phase.percent
    if phase.rule == "tiers":
        return phase, "fixed_amount", phase.tiers[tier][1]
    return phase, "fixed_amount", phase.amount


def minimum_spend(phase: Phase, tier: int) -> int:
    if phase.rule == "tiers":
        return phase.tiers[tier][0]
    return phase.min_spend if phase.rule in ("fixed", "gift") else 0


# -- orders -------------------------------------------------------------------------------------
def discount_application(store: StoreData, promotion_index: int, phase_index: int) -> dict | None:
    """The Shopify `discount_applications` entry of an order that used a promotion (None for a gift)."""
    promotion = store.promotions.promotions[promotion_index]
    if promotion.phases[0].rule == "tiers":
        phase, tier = promotion.phases[0], max(phase_index, 0)
    else:
        phase, tier = promotion.phases[max(phase_index, 0)], 0
    if phase.rule == "gift":
        return None
    value = phase.percent if phase.rule == "percent" else (phase.tiers[tier][1] if phase.rule == "tiers" else phase.amount)
    entry = {"target_type": "line_item", "type": "discount_code" if promotion.codes else "automatic",
             "value": shopify_value(value, phase.rule == "percent"), "value_type": _value_type(phase),
             "allocation_method": "across",
             "target_selection": "entitled" if (len(promotion.skus) or promotion.categories) else "all"}
    if promotion.codes:
        entry["code"] = promotion.codes[tier]
    else:
        entry["title"] = promotion.name
        entry["description"] = promotion.name
    return entry


def code_type(store: StoreData, promotion_index: int) -> str:
    """`discount_codes[].type` of an order's code."""
    if promotion_index < 0:
        return "percentage"
    rule = store.promotions.promotions[promotion_index].phases[0].rule
    return "percentage" if rule == "percent" else "fixed_amount"


# -- Shopify price rules and discount codes -----------------------------------------------------
def price_rule_rows(store: StoreData) -> list[tuple[int, int, int]]:
    """(price rule id, promotion index, code number) of every price rule, by id."""
    rows = [(rule_id, index, tier) for index, promotion in enumerate(store.promotions.promotions)
            for tier, rule_id in enumerate(promotion.price_rule_ids)]
    return sorted(rows)


def _usage(store: StoreData, code: str, moment: int) -> int:
    try:
        index = store.discount_codes.index(code)
    except ValueError:
        return 0
    return int(((store.discount_code == index) & (store.created <= moment)).sum())


def render_price_rules(store: StoreData, rows: list[tuple[int, int, int]]) -> list[dict]:
    book: PromotionBook = store.promotions
    ids = store.ids
    result = []
    for rule_id, index, tier in rows:
        promotion = book.promotions[index]
        phase, value_type, value = rule_terms(promotion, tier)
        minimum = minimum_spend(phase, tier)
        ends = None if promotion.origin == "welcome" else promotion.end
        created, starts = iso_with_offset(np.array([promotion.created_at, promotion.start]), store.zone)
        members = np.flatnonzero(book.member)
        result.append({
            "id": rule_id,
            "value_type": value_type,
            "value": "-" + shopify_value(value, value_type == "percentage"),  # a reduction: negative
            "customer_selection": "prerequisite" if promotion.member_only else "all",
            "target_type": "line_item",
            "target_selection": "entitled" if (len(promotion.skus) or promotion.categories) else "all",
            "allocation_method": "across",
            "allocation_limit": None,
            "once_per_customer": promotion.origin == "welcome",
            "usage_limit": None,
            "starts_at": starts,
            "ends_at": None if ends is None else iso_with_offset(np.array([ends]), store.zone)[0],
            "created_at": created,
            "updated_at": created,
            "entitled_product_ids": [],
            "entitled_variant_ids": sorted(ids.variant[promotion.skus].tolist()),
            "entitled_collection_ids": [collection_id(c) for c in promotion.categories],
            "entitled_country_ids": [],
            "prerequisite_product_ids": [],
            "prerequisite_variant_ids": [],
            "prerequisite_collection_ids": [],
            "customer_segment_prerequisite_ids": [],
            "prerequisite_customer_ids": sorted(store.customers.id[members].tolist()) if promotion.member_only else [],
            "prerequisite_subtotal_range": {"greater_than_or_equal_to": shopify_value(minimum, False)} if minimum else None,
            "prerequisite_quantity_range": None,
            "prerequisite_shipping_price_range": None,
            "prerequisite_to_entitlement_quantity_ratio": {"prerequisite_quantity": None, "entitled_quantity": None},
            "prerequisite_to_entitlement_purchase": {"prerequisite_amount": None},
            "title": promotion.codes[tier],
            "admin_graphql_api_id": f"gid://shopify/PriceRule/{rule_id}",
        })
    return result


def render_discount_codes(store: StoreData, index: int, tier: int, moment: int) -> list[dict]:
    promotion = store.promotions.promotions[index]
    created = iso_with_offset(np.array([promotion.created_at]), store.zone)[0]
    code = promotion.codes[tier]
    return [{"id": promotion.discount_code_ids[tier], "price_rule_id": promotion.price_rule_ids[tier], "code": code,
             "usage_count": _usage(store, code, moment), "created_at": created, "updated_at": created}]


# -- WooCommerce coupons ------------------------------------------------------------------------
def coupon_rows(store: StoreData) -> list[tuple[int, int, int]]:
    rows = [(coupon_id, index, tier) for index, promotion in enumerate(store.promotions.promotions)
            for tier, coupon_id in enumerate(promotion.coupon_ids)]
    return sorted(rows)


def render_coupons(store: StoreData, rows: list[tuple[int, int, int]], moment: int) -> list[dict]:
    book: PromotionBook = store.promotions
    catalogue, ids = store.catalogue, store.ids
    result = []
    for coupon_id, index, tier in rows:
        promotion = book.promotions[index]
        phase, value_type, value = rule_terms(promotion, tier)
        minimum = minimum_spend(phase, tier)
        expires = None if promotion.origin == "welcome" else promotion.end
        stamps = np.array([promotion.created_at, expires if expires is not None else promotion.created_at])
        local, gmt = iso_naive(stamps, store.zone), iso_naive(stamps, None)
        skus = promotion.skus
        product_ids = sorted(set(np.where(ids.variant[skus] > 0, ids.variant[skus],
                                          ids.product[catalogue.product[skus]]).tolist()))
        members = np.flatnonzero(book.member)
        result.append({
            "id": coupon_id,
            "code": promotion.codes[tier].lower(),
            "amount": f"{value}.00" if value_type == "percentage" else money(value),
            "status": "publish",
            "date_created": local[0], "date_created_gmt": gmt[0],
            "date_modified": local[0], "date_modified_gmt": gmt[0],
            "discount_type": "percent" if value_type == "percentage" else "fixed_cart",
            "description": promotion.name,
            "date_expires": local[1] if expires is not None else None,
            "date_expires_gmt": gmt[1] if expires is not None else None,
            "usage_count": _usage(store, promotion.codes[tier], moment),
            "individual_use": True,
            "product_ids": product_ids,
            "excluded_product_ids": [],
            "usage_limit": None,
            "usage_limit_per_user": 1 if promotion.origin == "welcome" else None,
            "limit_usage_to_x_items": None,
            "free_shipping": False,
            "product_categories": [category_term_id(c) for c in promotion.categories],
            "excluded_product_categories": [],
            "exclude_sale_items": False,
            "minimum_amount": money(minimum) if minimum else "0.00",
            "maximum_amount": "0.00",
            "email_restrictions": store.customers.emails(members) if promotion.member_only else [],
            "used_by": [],
            "meta_data": [],
        })
    return result


def category_term_id(category: int) -> int:
    """The WooCommerce product_cat term id of a category."""
    return 15 + category


# -- the calendar and the truth -----------------------------------------------------------------
def _iso_utc(seconds: int) -> str:
    return pd.Timestamp(int(seconds), unit="s", tz="UTC").strftime("%Y-%m-%dT%H:%M:%SZ")


def parameters(store: StoreData, promotion: Promotion) -> dict:
    catalogue = store.catalogue
    first = promotion.phases[0]
    if promotion.type == "flash":
        phases = []
        for phase in promotion.phases:
            entry = {"minutes": (phase.end - phase.start) // 60}
            if phase.rule == "percent":
                entry["percent"] = phase.percent
            else:
                entry.update(gift_sku=catalogue.sku_codes[phase.gift_sku], min_spend=money(phase.min_spend),
                             gift_cost=money(int(catalogue.unit_cost[phase.gift_sku])))
            phases.append(entry)
        return {"phases": phases}
    if first.rule == "percent":
        return {"percent": first.percent}
    if first.rule == "fixed":
        return {"amount": money(first.amount), "min_spend": money(first.min_spend)}
    if first.rule == "tiers":
        return {"tiers": [{"spend": money(s), "off": money(o)} for s, o in first.tiers]}
    return {"gift_sku": catalogue.sku_codes[first.gift_sku], "min_spend": money(first.min_spend),
            "gift_cost": money(int(catalogue.unit_cost[first.gift_sku]))}


def calendar_frame(stores: list[StoreData]) -> pd.DataFrame:
    rows = []
    for store in stores:
        for promotion in store.promotions.promotions:
            rows.append({
                "promotion_id": promotion.id, "name": promotion.name, "type": promotion.type,
                "parameters": json.dumps(parameters(store, promotion), sort_keys=True),
                "starts_at": _iso_utc(promotion.start), "ends_at": _iso_utc(promotion.end),
                "skus": ";".join(store.catalogue.sku_codes[s] for s in promotion.skus.tolist()),
                "categories": ";".join(CATEGORY_NAMES[c] for c in promotion.categories),
                "channels": store.name, "member_only": "true" if promotion.member_only else "false",
                "codes": ";".join(promotion.codes),
            })
    return pd.DataFrame(rows, columns=CALENDAR_COLUMNS)


def _cents(value: int | None) -> Decimal | None:
    return None if value is None else Decimal(money(int(value)))


def truth_frame(stores: list[StoreData]) -> pd.DataFrame:
    rows = []
    for store in stores:
        catalogue = store.catalogue
        for promotion in store.promotions.promotions:
            scope = promotion.scope(catalogue)
            realised = promotion.realised
            rows.append({
                "promotion_id": promotion.id, "store": store.name, "kind": store.kind, "origin": promotion.origin,
                "name": promotion.name, "type": promotion.type, "parameters": parameters(store, promotion),
                "starts_at": pd.Timestamp(promotion.start, unit="s", tz="UTC"),
                "ends_at": pd.Timestamp(promotion.end, unit="s", tz="UTC"),
                "phases": [{"starts_at": pd.Timestamp(p.start, unit="s", tz="UTC"),
                            "ends_at": pd.Timestamp(p.end, unit="s", tz="UTC"), "rule": p.rule, "uplift": p.uplift}
                           for p in promotion.phases],
                "codes": list(promotion.codes), "automatic": not promotion.codes,
                "code_share": promotion.code_share,
                "member_only": promotion.member_only,
                "scope_skus": [catalogue.sku_codes[s] for s in np.flatnonzero(scope).tolist()]
                if (len(promotion.skus) or promotion.categories) else [],
                "scope_categories": [CATEGORY_NAMES[c] for c in promotion.categories],
                "price_rule_ids": list(promotion.price_rule_ids), "discount_code_ids": list(promotion.discount_code_ids),
                "coupon_ids": list(promotion.coupon_ids),
                "uplift": promotion.uplift,
                "pull_forward_share": promotion.pull_forward_share,
                "post_period_ends_at": pd.Timestamp(max(promotion.post_end, promotion.end), unit="s", tz="UTC"),
                "cannibalisation": promotion.cannibalisation,
                "orders": realised["orders"],
                "units_in_scope": realised["units_in_scope"],
                "baseline_units": realised["baseline_units"],
                "added_units": realised["added_units"],
                "cannibalised_units": realised["cannibalised_units"],
                "sibling_baseline_units": realised["sibling_baseline_units"],
                "pulled_forward_units": realised["pulled_forward_units"],
                "discount": _cents(realised["discount"]),
                "gift_units": realised["gift_units"],
                "gift_cost": _cents(realised["gift_cost"]),
            })
    return pd.DataFrame(rows)


class PromotionTruth:
    """What every promotion is and did (`promotions()`), which order used which (`orders(store)`),
    the orders placed on and just below thresholds (`threshold_probes(store)`), the members."""

    def __init__(self, stores: dict[str, StoreData]) -> None:
        self._stores = stores

    def _selected(self, store: str | None) -> list[StoreData]:
        if store is None:
            return list(self._stores.values())
        if store not in self._stores:
            raise KeyError(f"no store named {store!r}; stores: {list(self._stores)}")
        return [self._stores[store]]

    def promotions(self, store: str | None = None) -> pd.DataFrame:
        return truth_frame(self._selected(store))

    def orders(self, store: str) -> pd.DataFrame:
        """One row per order that used a promotion: order_id, promotion_id, phase (the flash phase or the
        threshold tier, 0-based), code (None: automatic), discount, gift_units."""
        data = self._selected(store)[0]
        book = data.promotions
        rows = np.flatnonzero(book.order_promotion >= 0)
        gift_units = np.bincount(np.repeat(np.arange(data.order_count), np.diff(data.basket.line_offsets)),
                                 weights=book.gift, minlength=data.order_count).astype(np.int64)
        codes = data.discount_code[rows]
        return pd.DataFrame({
            "order_id": data.ids.order[rows],
            "created_at": pd.to_datetime(data.created[rows], unit="s", utc=True),
            "promotion_id": [book.promotions[p].id for p in book.order_promotion[rows].tolist()],
            "phase": book.order_phase[rows].astype(np.int64),
            "code": pd.Series([data.discount_codes[c] if c >= 0 else None for c in codes.tolist()], dtype=object),
            "discount": [Decimal(money(int(c))) for c in data.basket.discount_total[rows].tolist()],
            "gift_units": gift_units[rows],
        })

    def threshold_probes(self, store: str) -> pd.DataFrame:
        """Orders whose in-scope subtotal sits exactly on a threshold (qualifies) or one cent below."""
        data = self._selected(store)[0]
        book = data.promotions
        probes = book.probes
        return pd.DataFrame({
            "order_id": [int(data.ids.order[p["order"]]) for p in probes],
            "promotion_id": [book.promotions[p["promotion"]].id for p in probes],
            "phase": [p["phase"] for p in probes],
            "threshold": [Decimal(money(p["threshold"])) for p in probes],
            "in_scope_subtotal": [Decimal(money(p["in_scope_subtotal"])) for p in probes],
            "at_threshold": [p["in_scope_subtotal"] == p["threshold"] for p in probes],
        }, columns=["order_id", "promotion_id", "phase", "threshold", "in_scope_subtotal", "at_threshold"])

    def members(self, store: str) -> pd.DataFrame:
        """The store's member customers: customer_id, email."""
        data = self._selected(store)[0]
        rows = np.flatnonzero(data.promotions.member)
        return pd.DataFrame({"customer_id": data.customers.id[rows], "email": data.customers.emails(rows)})
