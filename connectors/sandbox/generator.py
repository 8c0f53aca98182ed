"""Builds the whole sandbox world from a SandboxConfig, deterministically and vectorized.

Every stage draws from its own PCG64 stream keyed by (seed, store name, stage), so changing one
rate or one store leaves the other stages' draws untouched, and the wall clock is never read.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np

from .anomalies import draw_anomalies, draw_deletions
from .arrivals import DAY, DayPlan, draw_created_times, plan_days
from .basket import fill_baskets
from .catalogue import Catalogue, build_catalogue
from .config import SandboxConfig, StoreConfig
from .customers import assign_orders, draw_customers, draw_people, orders_per_customer
from .ids import assign_ids, sparse_ids
from .inventory import stock_levels
from .lifecycle import run_lifecycle
from .locales import COUNTRIES, market_countries
from .promotions import MEMBER_SHARE, PromotionBook, apply_promotions, calendar_promotions, plan_promotions
from .store import StoreData
from .timezones import zone_table
from .wire import NEVER

_CATALOGUE, _STORE = 1, 2
_COMPETITOR, _PRICING = 3, 4  # added after the others: no existing stream changed
_CALENDAR, _ARRIVALS, _CUSTOMERS, _BASKETS, _LIFECYCLE, _ANOMALIES, _IDS, _INVENTORY, _DISCOUNTS = range(9)
_PURCHASING = 9             # after the others, so adding it changed none of their draws
_DELETIONS = 12             # likewise (10 and 11 are the promotions')
_PROMOTIONS, _PROMOTION_IDS = 10, 11  # the promotion kinds (members, plans, effects) and their platform ids
GIFT_SHARE = 0.05           # orders shipped to someone other than the buyer
GUEST_SHARE = 0.15          # WooCommerce checkouts without an account
WELCOME_CODE, WELCOME_PERCENT = "WELCOME10", 10


@dataclass
class World:
    catalogue: Catalogue
    stores: dict[str, StoreData]


def _stream(config: SandboxConfig, *key: int) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(config.seed, spawn_key=key)))


def _store_key(store: StoreConfig) -> int:
    return zlib.crc32(store.name.encode())


def calendar_rng(config: SandboxConfig, store: StoreConfig) -> np.random.Generator:
    return _stream(config, _STORE, _store_key(store), _CALENDAR)


def purchasing_rng(config: SandboxConfig, store: StoreConfig) -> np.random.Generator:
    """The draws of a shop's purchase orders (late deliveries, which stock-outs are on order)."""
    return _stream(config, _STORE, _store_key(store), _PURCHASING)


def competitor_rng(config: SandboxConfig, competitor: str, stage: int) -> np.random.Generator:
    """A competitor site's draws, one stream per stage (competitor_market.py numbers them), keyed by
    the site's name so adding or changing one site leaves the others' data unchanged."""
    return _stream(config, _COMPETITOR, zlib.crc32(competitor.encode()), stage)


def pricing_rng(config: SandboxConfig) -> np.random.Generator:
    """The draws of our pricing rules (traffic SKUs, margins, member prices)."""
    return _stream(config, _PRICING)


def build_world(config: SandboxConfig) -> World:
    catalogue = build_catalogue(_stream(config, _CATALOGUE), config.skus, config.anchor_epoch, config.days)
    stores: dict[str, StoreData] = {}
    # A shop's stock serves the stores selling from it too, so those are built first.
    for store in sorted(config.stores, key=lambda s: s.kind == "shopify"):
        sellers = [stores[m.name] for m in config.pool_members(store.name) if m.name != store.name] \
            if store.kind == "shopify" else []
        stores[store.name] = build_store(config, store, catalogue, sellers)
    return World(catalogue, {store.name: stores[store.name] for store in config.stores})


def _people(rng: np.random.Generator, store: StoreConfig, created: np.ndarray, start: int) -> dict:
    """Who buys each order, who receives it, and where it ships."""
    n = len(created)
    countries = market_countries(store.timezone)
    orders_of = orders_per_customer(rng, n)
    customers = draw_customers(rng, len(orders_of), countries, 7_000_000_000_000 if store.kind == "shopify" else 1)
    customer = assign_orders(rng, orders_of)
    # A customer exists from their first order, or from long before for earlier buyers; ids follow.
    buyers, first_order = np.unique(customer, return_index=True)
    customers.created[:] = start - rng.integers(0, 700 * DAY, len(orders_of))
    earlier = rng.random(len(buyers)) < 0.5
    customers.created[buyers] = created[first_order] - np.where(earlier, rng.integers(0, 700 * DAY, len(buyers)), 0)
    customers.id = np.sort(customers.id)[np.argsort(np.argsort(customers.created, kind="stable"), kind="stable")]

    gift = rng.random(n) < GIFT_SHARE
    recipients = draw_people(rng, int(gift.sum()), countries)
    recipient = np.where(gift, np.cumsum(gift) - 1, -1).astype(np.int32)
    recipient_country = recipients.country[np.maximum(recipient, 0)] if gift.any() else 0
    return {
        "home_country": countries[0],
        "customers": customers,
        "customer": customer,
        "guest": (rng.random(n) < GUEST_SHARE) if store.kind == "woocommerce" else np.zeros(n, dtype=bool),
        "recipients": recipients,
        "recipient": recipient,
        "ship_country": np.where(gift, recipient_country, customers.country[customer]).astype(np.int8),
    }


def _discounts(rng: np.random.Generator, plan: DayPlan, day: np.ndarray) -> dict:
    """Promotion days: most buyers use the day's code; on other days a few use a welcome code."""
    n = len(day)
    day_percent = plan.promotion_percent[day]
    uses_promotion = (day_percent > 0) & (rng.random(n) < 0.75)
    welcome = (day_percent == 0) & (rng.random(n) < 0.03)
    codes = sorted({code for code in plan.promotion_code if code} | {WELCOME_CODE})
    code_index = {code: index for index, code in enumerate(codes)}
    day_code = np.array([code_index.get(code, -1) for code in plan.promotion_code], dtype=np.int16)
    return {
        "discount_percent": np.where(uses_promotion, day_percent, np.where(welcome, WELCOME_PERCENT, 0)),
        "discount_code": np.where(uses_promotion, day_code[day] if n else -1,
                                  np.where(welcome, code_index[WELCOME_CODE], -1)).astype(np.int16),
        "discount_codes": codes,
    }


def build_store(config: SandboxConfig, store: StoreConfig, catalogue: Catalogue,
                sellers: list[StoreData] = ()) -> StoreData:
    """`sellers`: the other stores selling from this shop's stock (their demand is stocked for too)."""
    key = _store_key(store)
    anchor = config.anchor_epoch
    start = anchor - config.days * DAY
    plan = plan_days(store, config, calendar_rng(config, store))
    created, day = draw_created_times(_stream(config, _STORE, key, _ARRIVALS), plan, start, anchor)
    people = _people(_stream(config, _STORE, key, _CUSTOMERS), store, created, start)
    discounts = _discounts(_stream(config, _STORE, key, _DISCOUNTS), plan, day)

    tax_rates = np.array([country.tax_basis_points for country in COUNTRIES])
    ship_country = people["ship_country"]
    abroad = ship_country != people["home_country"]
    basket = fill_baskets(_stream(config, _STORE, key, _BASKETS), catalogue, created, discounts["discount_percent"],
                          tax_rates[ship_country], abroad)
    # Promotions on their own stream: members, the planned kinds, their effect on demand, their discounts.
    promotion_rng = _stream(config, _STORE, key, _PROMOTIONS)
    member = promotion_rng.random(len(people["customers"].id)) < MEMBER_SHARE
    planned = plan_promotions(promotion_rng, store.name, plan, catalogue, start, anchor)
    calendar = calendar_promotions(store.name, plan, start, anchor, (WELCOME_CODE, WELCOME_PERCENT))
    basket, discount_code, discount_codes, promotions = apply_promotions(
        promotion_rng, catalogue, planned, calendar, created, basket, discounts["discount_percent"],
        discounts["discount_code"], discounts["discount_codes"], people["customer"], len(people["customers"].id),
        people["guest"], tax_rates[ship_country], abroad, member)
    life = run_lifecycle(_stream(config, _STORE, key, _LIFECYCLE), store.kind, created, basket,
                         config.lifecycle["refund"], config.lifecycle["cancellation"])
    anomalies = draw_anomalies(_stream(config, _STORE, key, _ANOMALIES), life.event_time, config.anomalies)
    deleted_at = draw_deletions(_stream(config, _STORE, key, _DELETIONS), life.event_time,
                                config.anomalies["deleted"] if store.kind == "shopify" else 0.0)
    ids = assign_ids(_stream(config, _STORE, key, _IDS), store, len(created), len(basket.sku),
                     np.diff(life.refund_line_offsets), len(life.refund_line), catalogue)
    pool = [(basket, created)] + [(seller.basket, seller.created) for seller in sellers]
    sold = tuple(np.concatenate(parts) for parts in zip(*(
        (b.sku, b.quantity, np.repeat(c, np.diff(b.line_offsets))) for b, c in pool)))
    inventory = stock_levels(_stream(config, _STORE, key, _INVENTORY), store, catalogue, sold, anchor, config.days)
    _promotion_ids(_stream(config, _STORE, key, _PROMOTION_IDS), store, promotions, ids)
    return StoreData(
        config=store, zone=zone_table(store.timezone), catalogue=catalogue, created=created,
        discount_code=discount_code, discount_codes=discount_codes,
        basket=basket, life=life, anomalies=anomalies,
        event_visible=np.where(life.event_time == NEVER, NEVER, life.event_time + anomalies.visibility_lag),
        ids=ids, inventory=inventory, promotions=promotions, deleted_at=deleted_at, **people,
    )


def _promotion_ids(rng: np.random.Generator, store: StoreConfig, book: PromotionBook, ids) -> None:
    """One platform object per code, numbered in the order they were created: Shopify price rules and
    their discount codes; WooCommerce coupons (posts, after the store's orders and refunds)."""
    coded = sorted((p for p in book.promotions if p.codes), key=lambda p: (p.created_at, p.start, p.codes))
    count = sum(len(p.codes) for p in coded)
    if store.kind == "shopify":
        rules = iter(sparse_ids(rng, count, 1_300_000_000_000, (1_000, 90_000)).tolist())
        codes = iter(sparse_ids(rng, count, 16_000_000_000_000, (1_000, 90_000)).tolist())
        for promotion in coded:
            promotion.price_rule_ids = [next(rules) for _ in promotion.codes]
            promotion.discount_code_ids = [next(codes) for _ in promotion.codes]
    else:
        last = int(max(ids.order.max(initial=0), ids.refund.max(initial=0)))
        coupons = iter(sparse_ids(rng, count, last + 10, (1, 4)).tolist())
        for promotion in coded:
            promotion.coupon_ids = [next(coupons) for _ in promotion.codes]
