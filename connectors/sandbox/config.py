"""What the sandbox simulates: which stores, how much history, which rates.

Plain dataclasses, validated once. The default anchor is taken from the wall clock here and
nowhere else, so everything downstream of a config is a pure function of it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .competitor_config import CompetitorConfig, demo_competitors

STORE_KINDS = ("shopify", "woocommerce", "amazon")
# "deleted": Shopify orders a merchant deletes later (gone from orders.json, an `events.json` destroy
# event instead); none unless asked, so every other history stays as it was.
DEFAULT_ANOMALY_RATES = {"duplicate": 0.005, "malformed": 0.003, "late_visibility": 0.01, "deleted": 0.0}
# Shares of orders that get a refund (after fulfilment) or are cancelled (within a day).
DEFAULT_LIFECYCLE_RATES = {"refund": 0.05, "cancellation": 0.02}
BENCH_RATE_LIMIT_BUCKET = 10_000
BENCH_RATE_LIMIT_LEAK_PER_SECOND = 10_000.0
# The support desk, SMS provider, SMTP server and survey provider are named like stores in faults and
# credentials ("support", "sms", "surveys"; env SHOPOPS_SANDBOX_SUPPORT_…): no store or site may use them.
SERVICE_NAMES = ("support", "sms", "smtp", "surveys")
_STORE_NAME = re.compile(r"[a-z0-9][a-z0-9-]*")


@dataclass(frozen=True)
class StoreConfig:
    name: str
    kind: str
    timezone: str
    currency: str
    orders_per_day: float

    def __post_init__(self) -> None:
        if not _STORE_NAME.fullmatch(self.name):
            raise ValueError(f"store name {self.name!r}: use lower-case letters, digits and '-'")
        if self.kind not in STORE_KINDS:
            raise ValueError(f"store {self.name}: kind must be one of {STORE_KINDS}")
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise ValueError(f"store {self.name}: unknown time zone {self.timezone!r}") from error
        if not re.fullmatch(r"[A-Z]{3}", self.currency):
            raise ValueError(f"store {self.name}: currency must be an ISO 4217 code")
        if self.orders_per_day < 0:
            raise ValueError(f"store {self.name}: orders_per_day must be >= 0")


def demo_stores() -> list[StoreConfig]:
    return [
        StoreConfig("shop-us", "shopify", "America/New_York", "USD", 150),
        StoreConfig("shop-eu", "shopify", "Europe/Berlin", "EUR", 120),
        StoreConfig("woo-eu", "woocommerce", "Europe/Paris", "EUR", 80),
    ]


def as_utc(moment: datetime) -> datetime:
    """An aware UTC datetime at whole seconds; a naive one is taken to be UTC already."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(timezone.utc).replace(microsecond=0)


def _merged_rates(label: str, defaults: dict[str, float], given: dict[str, float]) -> dict[str, float]:
    unknown = set(given) - set(defaults)
    if unknown:
        raise ValueError(f"{label}: unknown rate(s) {sorted(unknown)}; known: {sorted(defaults)}")
    rates = {**defaults, **given}
    for name, rate in rates.items():
        if not 0.0 <= rate <= 1.0:
            raise ValueError(f"{label}.{name} must be a share between 0 and 1, got {rate}")
    return rates


@dataclass
class SandboxConfig:
    seed: int = 7
    anchor: datetime | None = None
    days: int = 90
    skus: int = 2000
    stores: list[StoreConfig] = field(default_factory=demo_stores)
    rate_limit_bucket: int = 40
    rate_limit_leak_per_second: float = 2.0
    anomalies: dict[str, float] = field(default_factory=dict)
    now: datetime | None = None
    lifecycle: dict[str, float] = field(default_factory=dict)
    # Competitor websites for the price monitor, each its own origin (competitor_config.py).
    competitors: list[CompetitorConfig] = field(default_factory=demo_competitors)
    # Support desk and surveys (support.py, sms.py, smtp_server.py, survey_provider.py): the rate limits
    # of the desk's incremental exports (each export counted on its own), of the SMS provider and of the
    # survey provider's API, and whether the SMTP server takes AUTH on a connection without STARTTLS.
    support_export_requests_per_minute: int = 10
    sms_messages_per_second: float = 10.0
    survey_api_requests_per_minute: int = 60
    smtp_auth_without_tls: bool = False
    # Amazon SP-API usage plans (requests per second, burst) of getOrders and getOrderItems.
    amazon_orders_rate: float = 0.0167
    amazon_orders_burst: int = 20
    amazon_items_rate: float = 0.5
    amazon_items_burst: int = 30

    def __post_init__(self) -> None:
        if self.anchor is None:
            self.anchor = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0)
        self.anchor = as_utc(self.anchor)
        if self.now is not None:
            self.now = as_utc(self.now)
        self.anomalies = _merged_rates("anomalies", DEFAULT_ANOMALY_RATES, dict(self.anomalies))
        self.lifecycle = _merged_rates("lifecycle", DEFAULT_LIFECYCLE_RATES, dict(self.lifecycle))
        self.stores = list(self.stores)
        names = [store.name for store in self.stores]
        if len(set(names)) != len(names):
            raise ValueError(f"store names must be unique, got {names}")
        self.competitors = list(self.competitors)
        sites = [site.name for site in self.competitors]
        # Faults are armed by name for stores and competitors alike, so the names share one space.
        if len(set(sites)) != len(sites) or set(sites) & set(names):
            raise ValueError(f"competitor names must be unique and differ from the stores', got {sites}")
        taken = [name for name in names + sites
                 if name in SERVICE_NAMES or any(name.startswith(f"{service}-") for service in SERVICE_NAMES)]
        if taken:
            raise ValueError(f"names {taken}: {SERVICE_NAMES} (and names starting with them and '-') are the "
                             "sandbox's support and survey services")
        if self.support_export_requests_per_minute < 1 or self.survey_api_requests_per_minute < 1 \
                or self.sms_messages_per_second <= 0:
            raise ValueError("the support, SMS and survey rate limits must be positive")
        if self.days < 1 or self.skus < 1:
            raise ValueError("days and skus must be at least 1")
        if self.rate_limit_bucket < 1 or self.rate_limit_leak_per_second <= 0:
            raise ValueError("the rate limit needs a bucket >= 1 and a positive leak rate")
        if min(self.amazon_orders_rate, self.amazon_items_rate) <= 0 or min(self.amazon_orders_burst,
                                                                            self.amazon_items_burst) < 1:
            raise ValueError("the Amazon usage plans need positive rates and bursts of at least 1")

    @classmethod
    def demo(cls, anchor: datetime | None = None) -> SandboxConfig:
        return cls(anchor=anchor, stores=demo_stores(), competitors=demo_competitors())

    @classmethod
    def bench(cls, orders: int, anchor: datetime | None = None) -> SandboxConfig:
        """The demo stores scaled so that about `orders` orders are visible at the anchor."""
        from .arrivals import expected_order_count  # the generator's own rate model

        base = cls(
            anchor=anchor,
            stores=demo_stores(),
            rate_limit_bucket=BENCH_RATE_LIMIT_BUCKET,
            rate_limit_leak_per_second=BENCH_RATE_LIMIT_LEAK_PER_SECOND,
            support_export_requests_per_minute=BENCH_RATE_LIMIT_BUCKET,
            sms_messages_per_second=BENCH_RATE_LIMIT_LEAK_PER_SECOND,
            survey_api_requests_per_minute=BENCH_RATE_LIMIT_BUCKET,
        )
        scale = orders / expected_order_count(base)
        scaled = [replace(store, orders_per_day=round(store.orders_per_day * scale, 6)) for store in base.stores]
        return replace(base, stores=scaled)

    @property
    def initial_now(self) -> datetime:
        return self.now if self.now is not None else self.anchor

    @property
    def anchor_epoch(self) -> int:
        return int(self.anchor.timestamp())

    def store(self, name: str) -> StoreConfig:
        for store in self.stores:
            if store.name == name:
                return store
        raise KeyError(f"no store named {name!r}; stores: {[s.name for s in self.stores]}")

    def competitor(self, name: str) -> CompetitorConfig:
        for site in self.competitors:
            if site.name == name:
                return site
        raise KeyError(f"no competitor named {name!r}; competitors: {[c.name for c in self.competitors]}")

    def stock_pool_for(self, store: StoreConfig | str) -> str:
        """The Shopify shop whose stock `store` sells: a shop its own; a WooCommerce store (no
        stock API here) the shop selling in the same currency, else the first shop, else itself."""
        store = self.store(store) if isinstance(store, str) else store
        if store.kind == "shopify":
            return store.name
        shops = [s for s in self.stores if s.kind == "shopify"]
        same_currency = [s for s in shops if s.currency == store.currency]
        return (same_currency or shops or [store])[0].name

    def pool_members(self, shop: str) -> list[StoreConfig]:
        """Every store selling from `shop`'s stock (the shop included), in config order."""
        return [s for s in self.stores if self.stock_pool_for(s) == shop]
