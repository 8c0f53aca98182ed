"""Competitor prices from product pages: structured data first, the CSS selector second.

The pages below are cut-down copies of what real shop software emits (Shopify's Dawn theme,
WooCommerce with Yoast SEO, Magento 2's Luma theme, a price-comparison marketplace), with the
numbers changed and worked out by hand in the comments.
"""

from __future__ import annotations

import gzip
import json
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tasks.pricing.extract import (
    METHODS,
    MAX_PRICE,
    STATUSES,
    THREE_DECIMAL_CURRENCIES,
    ZERO_DECIMAL_CURRENCIES,
    Offer,
    _read_money,
    extract_offer,
    parse_money,
)


def ld(data) -> str:
    """A JSON-LD script element, as Shopify and WooCommerce write it (slashes escaped)."""
    text = data if isinstance(data, str) else json.dumps(data).replace("/", "\\/")
    return f'<script type="application/ld+json">{text}</script>'


def page(*body: str, head: str = "") -> str:
    return (f'<!doctype html><html lang="de"><head><meta charset="utf-8"><title>Shop</title>{head}</head>'
            f'<body>{"".join(body)}</body></html>')


def assert_sane(offer: Offer) -> None:
    """What every answer must look like, whatever the page."""
    assert isinstance(offer, Offer)
    assert offer.status in STATUSES and offer.method in METHODS
    assert isinstance(offer.detail, str) and offer.detail and len(offer.detail) <= 400
    assert "<" not in offer.detail and "\n" not in offer.detail
    assert "could not be read (" not in offer.detail     # the last-resort handler: a bug, not a page
    if offer.status == "ok":
        assert_price(offer.price, offer.currency)
    elif offer.status == "out_of_stock":
        assert offer.price is None or offer.price > 0
    else:
        assert offer.price is None
    if offer.currency is not None:
        assert len(offer.currency) == 3 and offer.currency.isupper()


def minor_units(currency):
    return 0 if currency in ZERO_DECIMAL_CURRENCIES else 3 if currency in THREE_DECIMAL_CURRENCIES else 2


def assert_price(price, currency):
    assert isinstance(price, Decimal) and price.is_finite() and price > 0
    assert price.as_tuple().exponent == -minor_units(currency)


# --------------------------------------------------------------------------------------------
# Real-world markup
# --------------------------------------------------------------------------------------------

# Shopify (Dawn's main-product section): one Offer per variant, the price a JSON number in
# major units (variant.price | divided_by: 100.00), availability per variant.
SHOPIFY = page(
    '<main id="MainContent"><section id="shopify-section-template--main-product">',
    '<h1>Leinenhemd Sommer</h1><div class="price"><span class="price-item price-item--regular">€49,90 EUR</span></div>',
    ld({
        "@context": "http://schema.org/", "@type": "Product", "name": "Leinenhemd \"Sommer\"",
        "url": "https://nordfaden.example/products/leinenhemd?variant=40110001",
        "image": ["https://nordfaden.example/cdn/shop/files/hemd.jpg?v=1&width=1920"],
        "description": "Leichtes Hemd aus 100% Leinen.", "sku": "LH-100-S",
        "brand": {"@type": "Brand", "name": "Nordfaden"},
        "offers": [
            {"@type": "Offer", "sku": "LH-100-S", "availability": "http://schema.org/InStock",
             "price": 49.9, "priceCurrency": "EUR", "url": "https://nordfaden.example/products/leinenhemd?variant=40110001"},
            {"@type": "Offer", "sku": "LH-100-M", "availability": "http://schema.org/OutOfStock",
             "price": 47.5, "priceCurrency": "EUR", "url": "https://nordfaden.example/products/leinenhemd?variant=40110002"},
            {"@type": "Offer", "sku": "LH-100-XL", "availability": "http://schema.org/InStock",
             "price": 54.9, "priceCurrency": "EUR", "url": "https://nordfaden.example/products/leinenhemd?variant=40110003"},
        ],
    }),
    "</section></main>",
)


def test_shopify_variants_lowest_in_stock_offer():
    offer = extract_offer(SHOPIFY)
    # In stock: S 49.9 and XL 54.9 (M at 47.5 is sold out) → 49.90.
    assert (offer.status, offer.price, offer.currency, offer.method) == ("ok", Decimal("49.90"), "EUR", "json-ld")
    assert "lowest of 2 offers" in offer.detail and "Leinenhemd" in offer.detail


def test_shopify_sku_picks_the_variant():
    assert extract_offer(SHOPIFY, sku="LH-100-XL").price == Decimal("54.90")
    sold_out = extract_offer(SHOPIFY, sku="lh-100-m ")       # matching ignores case and spaces
    assert (sold_out.status, sold_out.price, sold_out.currency) == ("out_of_stock", Decimal("47.50"), "EUR")
    assert "OutOfStock" in sold_out.detail and "record" in sold_out.detail


def test_sku_that_no_product_has_falls_back_to_the_first_and_says_so():
    offer = extract_offer(SHOPIFY, sku="OTHER-1")
    assert (offer.status, offer.price) == ("ok", Decimal("49.90"))
    assert "no product on the page has sku 'OTHER-1'" in offer.detail


# WooCommerce with Yoast SEO: Yoast's @graph (WebPage, BreadcrumbList, WebSite) in one block,
# WooCommerce's own @graph with the Product in another; prices are strings with two decimals.
YOAST = ld({"@context": "https://schema.org", "@graph": [
    {"@type": "WebPage", "@id": "https://kaffeeland.example/produkt/tasse/",
     "url": "https://kaffeeland.example/produkt/tasse/", "name": "Tasse Morgen - Kaffeeland",
     "isPartOf": {"@id": "https://kaffeeland.example/#website"}, "datePublished": "2024-03-01T09:00:00+00:00"},
    {"@type": "BreadcrumbList", "@id": "https://kaffeeland.example/produkt/tasse/#breadcrumb",
     "itemListElement": [{"@type": "ListItem", "position": 1, "name": "Startseite", "item": "https://kaffeeland.example/"}]},
    {"@type": "WebSite", "@id": "https://kaffeeland.example/#website", "url": "https://kaffeeland.example/", "name": "Kaffeeland"},
]})


def woocommerce(offers) -> str:
    return ld({"@context": "https://schema.org/", "@graph": [
        {"@context": "https://schema.org/", "@type": "BreadcrumbList", "itemListElement": []},
        {"@context": "https://schema.org/", "@type": "Product", "@id": "https://kaffeeland.example/produkt/tasse/#product",
         "name": "Tasse &quot;Morgen&quot;", "url": "https://kaffeeland.example/produkt/tasse/",
         "description": "<p>Steingut, 300 ml.</p>", "sku": "T-200", "offers": offers,
         "aggregateRating": {"@type": "AggregateRating", "ratingValue": "4.50", "reviewCount": 8}},
    ]})


def test_woocommerce_graph_next_to_yoast():
    html = page(woocommerce([{
        "@type": "Offer", "price": "12.50", "priceValidUntil": "2026-12-31",
        "priceSpecification": {"price": "12.50", "priceCurrency": "EUR", "valueAddedTaxIncluded": "true"},
        "priceCurrency": "EUR", "availability": "http://schema.org/InStock",
        "url": "https://kaffeeland.example/produkt/tasse/",
        "seller": {"@type": "Organization", "name": "Kaffeeland", "url": "https://kaffeeland.example"}}]),
        head=YOAST)
    offer = extract_offer(html, sku="T-200")
    assert (offer.status, offer.price, offer.currency, offer.method) == ("ok", Decimal("12.50"), "EUR", "json-ld")
    assert "Tasse" in offer.detail and "&quot;" not in offer.detail


def test_woocommerce_sale_in_price_specification_not_the_list_price():
    # WooCommerce 9: no Offer.price, the sale price and the struck-through list price as specifications.
    html = page(woocommerce([{
        "@type": "Offer", "priceCurrency": "EUR", "availability": "https://schema.org/InStock",
        "priceSpecification": [
            {"@type": "UnitPriceSpecification", "price": "20.00", "priceCurrency": "EUR",
             "priceType": "https://schema.org/ListPrice"},
            {"@type": "UnitPriceSpecification", "price": "15.00", "priceCurrency": "EUR"},
        ]}]), head=YOAST)
    assert extract_offer(html).price == Decimal("15.00")


# Magento 2 (Luma): microdata, the price in <meta content>, the shown price formatted for de_DE.
MAGENTO = page('''
<div class="columns"><div class="column main" itemscope itemtype="http://schema.org/Product">
 <div class="product-info-main">
  <div class="page-title-wrapper product"><h1 class="page-title"><span class="base" data-ui-id="page-title-wrapper" itemprop="name">Wanderrucksack 30 L</span></h1></div>
  <div class="product-info-price"><div class="price-box price-final_price" data-role="priceBox" data-product-id="1234">
   <span class="price-container price-final_price tax weee" itemprop="offers" itemscope itemtype="http://schema.org/Offer">
    <span id="product-price-1234" data-price-amount="1089.95" data-price-type="finalPrice" class="price-wrapper "><span class="price">1.089,95&nbsp;€</span></span>
    <meta itemprop="price" content="1089.95" />
    <meta itemprop="priceCurrency" content="EUR" />
    <link itemprop="availability" href="http://schema.org/InStock" />
   </span></div>
   <div class="product-info-stock-sku"><div class="stock available"><span>Auf Lager</span></div>
   <div class="product attribute sku"><strong class="type">Artikelnummer</strong><div class="value" itemprop="sku">WR-30</div></div></div>
  </div>
 </div>
 <div class="product attribute description"><div class="value" itemprop="description"><p>Robust, 30 Liter.</p></div></div>
</div></div>''')


def test_magento_microdata():
    offer = extract_offer(MAGENTO, sku="WR-30")
    assert (offer.status, offer.price, offer.currency, offer.method) == ("ok", Decimal("1089.95"), "EUR", "microdata")
    assert "Wanderrucksack" in offer.detail


def test_microdata_price_as_text_and_sold_out():
    html = page('<div itemscope itemtype="https://schema.org/Product"><h1 itemprop="name">Tischlampe</h1>'
                '<div itemprop="offers" itemscope itemtype="https://schema.org/Offer">'
                '<span itemprop="price">1.299,00 €</span>'        # no content attribute: the text
                '<link itemprop="availability" href="https://schema.org/SoldOut"></div></div>')
    offer = extract_offer(html)
    assert (offer.status, offer.price, offer.currency, offer.method) == ("out_of_stock", Decimal("1299.00"), "EUR", "microdata")


def test_marketplace_aggregate_offer_uses_low_price():
    html = page(ld({"@context": "https://schema.org", "@type": "Product", "name": "Funkkopfhörer X200",
                    "gtin13": "4006381333931", "brand": {"@type": "Brand", "name": "Klangwerk"},
                    "offers": {"@type": "AggregateOffer", "lowPrice": "129.00", "highPrice": "179.99",
                               "priceCurrency": "EUR", "offerCount": "14"}}))
    offer = extract_offer(html)
    assert (offer.status, offer.price, offer.currency) == ("ok", Decimal("129.00"), "EUR")


def test_aggregate_offer_without_low_price_reads_its_offers():
    html = page(ld({"@type": "Product", "name": "Funkkopfhörer X200", "offers": {
        "@type": "AggregateOffer", "priceCurrency": "EUR", "offers": [
            {"@type": "Offer", "price": "139.00", "seller": {"name": "A"}},
            {"@type": "Offer", "price": "129.50", "seller": {"name": "B"}},     # the lowest
            {"@type": "Offer", "price": "99.00", "availability": "OutOfStock", "seller": {"name": "C"}}]}}))
    offer = extract_offer(html)                       # the sellers' offers take the aggregate's currency
    assert (offer.status, offer.price, offer.currency) == ("ok", Decimal("129.50"), "EUR")


# A product page that also describes a bundle accessory (two Products, each with an offer).
TWO_PRODUCTS = page(
    ld([{"@context": "https://schema.org", "@type": ["Product", "Thing"], "name": "Espressomaschine Duo",
         "sku": "EM-1", "mpn": "DUO-2024", "offers": {"@type": "Offer", "price": "499.00", "priceCurrency": "EUR"}},
        {"@context": "https://schema.org", "@type": "https://schema.org/Product", "name": "Milchkännchen",
         "productID": "MK-9", "offers": {"@type": "Offer", "price": "24.90", "priceCurrency": "EUR"}}]))


@pytest.mark.parametrize("sku, price", [(None, "499.00"), ("EM-1", "499.00"), ("DUO-2024", "499.00"), ("MK-9", "24.90")])
def test_two_products_and_a_sku_to_choose(sku, price):
    offer = extract_offer(TWO_PRODUCTS, sku=sku)
    assert (offer.status, offer.price) == ("ok", Decimal(price))


@pytest.mark.parametrize("price, expected", [
    (19.99, "19.99"), (19.9, "19.90"), (20, "20.00"), (1234.5, "1234.50"),        # JSON numbers
    ("19.99", "19.99"), ("19.9900", "19.99"), ("24,95", "24.95"),                 # strings
    ("1.234,56", "1234.56"), ("€ 24,95", "24.95"), ("16.806722", "16.81"),         # tax-computed net price
])
def test_json_ld_price_as_number_and_as_string(price, expected):
    html = page(ld({"@type": "Product", "offers": {"@type": "Offer", "price": price, "priceCurrency": "EUR"}}))
    offer = extract_offer(html)
    assert (offer.status, offer.price, offer.currency) == ("ok", Decimal(expected), "EUR")


def test_float_artefacts_never_leak():
    # 0.1 + 0.2 as a JSON number prints as 0.30000000000000004: through str and Decimal, 0.30.
    html = page(ld('{"@type":"Product","offers":{"price":0.30000000000000004,"priceCurrency":"USD"}}'))
    assert extract_offer(html).price == Decimal("0.30")
    assert parse_money(19.99) == (Decimal("19.99"), None)
    assert parse_money(0.1 + 0.2, "USD") == (Decimal("0.30"), "USD")


@pytest.mark.parametrize("type_", ["Product", "product", "PRODUCT", "http://schema.org/Product",
                                   "https://schema.org/Product", "schema:Product", ["Thing", "Product"]])
def test_type_spellings(type_):
    html = page(ld({"@context": "https://schema.org", "@type": type_,
                    "offers": {"@type": "http://schema.org/Offer", "price": "5", "priceCurrency": "gbp"}}))
    offer = extract_offer(html)
    assert (offer.status, offer.price, offer.currency) == ("ok", Decimal("5.00"), "GBP")


def test_offer_by_id_reference_and_a_stand_alone_offer():
    html = page(ld({"@context": "https://schema.org", "@graph": [
        {"@type": "Product", "@id": "#p", "name": "Becher", "offers": {"@id": "#offer"}},
        {"@type": "Offer", "@id": "#offer", "price": "7.25", "priceCurrency": "EUR"}]}))
    assert extract_offer(html).price == Decimal("7.25")
    alone = page(ld({"@type": "Offer", "price": "3.10", "priceCurrency": "CHF",
                     "itemOffered": {"@type": "Product", "name": "Postkarte", "sku": "PK-1"}}))
    offer = extract_offer(alone, sku="PK-1")
    assert (offer.status, offer.price, offer.currency) == ("ok", Decimal("3.10"), "CHF")


@pytest.mark.parametrize("availability, status", [
    ("http://schema.org/InStock", "ok"), ("https://schema.org/PreOrder", "ok"), ("BackOrder", "ok"),
    ("https://schema.org/OutOfStock", "out_of_stock"), ("SoldOut", "out_of_stock"),
    ("http://schema.org/Discontinued", "out_of_stock"), ("schema:OutOfStock", "out_of_stock"),
])
def test_availability(availability, status):
    html = page(ld({"@type": "Product", "offers": {"@type": "Offer", "price": "10.00", "priceCurrency": "EUR",
                                                   "availability": availability}}))
    offer = extract_offer(html)
    assert (offer.status, offer.price) == (status, Decimal("10.00"))
    if "PreOrder" in availability:
        assert "PreOrder" in offer.detail


def test_out_of_stock_without_a_price():
    html = page(ld({"@type": "Product", "name": "Vase", "offers": {"@type": "Offer", "availability": "OutOfStock"}}))
    offer = extract_offer(html, selector=".price")
    assert (offer.status, offer.price, offer.method) == ("out_of_stock", None, "json-ld")
    assert "no price shown" in offer.detail


def test_out_of_stock_beats_the_selector():
    html = page('<span class="price">12,00 €</span>',
                ld({"@type": "Product", "offers": {"price": "12.00", "availability": "SoldOut"}}))
    assert extract_offer(html, selector=".price").status == "out_of_stock"


# Pages without structured data: the per-site selector.
@pytest.mark.parametrize("markup, selector, hint, price, currency", [
    ('<div class="product-price"><span class="amount">€ 12,99</span></div>', ".product-price", None, "12.99", "EUR"),
    ('<div class="product-price"><span class="amount">12,99\u00a0€</span></div>', ".product-price .amount", None, "12.99", "EUR"),
    ('<p id="preis">Preis: <strong>1.249,–</strong> <small>inkl. 19 % MwSt.</small></p>', "#preis", "EUR", "1249.00", "EUR"),
    ('<span class="price">CHF 1\'249.50</span>', "span.price", None, "1249.50", "CHF"),
    ('<span class="price">$1,299.00</span>', ".price", None, "1299.00", "USD"),
    ('<span class="price">$1,299.00</span>', ".price", "CAD", "1299.00", "CAD"),
    ('<span class="price">¥12,800</span>', ".price", None, "12800", "JPY"),
    ('<span class="p">39.00</span>', ".p", "usd", "39.00", "USD"),
    ('<meta property="product:price:amount" content="39.00">', 'meta[property="product:price:amount"]::attr(content)',
     "EUR", "39.00", "EUR"),
    ('<meta itemprop="price" content="8.50">', 'meta[itemprop="price"]', "EUR", "8.50", "EUR"),   # empty element: content
    ('<span class="price">12<span class="decimals">,99</span>&nbsp;€</span>', ".price", None, "12.99", "EUR"),
    ('<span class="price">€12<sup>99</sup></span>', ".price", None, "12.99", "EUR"),       # not 1299
    ('<span class="price">12,<sup>99</sup> €<br>inkl. MwSt.</span>', ".price", None, "12.99", "EUR"),
    ('<span class="price">1.299 kr</span>', ".price", "SEK", "1299.00", "SEK"),
])
def test_selector_only_pages(markup, selector, hint, price, currency):
    offer = extract_offer(page("<header><nav>Start | Neu</nav></header>", markup), selector=selector, currency_hint=hint)
    assert (offer.status, offer.price, offer.currency, offer.method) == ("ok", Decimal(price), currency, "css")


def test_selector_reads_the_sale_price_of_woocommerce_markup():
    # WooCommerce 8+: old price in <del>, screen-reader sentences repeating both prices.
    html = page('<p class="price"><del aria-hidden="true"><span class="woocommerce-Price-amount amount"><bdi>'
                '<span class="woocommerce-Price-currencySymbol">&pound;</span>20.00</bdi></span></del> '
                '<span class="screen-reader-text">Original price was: &pound;20.00.</span>'
                '<ins aria-hidden="true"><span class="woocommerce-Price-amount amount"><bdi>'
                '<span class="woocommerce-Price-currencySymbol">&pound;</span>15.00</bdi></span></ins>'
                '<span class="screen-reader-text">Current price is: &pound;15.00.</span></p>')
    offer = extract_offer(html, selector="p.price")
    assert (offer.status, offer.price, offer.currency) == ("ok", Decimal("15.00"), "GBP")


def test_structured_data_without_a_price_falls_back_to_the_selector():
    html = page(ld({"@type": "Product", "name": "Teekanne", "offers": {"@type": "Offer", "availability": "InStock",
                                                                        "priceCurrency": "EUR"}}),
                '<div class="summary"><span class="price">34,90 €</span></div>')
    offer = extract_offer(html, selector=".summary .price")
    assert (offer.status, offer.price, offer.currency, offer.method) == ("ok", Decimal("34.90"), "EUR", "css")
    assert "structured data had no usable price" in offer.detail
    without = extract_offer(html)
    assert (without.status, without.price, without.method) == ("missing_price", None, "json-ld")
    assert "has no price" in without.detail and "no CSS selector" in without.detail


@pytest.mark.parametrize("markup, selector, status, words", [
    ('<span class="price">Preis auf Anfrage</span>', ".price", "missing_price", "has no amount"),
    ('<span class="price">Call for price</span>', ".price", "missing_price", "has no amount"),
    ('<span class="price">€10 – €20</span>', ".price", "parse_error", "range"),
    ('<span class="price">Was €20 now €15</span>', ".price", "parse_error", "several different amounts"),
    ('<span class="price">-5,00 €</span>', ".price", "parse_error", "negative"),
    ('<span class="price">12,99</span>', ".nope", "missing_price", "matched nothing"),
    ('<span class="price">12,99</span>', "span[", "parse_error", "not valid"),
])
def test_selector_failures_are_statuses(markup, selector, status, words):
    offer = extract_offer(page(markup), selector=selector)
    assert_sane(offer)
    assert offer.status == status and offer.price is None and words in offer.detail


def test_nothing_on_the_page():
    offer = extract_offer(page("<h1>Über uns</h1>"))
    assert (offer.status, offer.method) == ("missing_price", "none")
    assert offer.detail.startswith("No schema.org Product or Offer")


@pytest.mark.parametrize("price, status, words", [
    ("Call for price", "missing_price", "no amount"), ("", "missing_price", "no price"),
    ("0.00", "missing_price", "zero"), ("-4.99", "parse_error", "negative"), ("10-20", "parse_error", "range"),
    ("1e308", "parse_error", "several"), (True, "parse_error", "not an amount"),
])
def test_unusable_structured_price(price, status, words):
    html = page(ld({"@type": "Product", "name": "Gartenstuhl", "offers": {"@type": "Offer", "price": price}}))
    offer = extract_offer(html)
    assert_sane(offer)
    assert (offer.status, offer.method) == (status, "json-ld") and words in offer.detail


# --------------------------------------------------------------------------------------------
# Hostile input
# --------------------------------------------------------------------------------------------

GOOD = ld({"@type": "Product", "name": "Kerze", "offers": {"@type": "Offer", "price": "4.20", "priceCurrency": "EUR"}})


def test_huge_page_is_truncated_and_still_read_when_the_price_is_early():
    filler = '<div class="card"><a href="/p/1">Ähnliches Produkt</a><span class="price">9,99 €</span></div>' * 40_000
    html = page(GOOD, filler)                      # ~3.6 MB
    assert len(html.encode()) > 3_000_000
    offer = extract_offer(html)
    assert (offer.status, offer.price) == ("ok", Decimal("4.20"))
    assert "only the first 2,000,000 bytes" in offer.detail
    late = extract_offer(page(filler, GOOD).encode())
    assert late.status == "missing_price" and "only the first 2,000,000 bytes" in late.detail


def test_max_bytes_cut_inside_a_multibyte_character():
    html = GOOD.encode() + "€".encode()               # three bytes: cut after the first, or the second
    for cut in (1, 2):
        offer = extract_offer(html, max_bytes=len(html) - cut)
        assert (offer.status, offer.price) == ("ok", Decimal("4.20")) and "were read" in offer.detail
    assert "were read" not in extract_offer(html, max_bytes=len(html)).detail
    assert extract_offer(html[:-3], max_bytes=len(html) - 3).detail == "4.20 EUR from JSON-LD offer of 'Kerze'."


def test_broken_html():
    html = ('<html><head><title>Kaputt<body><div class=product <span class="price">12,50 € </div></div></span>'
            '<p><b><i>ungeschlossen <table><tr><td>' + MAGENTO.replace("</div>", "", 3))
    offer = extract_offer(html)
    assert (offer.status, offer.price, offer.method) == ("ok", Decimal("1089.95"), "microdata")
    css = extract_offer('<div class=product><span class=price>12,50 €</div></p></span></body></html></html>', selector=".price")
    assert (css.status, css.price) == ("ok", Decimal("12.50"))


def test_script_text_inside_json_ld_strings():
    # The HTML parser ends the script at the first "</script"; the JSON continues after it.
    html = page(ld('{"@type":"Product","name":"Bild <script>alert(1)</script> Rahmen",'
                   '"description":"</script><img src=x onerror=alert(2)>",'
                   '"offers":{"@type":"Offer","price":"18.00","priceCurrency":"EUR"}}'))
    offer = extract_offer(html)
    assert (offer.status, offer.price) == ("ok", Decimal("18.00"))
    assert "<" not in offer.detail and "alert" not in offer.detail.replace("alert(1)", "")


@pytest.mark.parametrize("broken", [
    '{"@type":"Product","offers":{"price":"4.20","priceCurrency":"EUR",},}',                   # trailing commas
    '// generated\n{"@type":"Product", /* price */ "offers":{"price":"4.20","priceCurrency":"EUR"}}',
    '<!--\n{"@type":"Product","offers":{"price":"4.20","priceCurrency":"EUR"}}\n-->',
    '//<![CDATA[\n{"@type":"Product","offers":{"price":"4.20","priceCurrency":"EUR"}}\n//]]>',
    '{&quot;@type&quot;:&quot;Product&quot;,&quot;offers&quot;:{&quot;price&quot;:&quot;4.20&quot;,'
    '&quot;priceCurrency&quot;:&quot;EUR&quot;}}',                                               # HTML-escaped
    '{"@type":"Product","offers":{"price":"4.20","priceCurrency":"EUR"}};',
    '{"@type":"Product","description":"Zeile 1\nZeile 2\t","offers":{"price":"4.20","priceCurrency":"EUR"}}',
])
def test_lenient_json_ld(broken):
    offer = extract_offer(page(ld(broken)))
    assert (offer.status, offer.price, offer.currency) == ("ok", Decimal("4.20"), "EUR")


def test_a_broken_block_does_not_hide_a_good_one():
    html = page(ld('{"@type": "Organization", "name": "Shop",,, oops'), ld("[[[[[[[["), ld(""), GOOD)
    assert extract_offer(html).price == Decimal("4.20")
    only_broken = extract_offer(page(ld('{"@type":"Product","offers":{"price": 4.20'), ld("{oops}")))
    assert only_broken.status == "missing_price" and "2 of 2 JSON-LD blocks were unreadable" in only_broken.detail


def test_deeply_nested_json_and_html():
    assert extract_offer(page(ld("[" * 100_000 + "]" * 100_000), GOOD)).price == Decimal("4.20")
    nested = {"@type": "Product", "offers": {"price": "1"}}
    for _ in range(500):
        nested = {"@type": "Thing", "about": nested}
    offer = extract_offer(page(ld(json.dumps(nested))))
    assert offer.status == "missing_price"            # deeper than anything looked at, not a crash
    # libxml2 stops building the tree at depth 2048; JSON-LD is found without the tree.
    assert extract_offer("<div>" * 100_000 + GOOD).price == Decimal("4.20")
    assert_sane(extract_offer("<div>" * 100_000 + '<p class="p">1,00</p>', selector=".p"))
    assert_sane(extract_offer('<div itemscope itemprop="x">' * 5000 + "text"))


def test_non_utf8_bytes():
    cp1252 = page('<span class="price">12,99 €</span>').replace('charset="utf-8"', 'charset="windows-1252"')
    offer = extract_offer(cp1252.encode("cp1252"), selector=".price")
    assert (offer.status, offer.price, offer.currency) == ("ok", Decimal("12.99"), "EUR")
    latin1_without_meta = b'<p class="price">Preis f\xfcr Sie: 12,99 EUR</p>'
    assert extract_offer(latin1_without_meta, selector=".price").price == Decimal("12.99")
    utf16 = page(GOOD).encode("utf-16")               # with a BOM
    assert extract_offer(utf16).price == Decimal("4.20")
    stray = page(GOOD).encode() + b"\xff\xfe\xc3"
    assert extract_offer(stray).price == Decimal("4.20")


def test_nul_bytes_and_control_characters():
    html = ("\x00\x01\x1b" + GOOD + "\x00").encode()
    assert extract_offer(html).price == Decimal("4.20")
    assert extract_offer('<p class="p">12\x00,99 €</p>', selector=".p").price == Decimal("12.99")
    assert extract_offer(b"\x00" * 10_000).status == "parse_error"


@pytest.mark.parametrize("garbage", [
    bytes(range(256)) * 40,
    gzip.compress(page(GOOD).encode() * 50),
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes((i * 7919) % 256 for i in range(20_000)),
])
def test_binary_garbage(garbage):
    offer = extract_offer(garbage)
    assert_sane(offer)
    assert (offer.status, offer.method) == ("parse_error", "none") and "binary" in offer.detail


@pytest.mark.parametrize("value", [None, 12, 3.5, ["<p>"], {"a": 1}])
def test_not_a_page(value):
    offer = extract_offer(value)                      # type: ignore[arg-type]
    assert (offer.status, offer.method) == ("parse_error", "none")


@pytest.mark.parametrize("html", ["", "   ", "<!-- nichts", "<", "<script", "<html></html>"])
def test_empty_and_nearly_empty(html):
    assert_sane(extract_offer(html, selector=".price"))
    assert_sane(extract_offer(html.encode()))


def test_unicode_digits():
    # Arabic-Indic digits with the Arabic decimal separator: 34٫50 SAR.
    assert parse_money("٣٤٫٥٠ ر.س") == (Decimal("34.50"), "SAR")
    assert parse_money("１２，５０ €") == (Decimal("12.50"), "EUR")     # full-width
    html = page(ld({"@type": "Product", "offers": {"price": "٣٤٫٥٠", "priceCurrency": "SAR"}}))
    assert extract_offer(html).price == Decimal("34.50")


@pytest.mark.parametrize("price, status", [
    ("1e308", "parse_error"), (1e308, "parse_error"), ("1" + "0" * 30, "parse_error"), (10 ** 30, "parse_error"),
    ("9" * 5000, "parse_error"), (-0.0, "missing_price"), ("NaN", "missing_price"), ("Infinity", "missing_price"),
])
def test_absurd_numbers(price, status):
    text = json.dumps({"@type": "Product", "offers": {"price": price}})
    offer = extract_offer(page(ld(text)))
    assert_sane(offer)
    assert (offer.status, offer.price) == (status, None)


def test_json_nan_and_infinity_literals():
    for literal in ("NaN", "Infinity", "-Infinity", "1e99999"):
        offer = extract_offer(page(ld('{"@type":"Product","offers":{"price":%s}}' % literal)))
        assert offer.status == "parse_error", literal


def test_detail_quotes_only_a_short_excerpt_and_no_markup():
    name = "<b>" + "Z" * 500 + "</b>"
    html = page(ld({"@type": "Product", "name": name, "offers": {"price": "Y" * 500}}),
                '<span class="p"><em>' + "X" * 500 + "</em></span>")
    offer = extract_offer(html, selector=".p")
    assert offer.status == "parse_error" and "too long" in offer.detail
    assert offer.detail.count("Z") + offer.detail.count("Y") + offer.detail.count("X") <= 60
    assert "<" not in offer.detail and ">" not in offer.detail


# --------------------------------------------------------------------------------------------
# parse_money
# --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, hint, expected", [
    ("12.99", None, ("12.99", None)),
    ("12,99", None, ("12.99", None)),
    ("1.234,56 €", None, ("1234.56", "EUR")),
    ("€12,99", None, ("12.99", "EUR")),
    ("$1,234.56", None, ("1234.56", "USD")),
    ("12.99 USD", None, ("12.99", "USD")),
    ("EUR 12,99", None, ("12.99", "EUR")),
    ("1 234,56 €", None, ("1234.56", "EUR")),
    ("1\u00a0234,56\u00a0€", None, ("1234.56", "EUR")),          # no-break spaces
    ("1\u202f234,56\u202f€", None, ("1234.56", "EUR")),          # narrow no-break space (French)
    ("1\u2009234,56 €", None, ("1234.56", "EUR")),               # thin space
    ("£7", None, ("7.00", "GBP")),
    ("12,-", None, ("12.00", None)),
    ("12.–", "CHF", ("12.00", "CHF")),
    ("CHF 1'234.50", None, ("1234.50", "CHF")),
    ("Fr. 1’234.50", None, ("1234.50", "CHF")),
    ("12.99", "eur", ("12.99", "EUR")),                          # the hint when the text names none
    ("€12,99", "USD", ("12.99", "EUR")),                         # the text wins over the hint
    ("12,5", None, ("12.50", None)),
    ("1,5 €", None, ("1.50", "EUR")),
    ("12.9900", None, ("12.99", None)),
    ("19.995", "EUR", ("19995.00", "EUR")),                      # three digits: thousands (the rule)
    ("0,999", None, ("1.00", None)),                             # ... but not after a lone 0: 0.999
    ("1.234.567,89 €", None, ("1234567.89", "EUR")),
    ("1,234,567", None, ("1234567.00", None)),
    ("₹1,23,456.00", None, ("123456.00", "INR")),               # Indian grouping
    ("¥1,234", None, ("1234", "JPY")),                           # zero-decimal currencies
    ("¥1,234", "CNY", ("1234.00", "CNY")),
    ("₩12,500", None, ("12500", "KRW")),
    ("1.299 kr", "SEK", ("1299.00", "SEK")),
    ("1.250 KWD", None, ("1.250", "KWD")),                       # three-decimal currency: decimal
    ("KD 1,250", "KWD", ("1.250", "KWD")),
    ("US$ 5", "CAD", ("5.00", "USD")),
    ("C$5", None, ("5.00", "CAD")),
    ("R$ 1.299,90", None, ("1299.90", "BRL")),
    ("12,99 zł", None, ("12.99", "PLN")),
    ("Rp 150.000", None, ("150000.00", "IDR")),
    ("99 kr SEK", None, ("99.00", "SEK")),
    ("ab 19,99 € inkl. 19 % MwSt.", None, ("19.99", "EUR")),     # a percentage is not the amount
    ("12,99 € 12,99 €", None, ("12.99", "EUR")),                 # the same amount twice is one amount
    ("€.99", None, ("0.99", "EUR")),
    ("0.004", None, (None, None)),                               # rounds to 0.00
])
def test_parse_money(text, hint, expected):
    amount, currency = parse_money(text, hint)
    assert (str(amount) if amount is not None else None, currency) == expected


@pytest.mark.parametrize("text", [
    "", "   ", "N/A", "Call for price", "Preis auf Anfrage", "ausverkauft", "€", "-12,99 €", "− 12,99 €", "€-5",
    "10-20", "10 - 20 €", "€10–€20", "12,99 € statt 15,99 €", "3 x 12,99", "0", "0,00 €", "12,99 € / $14.99",
    "1e308", "1" + "0" * 30, "12.34.56", "1.2,3", "1,23,4", "x" * 300, "1,1,1,1" * 100,
])
def test_parse_money_rejects(text):
    assert parse_money(text) == (None, None)


def test_parse_money_kr_needs_a_krone_hint():
    assert parse_money("99 kr") == (Decimal("99.00"), None)
    assert parse_money("99 kr", "EUR") == (Decimal("99.00"), None)
    assert parse_money("99 kr.", "DKK") == (Decimal("99.00"), "DKK")


@pytest.mark.parametrize("value", [None, True, b"12,99 \xe2\x82\xac", ["12"], object(), float("nan"), float("inf"), -1.5])
def test_parse_money_odd_types(value):
    result = parse_money(value)                       # type: ignore[arg-type]
    assert result in ((None, None), (Decimal("12.99"), "EUR"))


@pytest.mark.parametrize("text", ["1," * 5000, "1 " * 5000, "€" * 5000, "1" * 5000, "-" * 199 + "1",
                                  "1.1." * 2500, "1'" * 5000 + "x", "\u202f1" * 3000])
def test_parse_money_refuses_hostile_text(text):
    assert parse_money(text) == (None, None)


# --------------------------------------------------------------------------------------------
# Never raise: properties
# --------------------------------------------------------------------------------------------

FRAGMENTS = st.sampled_from([
    '<script type="application/ld+json">', "</script>", "<script>", '{"@type":"Product","offers":{',
    '"price":', '"priceCurrency":"EUR"', '"availability":"OutOfStock"', "}", "{", "[", "]", ",", '"', ":",
    '<div itemscope itemtype="http://schema.org/Offer">', '<meta itemprop="price" content="', '">', "</div>",
    '<span class="price">', "</span>", "<!--", "-->", "12,99 €", "1.234,56", "$", "-", "1e308", "NaN",
    "\x00", "\ufffd", "&quot;", "<del>", "</del>", "<", ">",
])
HTMLISH = st.lists(st.one_of(FRAGMENTS, st.text(max_size=8)), max_size=40).map("".join)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=st.one_of(st.text(), st.binary().map(lambda b: b.decode("latin-1"))), hint=st.one_of(st.none(), st.text(max_size=4)))
def test_parse_money_never_raises(text, hint):
    money = _read_money(text, hint)               # without parse_money's last-resort handler
    assert money.kind in ("ok", "missing", "error")
    assert money.kind != "ok" or 0 < money.amount < MAX_PRICE
    amount, currency = parse_money(text, hint)
    if amount is None:
        assert currency is None
    else:
        assert_price(amount, currency)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(html=st.one_of(st.text(), st.binary(), HTMLISH, HTMLISH.map(str.encode)),
       selector=st.sampled_from([None, ".price", "span", "meta::attr(content)", "p[", "*"]),
       hint=st.sampled_from([None, "EUR", "JPY", "KWD", "xx"]), sku=st.sampled_from([None, "A-1"]))
def test_extract_offer_never_raises(html, selector, hint, sku):
    assert_sane(extract_offer(html, selector=selector, currency_hint=hint, sku=sku))


@settings(max_examples=200, deadline=None)
@given(price=st.one_of(st.text(max_size=30), st.integers(), st.decimals(allow_nan=True, allow_infinity=True),
                       st.floats(allow_nan=False, allow_infinity=False), st.booleans(), st.none()),
       currency=st.one_of(st.none(), st.sampled_from(["EUR", "JPY", "KWD", "€", "", "x"])),
       availability=st.sampled_from([None, "InStock", "https://schema.org/OutOfStock", "PreOrder", 7]))
def test_any_structured_price_gives_a_sane_offer(price, currency, availability):
    data = {"@type": "Product", "offers": {"@type": "Offer", "price": price if not isinstance(price, Decimal) else str(price),
                                           "priceCurrency": currency, "availability": availability}}
    offer = extract_offer(page(ld(json.dumps(data))))
    assert_sane(offer)
    assert offer.method in ("json-ld", "none")


# --------------------------------------------------------------------------------------------
# Big pages (their timings are in bench/pricing.py, not asserted here)
# --------------------------------------------------------------------------------------------

def shop_page(body: str, size: int) -> str:
    """A Shopify-like page of about `size` bytes: navigation, analytics script, a related-products grid."""
    head = ('<link rel="stylesheet" href="//cdn.example/base.css"><script>window.ShopifyAnalytics = {};'
            + 'var meta = {"page":{"pageType":"product","resourceId":1234},"currency":"EUR"};' * 20 + "</script>")
    nav = "<nav><ul>" + "".join(f'<li><a href="/collections/c{i}">Kollektion {i}</a></li>' for i in range(80)) + "</ul></nav>"
    card = ('<li class="grid__item"><div class="card-wrapper"><a href="/products/item-{i}">Artikel {i} mit einem '
            'recht langen Produktnamen</a><div class="price"><span class="price-item">€{i},95 EUR</span></div>'
            '<img src="//cdn.example/files/{i}.jpg?v=1&amp;width=533" alt="Artikel {i}" loading="lazy"></div></li>\n')
    parts, total, i = [page(nav, "<main>", body, head=head)], 0, 0
    total = len(parts[0])
    while total < size:
        parts.append(card.format(i=i))
        total += len(parts[-1])
        i += 1
    return "".join(parts) + "</main>"


SPEED_BODIES = {
    "json-ld": (GOOD, None),
    "microdata": (MAGENTO, None),
    "css": ('<div class="product__price"><span class="price-item--sale">4,20 €</span></div>', ".product__price"),
}


@pytest.mark.parametrize("size", [50_000, 2_000_000])
@pytest.mark.parametrize("kind", SPEED_BODIES)
def test_the_offer_is_found_on_a_big_shop_page(kind, size):
    body, selector = SPEED_BODIES[kind]
    offer = extract_offer(shop_page(body, size), selector=selector)
    assert offer.status == "ok" and offer.method == kind


@pytest.mark.parametrize("hostile", [
    "<script" * 300_000, "<!--" + "x" * 1_900_000, "<" * 1_900_000,
    ld("[" * 1_000_000), ld('{"a":' * 300_000), ld("/*" * 900_000), ld(("," + " " * 1000) * 1900),
    ld('"' * 1_900_000), ld('{"a":"') * 40_000, ld("&quot;" * 300_000),
    '<div itemscope itemtype="http://schema.org/Product">' + '<span itemprop="name">x</span>' * 60_000,
    '<div itemscope itemprop="x">' * 5000,             # extruct is cubic in the nesting: not asked
    '<div itemscope itemtype="http://schema.org/Product" itemprop="x">' * 7 + '<span itemprop="name">n</span>' * 1990,
    '<p class="price">' + "1," * 900_000 + "</p>",
    "<script type=application/ld+json " + "a" * 1_900_000,
])
def test_hostile_pages_give_a_status(hostile):
    assert_sane(extract_offer(hostile, selector=".price"))
