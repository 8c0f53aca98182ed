"""The HTML of a competitor's product page on a day, its robots.txt and its error pages.

A page is a pure function of (site data, page, day): nothing in it depends on the port, the wall
clock or the request, so the same config gives byte-identical pages and an unchanged page keeps
its ETag. `shown_as` is the one place that decides the price text a crawler should find, and both
the page and the ground truth use it.
"""

from __future__ import annotations

import html
import json
import re
from dataclasses import dataclass, replace

from .competitor_config import CompetitorConfig
from .competitor_market import BROKEN_KINDS, NO_PRICE, NOT_BROKEN, SiteData
from .money_formats import NBSP, SYMBOLS, format_money

LABELS = {
    "en": {"in": "In stock", "out": "Out of stock", "call": "Call for price", "cart": "Add to cart",
           "home": "Home", "from": "from", "offers": "offers", "was": "Was"},
    "de": {"in": "Auf Lager", "out": "Derzeit nicht verfügbar", "call": "Preis auf Anfrage",
           "cart": "In den Warenkorb", "home": "Startseite", "from": "ab", "offers": "Angebote", "was": "statt"},
    "fr": {"in": "En stock", "out": "Rupture de stock", "call": "Prix sur demande", "cart": "Ajouter au panier",
           "home": "Accueil", "from": "à partir de", "offers": "offres", "was": "au lieu de"},
}
IN_STOCK, OUT_OF_STOCK = "https://schema.org/InStock", "https://schema.org/OutOfStock"
_NUMBER = re.compile(r'"@@number:([0-9.]+)@@"')  # a JSON number spliced in exactly as the site writes it
HTML_TYPE = "text/html; charset=utf-8"


@dataclass
class PageView:
    """What one page shows on one day."""
    site: CompetitorConfig
    style: str
    path: str
    name: str
    own_sku: str
    brand: str
    category: str
    price: int | None        # cents shown, None = no price on the page
    high_price: int | None   # AggregateOffer highPrice
    offer_count: int
    was_price: int | None
    in_stock: bool
    broken: str | None       # a BROKEN_KINDS entry
    new_template: bool       # the html site after its markup change

    @property
    def labels(self) -> dict[str, str]:
        return LABELS[self.site.language]

    def money(self, cents: int, money_format: str) -> str:
        return format_money(cents, money_format, self.site.currency)


def site_title(site: CompetitorConfig) -> str:
    return " ".join(part.capitalize() for part in site.name.split("-"))


def page_view(data: SiteData, page: int, day: int) -> PageView:
    shown = int(data.shown_price[day, page])
    broken = int(data.broken[page])
    return PageView(
        site=data.config, style=data.config.markup[int(data.style[page])], path=data.path[page],
        name=data.name[page], own_sku=data.own_sku[page], brand=data.brand[page], category=data.category[page],
        price=None if shown == NO_PRICE else shown,
        high_price=None if shown == NO_PRICE else int(data.high_price[day, page]),
        offer_count=int(data.offer_count[page]),
        was_price=int(data.was_price[page]) or None,
        in_stock=bool(data.in_stock[day, page]),
        broken=None if broken == NOT_BROKEN else BROKEN_KINDS[broken],
        new_template=data.new_template(day),
    )


def shown_as(view: PageView) -> str | None:
    """The price text where a crawler reads it first (the JSON-LD value as written, the microdata
    content or text, the selector's element), as a reader sees it (&nbsp; is U+00A0); the
    "call for price" text on such a page; None where the page shows no price."""
    if view.broken == "call_for_price":
        return view.labels["call"]
    if view.price is None:
        return None
    if view.style == "html" and view.new_template:
        return view.money(view.price, view.site.display_format)
    return view.money(view.price, view.site.price_format)


# -- the page ---------------------------------------------------------------------------------
def render_page(view: PageView) -> bytes:
    site, labels = view.site, view.labels
    if view.broken == "malformed_html":  # the template died half-way: no price made it out
        view = _without_price(view)
    head = _jsonld(view) if view.style.startswith("jsonld") else ""
    if view.style.startswith("jsonld"):
        body = _plain_product(view)
    elif view.style.startswith("microdata"):
        body = _microdata_product(view)
    else:
        body = _html_product_v2(view) if view.new_template else _html_product(view)
    document = (
        f'<!DOCTYPE html>\n<html lang="{site.language}">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{_text(view.name)} | {site_title(site)}</title>\n"
        f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f'<link rel="canonical" href="{_text(view.path)}">\n{head}</head>\n<body>\n'
        f'<header class="site-header"><a class="logo" href="/">{site_title(site)}</a>\n'
        f'<nav class="breadcrumb"><a href="/">{labels["home"]}</a> › '
        f'<a href="/c/{view.category.lower()}">{view.category}</a></nav></header>\n'
        f"<main>\n{body}</main>\n"
        f'<footer class="site-footer"><p>{site_title(site)} · {labels["cart"]}</p></footer>\n</body>\n</html>\n'
    )
    if view.broken == "malformed_html":
        document = document[: len(document) * 3 // 5]  # the document cut off mid-way, tags left open
    return document.encode()


def _without_price(view: PageView) -> PageView:
    return replace(view, price=None, high_price=None, was_price=None)


def _text(value: str) -> str:
    """HTML text: escaped, with the no-break space written as &nbsp; as templates do."""
    return html.escape(value, quote=True).replace(NBSP, "&nbsp;")


def _availability_text(view: PageView) -> str:
    return view.labels["in"] if view.in_stock else view.labels["out"]


def _has_offer(view: PageView) -> bool:
    """A no_price (or malformed) page shows no offer at all; the others say at least availability."""
    return view.broken not in ("no_price", "malformed_html")


def _visible_price(view: PageView) -> str:
    if view.broken == "call_for_price":
        return view.labels["call"]
    if view.price is None:
        return ""
    if view.style == "jsonld-aggregate":
        return (f'{view.labels["from"]} {view.money(view.price, view.site.display_format)} · '
                f'{view.offer_count} {view.labels["offers"]}')
    return view.money(view.price, view.site.display_format)


# -- JSON-LD ----------------------------------------------------------------------------------
def _price_value(view: PageView, cents: int) -> str:
    text = view.money(cents, view.site.price_format)
    return f"@@number:{text}@@" if view.site.price_format == "number" else text


def _offer(view: PageView) -> dict:
    availability = IN_STOCK if view.in_stock else OUT_OF_STOCK
    if view.style == "jsonld-aggregate":
        if view.price is None:
            return {"@type": "AggregateOffer", "offerCount": 0, "availability": availability}
        return {"@type": "AggregateOffer", "priceCurrency": view.site.currency,
                "lowPrice": _price_value(view, view.price), "highPrice": _price_value(view, view.high_price),
                "offerCount": view.offer_count, "availability": availability}
    offer = {"@type": "Offer", "url": view.path}
    if view.price is not None:
        offer.update({"priceCurrency": view.site.currency, "price": _price_value(view, view.price)})
    offer.update({"availability": availability, "itemCondition": "https://schema.org/NewCondition"})
    return offer


def _product(view: PageView, context: bool = True) -> dict:
    product = {"@context": "https://schema.org"} if context else {}
    product.update({
        "@type": "Product", "name": view.name, "sku": view.own_sku,
        "brand": {"@type": "Brand", "name": view.brand}, "category": view.category,
        "image": f"/img/{view.own_sku}.jpg", "url": view.path,
    })
    if _has_offer(view):
        product["offers"] = _offer(view)
    return product


def _structured_data(view: PageView) -> object:
    if view.style == "jsonld-graph":
        page_id = f"{view.path}#webpage"
        product = _product(view, context=False)
        product = {"@id": f"{view.path}#product", **product, "mainEntityOfPage": {"@id": page_id}}
        return {"@context": "https://schema.org", "@graph": [
            {"@type": "WebPage", "@id": page_id, "url": view.path, "name": view.name,
             "inLanguage": view.site.language},
            product,
        ]}
    if view.style == "jsonld-array":
        return [
            {"@context": "https://schema.org", "@type": "Organization", "name": site_title(view.site), "url": "/"},
            {"@context": "https://schema.org", "@type": "BreadcrumbList", "itemListElement": [
                {"@type": "ListItem", "position": 1, "name": view.labels["home"], "item": "/"},
                {"@type": "ListItem", "position": 2, "name": view.category, "item": f"/c/{view.category.lower()}"},
            ]},
            _product(view),
        ]
    return _product(view)


def _jsonld(view: PageView) -> str:
    site = view.site
    text = json.dumps(_structured_data(view), ensure_ascii=False, indent=2 if site.jsonld_escape == "unicode" else None)
    # Text inside <script> must not close it: escape "<" (and ">", "&") or every "/" as PHP does.
    if site.jsonld_escape == "unicode":
        text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    else:
        text = text.replace("/", "\\/")
    text = _NUMBER.sub(r"\1", text)
    if view.broken == "malformed_html":
        text = f"{text[:-1]},{text[-1]}"  # a trailing comma before the last bracket: invalid JSON
    return f'<script type="application/ld+json">\n{text}\n</script>\n'


def _plain_product(view: PageView) -> str:
    """The visible part of a JSON-LD site's page (the structured data is in the head)."""
    price = f'<div class="product-price">{_text(_visible_price(view))}</div>\n' if _has_offer(view) else ""
    availability = f'<p class="availability">{_availability_text(view)}</p>\n' if _has_offer(view) else ""
    return (f'<article class="product">\n<h1 class="product-title">{_text(view.name)}</h1>\n'
            f'<p class="product-brand">{_text(view.brand)}</p>\n{price}{availability}'
            f'<button type="button">{view.labels["cart"]}</button>\n'
            f'<p class="product-ref">{view.own_sku}</p>\n</article>\n')


# -- microdata --------------------------------------------------------------------------------
def _microdata_product(view: PageView) -> str:
    # The text-style site is an older shop: http:// vocabulary, French class names.
    vocabulary = "https://schema.org" if view.style == "microdata-content" else "http://schema.org"
    availability = (IN_STOCK if view.in_stock else OUT_OF_STOCK).replace("https://schema.org", vocabulary)
    currency = view.site.currency
    offer = ""
    if _has_offer(view):
        if view.style == "microdata-content":
            if view.broken == "call_for_price":
                price = f'<span class="price">{_text(view.labels["call"])}</span>\n'
            elif view.price is None:
                price = ""
            else:
                price = (f'<meta itemprop="priceCurrency" content="{currency}">\n'
                         f'<meta itemprop="price" content="{view.money(view.price, view.site.price_format)}">\n'
                         f'<span class="price">{_text(view.money(view.price, view.site.display_format))}</span>\n')
        else:
            if view.broken == "call_for_price":
                price = f'<span itemprop="price">{_text(view.labels["call"])}</span>\n'
            elif view.price is None:
                price = ""
            else:
                price = (f'<span itemprop="price">{_text(view.money(view.price, view.site.price_format))}</span>'
                         f'&nbsp;<span itemprop="priceCurrency" content="{currency}">{SYMBOLS.get(currency, currency)}</span>\n')
        offer = (f'<div class="offer" itemprop="offers" itemscope itemtype="{vocabulary}/Offer">\n{price}'
                 f'<link itemprop="availability" href="{availability}"><span class="stock">{_availability_text(view)}</span>\n'
                 f"</div>\n")
    return (f'<div class="product" itemscope itemtype="{vocabulary}/Product">\n'
            f'<h1 itemprop="name">{_text(view.name)}</h1>\n'
            f'<meta itemprop="sku" content="{view.own_sku}">\n'
            f'<div itemprop="brand" itemscope itemtype="{vocabulary}/Brand"><span itemprop="name">{_text(view.brand)}</span></div>\n'
            f'<img itemprop="image" src="/img/{view.own_sku}.jpg" alt="{_text(view.name)}">\n'
            f"{offer}</div>\n")


# -- no structured data -----------------------------------------------------------------------
def _html_product(view: PageView) -> str:
    """The template before the markup change: the price in span.price-now."""
    parts = [f'<div class="product-detail">\n<h1 class="product-name">{_text(view.name)}</h1>\n']
    if _has_offer(view):
        parts.append('<div class="price-block">\n')
        if view.was_price is not None and view.price is not None:
            parts.append(f'<span class="price-was">{view.labels["was"]} '
                         f'{_text(view.money(view.was_price, view.site.price_format))}</span>\n')
        if view.broken == "call_for_price" or view.price is not None:
            text = view.labels["call"] if view.broken == "call_for_price" else view.money(view.price, view.site.price_format)
            parts.append(f'<span class="price-now">{_text(text)}</span>\n')
        stock = "stock--in" if view.in_stock else "stock--out"
        parts.append(f'</div>\n<p class="stock {stock}">{_availability_text(view)}</p>\n')
    parts.append(f'<p class="article-no">Art.-Nr. {view.own_sku}</p>\n</div>\n')
    return "".join(parts)


def _html_product_v2(view: PageView) -> str:
    """The relaunched theme: new class names, so span.price-now no longer matches anything."""
    parts = [f'<section class="pdp">\n<h1 class="pdp__title">{_text(view.name)}</h1>\n']
    if _has_offer(view):
        parts.append('<div class="pdp-price">')
        if view.was_price is not None and view.price is not None:
            parts.append(f'<s class="pdp-price__was">{_text(view.money(view.was_price, view.site.display_format))}</s>')
        if view.broken == "call_for_price" or view.price is not None:
            text = view.labels["call"] if view.broken == "call_for_price" else view.money(view.price, view.site.display_format)
            parts.append(f'<span class="pdp-price__amount">{_text(text)}</span>')
        parts.append(f'</div>\n<p class="pdp-stock">{_availability_text(view)}</p>\n')
    parts.append(f'<p class="pdp__sku">{view.own_sku}</p>\n</section>\n')
    return "".join(parts)


# -- robots.txt and the other pages -----------------------------------------------------------
def robots_txt(site: CompetitorConfig) -> str | None:
    """The site's robots.txt, None where it has none (a 404)."""
    if not site.robots_txt:
        return None
    lines = [f"# robots.txt for {site_title(site)}"]
    for agent in site.blocked_agents:
        lines += [f"User-agent: {agent}", "Disallow: /", ""]
    lines.append("User-agent: *")
    if site.crawl_delay is not None:
        lines.append(f"Crawl-delay: {site.crawl_delay:g}")
    lines += [f"Disallow: {path}" for path in site.disallowed_paths] or ["Disallow:"]
    return "\n".join(lines) + "\n"


def home_page(site: CompetitorConfig) -> bytes:
    return (f'<!DOCTYPE html>\n<html lang="{site.language}">\n<head><meta charset="utf-8">'
            f"<title>{site_title(site)}</title></head>\n<body><h1>{site_title(site)}</h1></body>\n</html>\n").encode()


def error_page(status: int, reason: str) -> bytes:
    return (f"<!DOCTYPE html>\n<html><head><title>{status} {reason}</title></head>\n"
            f"<body><h1>{status} {reason}</h1></body></html>\n").encode()
