"""What a competitor website in the sandbox is like: markup, money format, politeness rules.

A plain frozen dataclass per site, validated once; `demo_competitors()` is the realistic default
set (README "Competitor sites" describes each). Nothing here reads the wall clock or draws random
numbers: the data of a site follow from its config and the sandbox seed (competitor_market.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# How the product data are marked up. A site uses one or two (the first on most pages).
MARKUP_STYLES = (
    "jsonld-product",     # <script type="application/ld+json"> a Product with an Offer
    "jsonld-graph",       # JSON-LD {"@graph": [WebPage, Product]}
    "jsonld-array",       # JSON-LD [Organization, BreadcrumbList, Product]
    "jsonld-aggregate",   # JSON-LD Product with an AggregateOffer (lowPrice / highPrice / offerCount)
    "microdata-content",  # itemscope/itemprop, the price in a content attribute
    "microdata-text",     # itemscope/itemprop, the price as the element's text
    "html",               # no structured data: the price only in the HTML (a CSS selector finds it)
)
JSONLD_STYLES = frozenset(style for style in MARKUP_STYLES if style.startswith("jsonld"))
# Money as written: "dot" 1234.56, "comma" 1234,56, "number" a JSON number (JSON-LD only),
# "de" 1.234,56 €, "de_nbsp" 1.234,56&nbsp;€, "eu_prefix" €1.234,56, "en" $1,234.56, "code" 1234.56 USD.
MONEY_FORMATS = ("dot", "comma", "number", "de", "de_nbsp", "eu_prefix", "en", "code")
LANGUAGES = ("en", "de", "fr")
ETAG_KINDS = (None, "strong", "weak")
JSONLD_ESCAPES = ("unicode", "slash")  # "<" as \u003c (Django, Next.js) or "/" as \/ (PHP json_encode)
URL_FIELDS = frozenset({"slug", "id", "category"})
# The selector of the site without structured data, before its markup change (the catalogue exports it).
PRICE_SELECTOR = "span.price-now"
_NAME = re.compile(r"[a-z0-9][a-z0-9-]*")
_PLACEHOLDER = re.compile(r"\{(\w+)\}")


@dataclass(frozen=True)
class CompetitorConfig:
    name: str
    markup: tuple[str, ...]              # one or two MARKUP_STYLES; the first is on most pages
    currency: str
    price_format: str                    # the price where a crawler reads it (structured value, or the selector's text)
    display_format: str = "dot"          # the visible price text (the html site: its template after the markup change)
    language: str = "en"                 # of the page's labels ("In stock", "Call for price", ...)
    url_pattern: str = "/products/{slug}-{id}"  # {slug}, {id}, {category}
    share: float = 0.5                   # of our SKUs the site sells
    price_level: float = 1.0             # its prices vs our list price
    price_ending: int | None = 99        # charm ending in cents (99 -> x.99); None = exact cents
    price_change_rate: float = 0.05      # chance a page's price moves on a day
    abnormal_moves_per_month: float = 4.0  # +-20-40% moves across the site (at least one per site)
    out_of_stock_share: float = 0.12     # pages with an out-of-stock period
    hide_price_when_out_of_stock: bool = False
    broken_pages: int = 3                # permanently broken: malformed HTML, no price, "call for price"
    hostile_share: float = 0.03          # pages whose product name is hostile (script text, very long, unicode)
    jsonld_escape: str = "unicode"
    robots_txt: bool = True              # False: /robots.txt is a 404
    robots_disallow: tuple[str, ...] = ("/cart", "/checkout")
    disallowed_prefix: str | None = None  # robots.txt disallows it, and some product pages live under it
    disallowed_share: float = 0.0        # of the pages, under disallowed_prefix
    crawl_delay: float | None = None     # the robots.txt Crawl-delay (advice; not enforced)
    blocked_agents: tuple[str, ...] = ()  # robots.txt "Disallow: /" for these user agents only
    rate_limit_per_second: float | None = None  # faster than this from one client -> 429 + Retry-After
    latency_seconds: float = 0.0         # added to every product page
    flaky_share: float = 0.0             # of product page requests answered 503 (by request count)
    etag: str | None = None              # None, "strong" or "weak" (W/"...")
    last_modified: bool = False          # Last-Modified = the day the page last changed
    markup_change_at: float | None = None  # html site: share of the history after which its HTML changes
    server: str = "nginx"                # the Server header

    def __post_init__(self) -> None:
        object.__setattr__(self, "markup", tuple(self.markup))
        object.__setattr__(self, "robots_disallow", tuple(self.robots_disallow))
        object.__setattr__(self, "blocked_agents", tuple(self.blocked_agents))
        label = f"competitor {self.name}"
        if not _NAME.fullmatch(self.name):
            raise ValueError(f"{label}: use lower-case letters, digits and '-' in the name")
        if not 1 <= len(self.markup) <= 2 or any(style not in MARKUP_STYLES for style in self.markup):
            raise ValueError(f"{label}: markup must be one or two of {MARKUP_STYLES}")
        if "html" in self.markup and len(self.markup) > 1:
            raise ValueError(f"{label}: a site without structured data ('html') has no second style")
        if not re.fullmatch(r"[A-Z]{3}", self.currency):
            raise ValueError(f"{label}: currency must be an ISO 4217 code")
        for field_name in ("price_format", "display_format"):
            if getattr(self, field_name) not in MONEY_FORMATS:
                raise ValueError(f"{label}: {field_name} must be one of {MONEY_FORMATS}")
        if self.price_format == "number" and not set(self.markup) <= JSONLD_STYLES:
            raise ValueError(f"{label}: a JSON number price needs JSON-LD markup")
        if self.language not in LANGUAGES or self.etag not in ETAG_KINDS or self.jsonld_escape not in JSONLD_ESCAPES:
            raise ValueError(f"{label}: language in {LANGUAGES}, etag in {ETAG_KINDS}, jsonld_escape in {JSONLD_ESCAPES}")
        fields = set(_PLACEHOLDER.findall(self.url_pattern))
        if not self.url_pattern.startswith("/") or not fields <= URL_FIELDS or not fields & {"slug", "id"}:
            raise ValueError(f"{label}: url_pattern starts with '/' and uses {{slug}} and/or {{id}} (and {{category}})")
        for field_name in ("share", "price_change_rate", "out_of_stock_share", "hostile_share",
                           "disallowed_share", "flaky_share"):
            if not 0.0 <= getattr(self, field_name) <= 1.0:
                raise ValueError(f"{label}: {field_name} must be a share between 0 and 1")
        if not 0.5 <= self.price_level <= 2.0:
            raise ValueError(f"{label}: price_level must be between 0.5 and 2")
        if self.price_ending is not None and not 0 <= self.price_ending <= 99:
            raise ValueError(f"{label}: price_ending is a number of cents (0-99) or None")
        if self.abnormal_moves_per_month < 0 or self.broken_pages < 0 or self.latency_seconds < 0:
            raise ValueError(f"{label}: abnormal_moves_per_month, broken_pages and latency_seconds are >= 0")
        if self.disallowed_share and not self.disallowed_prefix:
            raise ValueError(f"{label}: disallowed_share needs a disallowed_prefix")
        if self.disallowed_prefix is not None and not re.fullmatch(r"/[a-z0-9-]+/", self.disallowed_prefix):
            raise ValueError(f"{label}: disallowed_prefix is one path segment like '/outlet/'")
        if self.rate_limit_per_second is not None and self.rate_limit_per_second <= 0:
            raise ValueError(f"{label}: rate_limit_per_second must be positive")
        if self.crawl_delay is not None and self.crawl_delay <= 0:
            raise ValueError(f"{label}: crawl_delay must be positive")
        if self.markup_change_at is not None and (self.markup != ("html",) or not 0.0 < self.markup_change_at <= 1.0):
            raise ValueError(f"{label}: markup_change_at (a share of the history, in (0, 1]) is for an 'html' site")

    @property
    def price_selector(self) -> str:
        """The CSS selector a crawler is given for the price: only where there is no structured data."""
        return PRICE_SELECTOR if self.markup == ("html",) else ""

    @property
    def disallowed_paths(self) -> tuple[str, ...]:
        """What robots.txt disallows for every user agent (the product prefix included)."""
        extra = (self.disallowed_prefix,) if self.disallowed_prefix and self.disallowed_prefix not in self.robots_disallow else ()
        return self.robots_disallow + extra


def demo_competitors() -> list[CompetitorConfig]:
    """Five competitors that between them show every markup style and politeness rule."""
    return [
        # A German kitchen specialist: clean schema.org, validators, an outlet robots.txt keeps out.
        CompetitorConfig(
            "kitchenhaus", markup=("jsonld-product", "jsonld-array"), currency="EUR", price_format="dot",
            display_format="de", language="de", url_pattern="/products/{slug}-{id}", share=0.55,
            price_level=0.97, price_ending=99, robots_disallow=("/cart", "/checkout"),
            disallowed_prefix="/outlet/", disallowed_share=0.12, etag="strong", last_modified=True,
        ),
        # A US marketplace: JSON-LD @graph, several sellers on some items, a WAF that rate-limits.
        CompetitorConfig(
            "megamart", markup=("jsonld-graph", "jsonld-aggregate"), currency="USD", price_format="number",
            display_format="en", url_pattern="/ip/{slug}/{id}", share=0.7, price_level=0.93,
            price_ending=None, price_change_rate=0.12, hide_price_when_out_of_stock=True,
            jsonld_escape="slash", robots_disallow=("/search", "/account/", "/cart"),
            rate_limit_per_second=2.0, etag="weak", server="cloudflare",
        ),
        # A British trade supplier: microdata with the price in content, a slow server asking for a delay.
        CompetitorConfig(
            "northfield-supply", markup=("microdata-content",), currency="GBP", price_format="dot",
            display_format="code", url_pattern="/p/{id}.html", share=0.35, price_level=1.06,
            price_ending=99, price_change_rate=0.03, crawl_delay=1.0, latency_seconds=0.15,
            last_modified=True, server="Apache/2.4.58 (Ubuntu)",
        ),
        # A French discounter: microdata with the price as text, blocks BadBot, flaky backend.
        CompetitorConfig(
            "prixmalin", markup=("microdata-text",), currency="EUR", price_format="comma",
            display_format="comma", language="fr", url_pattern="/article/{id}-{slug}", share=0.45,
            price_level=0.95, price_ending=90, robots_disallow=("/panier", "/compte/"),
            blocked_agents=("BadBot",), flaky_share=0.03,
        ),
        # A small German DIY shop: hand-made HTML, no robots.txt, relaunches its theme late in the history.
        CompetitorConfig(
            "werkstatt-direkt", markup=("html",), currency="EUR", price_format="de_nbsp",
            display_format="eu_prefix", language="de", url_pattern="/shop/{category}/{slug}.html",
            share=0.4, price_level=1.02, price_ending=95, hide_price_when_out_of_stock=True,
            robots_txt=False, markup_change_at=0.75, server="Apache",
        ),
    ]
