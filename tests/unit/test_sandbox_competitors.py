"""The sandbox's competitor websites over real HTTP: robots.txt, markup styles against the ground
truth, prices on the sandbox clock, conditional requests, rate limits, the markup change, the
exports, determinism and the request log."""

from __future__ import annotations

import html
import json
import re
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from email.utils import formatdate, parsedate_to_datetime
from html.parser import HTMLParser
from urllib.robotparser import RobotFileParser

import pandas as pd
import pytest
import requests

from connectors.sandbox import Sandbox, SandboxConfig, StoreConfig
from connectors.sandbox.competitor_config import CompetitorConfig, demo_competitors

ANCHOR = datetime(2026, 11, 15, tzinfo=timezone.utc)
AGENT = "shopops-price-monitor/1.0 (+https://example.invalid/bot)"
CATALOGUE_HEADER = "sku,competitor,url,price_selector"
PRICING_RULES_HEADER = "sku,role,min_margin,member_price"
JSONLD = re.compile(r'<script type="application/ld\+json">\n(.*?)\n</script>', re.S)
VOID_TAGS = {"meta", "link", "img", "br", "hr", "input"}


def small_config(**changes) -> SandboxConfig:
    settings = dict(anchor=ANCHOR, days=21, skus=300,
                    stores=[StoreConfig("shop-us", "shopify", "America/New_York", "USD", 20)])
    settings.update(changes)
    return SandboxConfig(**settings)


@pytest.fixture(scope="module")
def sandbox():
    with Sandbox(small_config()) as sb:
        yield sb


@pytest.fixture()
def sb(sandbox):
    sandbox.clock.set(ANCHOR)
    sandbox.faults.clear()
    yield sandbox
    sandbox.clock.set(ANCHOR)
    sandbox.faults.clear()


# -- a polite client and small readers of HTML ------------------------------------------------
class Crawler:
    """One user agent, each site's pace (its rate limit), a few retries on 503 (the flaky site).
    When each origin was last hit is shared by all crawlers, as in one crawler process: the
    rate-limited site counts the requests of one user agent across tests."""

    last: dict[tuple[str, str], float] = {}

    def __init__(self, sb: Sandbox, agent: str = AGENT, pace: bool = True) -> None:
        self.session = requests.Session()
        self.session.headers["User-Agent"] = agent
        sites = sb.competitor_truth().sites()
        self.interval = {row.base_url: 1.0 / row.rate_limit_per_second + 0.05
                         if pace and pd.notna(row.rate_limit_per_second) else 0.0 for row in sites.itertuples()}
        self.agent = agent

    def get(self, url: str, method: str = "GET", **headers: str) -> requests.Response:
        origin = "/".join(url.split("/", 3)[:3])
        for _ in range(6):
            wait = self.last.get((self.agent, origin), 0.0) + self.interval.get(origin, 0.0) - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            response = self.session.request(method, url, headers=headers, timeout=10)
            self.last[(self.agent, origin)] = time.monotonic()
            if response.status_code != 503:
                return response
        return response


class Elements(HTMLParser):
    """Every element's tag, attributes and own text: enough for itemprop and `tag.class` lookups."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[list] = []
        self._open: list[list] = []
        self.feed(text)
        self.close()

    def handle_starttag(self, tag, attrs):
        element = [tag, dict(attrs), ""]
        self.elements.append(element)
        if tag not in VOID_TAGS:
            self._open.append(element)

    def handle_endtag(self, tag):
        while self._open and self._open.pop()[0] != tag:
            pass

    def handle_data(self, data):
        if self._open:
            self._open[-1][2] += data

    def select(self, selector: str) -> list[str]:
        """Texts of the elements matching a `tag.class` selector."""
        tag, _, css_class = selector.partition(".")
        return [text for name, attrs, text in self.elements
                if name == tag and css_class in (attrs.get("class") or "").split()]

    def itemprop(self, name: str) -> list[dict]:
        return [{**attrs, "text": text} for _, attrs, text in self.elements if attrs.get("itemprop") == name]


def parse_money(text: str) -> Decimal:
    """Any site's money text -> Decimal: a comma followed by two final digits is the decimal mark."""
    digits = re.sub(r"[^\d.,]", "", text)
    if re.search(r",\d{2}$", digits):
        return Decimal(digits.replace(".", "").replace(",", "."))
    return Decimal(digits.replace(",", ""))


def jsonld_items(text: str) -> list[dict]:
    items = []
    for block in JSONLD.findall(text):
        data = json.loads(block)
        for item in data if isinstance(data, list) else [data]:
            items.extend(item.get("@graph", [item]))
    return items


def jsonld_product(text: str) -> dict:
    return next(item for item in jsonld_items(text) if item.get("@type") == "Product")


def page_price(text: str, markup: str, selector: str) -> tuple[str | None, bool | None]:
    """(price text as the page's markup holds it, in stock) the way a crawler reads it."""
    if markup.startswith("jsonld"):
        offer = jsonld_product(text).get("offers") or {}
        value = offer.get("lowPrice", offer.get("price"))
        stock = offer["availability"].endswith("/InStock") if "availability" in offer else None
        return (None if value is None else str(value)), stock
    elements = Elements(text)
    if markup.startswith("microdata"):
        prices = elements.itemprop("price")
        stock = [e["href"].endswith("/InStock") for e in elements.itemprop("availability")]
        value = (prices[0].get("content") or prices[0]["text"]) if prices else None
        return value, (stock[0] if stock else None)
    found = elements.select(selector)
    return (found[0] if found else None), None


def pick(frame: pd.DataFrame, count: int, **equal) -> pd.DataFrame:
    for column, value in equal.items():
        frame = frame[frame[column] == value] if value is not None else frame[frame[column].isna()]
    return frame.head(count)


def good_pages(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[~frame.broken & frame.price.notna() & frame.in_stock & frame.allowed_by_robots]


def robots(crawler: Crawler, base: str) -> tuple[requests.Response, RobotFileParser]:
    response = crawler.get(f"{base}/robots.txt")
    parser = RobotFileParser(f"{base}/robots.txt")
    parser.parse(response.text.splitlines() if response.status_code == 200 else [])
    return response, parser


# -- origins and robots.txt --------------------------------------------------------------------
def test_each_competitor_is_its_own_origin_with_the_sandbox_date(sb):
    sites = sb.competitor_sites()
    assert list(sites) == [site.name for site in demo_competitors()]
    ports = {url.rsplit(":", 1)[1] for url in sites.values()}
    assert len(ports) == 5 and sb.url.rsplit(":", 1)[1] not in ports
    assert all(url.startswith("http://127.0.0.1:") for url in sites.values())
    sb.clock.set(ANCHOR - timedelta(days=3, hours=-5))
    response = requests.get(sites["kitchenhaus"] + "/")
    assert response.status_code == 200
    assert parsedate_to_datetime(response.headers["Date"]) == sb.clock.now()
    assert response.headers["Server"] == "nginx"


def test_each_site_serves_its_robots_txt(sb):
    crawler, sites = Crawler(sb), sb.competitor_sites()
    response, kitchenhaus = robots(crawler, sites["kitchenhaus"])
    assert response.status_code == 200 and "Disallow: /outlet/" in response.text
    assert not kitchenhaus.can_fetch(AGENT, sites["kitchenhaus"] + "/outlet/anything-1")
    assert kitchenhaus.can_fetch(AGENT, sites["kitchenhaus"] + "/products/anything-1")

    response, northfield = robots(crawler, sites["northfield-supply"])
    assert "Crawl-delay: 1" in response.text and northfield.crawl_delay(AGENT) == 1

    response, _ = robots(crawler, sites["werkstatt-direkt"])
    assert response.status_code == 404  # no robots.txt: everything is allowed

    response, prixmalin = robots(crawler, sites["prixmalin"])
    page = sb.competitor_truth().competitor_prices("prixmalin").url.iloc[0]
    assert not prixmalin.can_fetch("BadBot/2.1", page) and not prixmalin.can_fetch("BadBot", sites["prixmalin"] + "/")
    assert prixmalin.can_fetch(AGENT, page)

    response, megamart = robots(crawler, sites["megamart"])
    assert response.status_code == 200 and megamart.crawl_delay(AGENT) is None


def test_truth_says_what_robots_txt_allows_and_the_catalogue_keeps_disallowed_urls(sb, tmp_path):
    crawler, truth = Crawler(sb), sb.competitor_truth()
    catalogue = pd.read_csv(sb.write_competitor_catalogue_csv(tmp_path / "catalogue.csv"), dtype=str, keep_default_na=False)
    assert (tmp_path / "catalogue.csv").read_text().splitlines()[0] == CATALOGUE_HEADER
    disallowed = 0
    for name, base in sb.competitor_sites().items():
        _, parser = robots(crawler, base)
        prices = truth.competitor_prices(name)
        allowed = [parser.can_fetch(AGENT, url) for url in prices.url]
        assert allowed == prices.allowed_by_robots.tolist()
        disallowed += len(allowed) - sum(allowed)
        rows = catalogue[catalogue.competitor == name]
        assert rows.url.tolist() == prices.url.tolist() and rows.sku.tolist() == prices.sku.tolist()
        assert set(rows.price_selector) == ({"span.price-now"} if name == "werkstatt-direkt" else {""})
        assert prices.broken.sum() == 3  # broken pages are in the catalogue too
    assert disallowed > 0 and set(catalogue[catalogue.url.str.contains("/outlet/")].competitor) == {"kitchenhaus"}
    assert catalogue.sku.is_monotonic_increasing and len(catalogue) == sum(truth.sites().pages)


# -- what the pages show ----------------------------------------------------------------------
def test_truth_matches_the_page_for_every_markup_style(sb):
    crawler, truth = Crawler(sb), sb.competitor_truth()
    checked = set()
    for site in truth.sites().itertuples():
        prices = truth.competitor_prices(site.competitor)
        # At the anchor the html site already has its new template (the markup-change test covers before).
        selector = "span.pdp-price__amount" if pd.notna(site.markup_changes_on) else site.price_selector
        for markup in site.markup:
            rows = pd.concat([good_pages(prices[prices.markup == markup]).head(2),
                              pick(prices[prices.markup == markup], 1, in_stock=False, broken=False)])
            for row in rows.itertuples():
                response = crawler.get(row.url)
                assert response.status_code == 200, row.url
                text = response.text
                value, in_stock = page_price(text, markup, selector)
                if row.price is None:
                    assert value is None and row.shown_as is None
                else:
                    assert row.shown_as in html.unescape(text)
                    assert parse_money(value) == row.price == parse_money(row.shown_as)
                if in_stock is not None:
                    assert in_stock == row.in_stock
                checked.add(markup)
    assert checked == {"jsonld-product", "jsonld-graph", "jsonld-array", "jsonld-aggregate", "microdata-content",
                       "microdata-text", "html"}


def test_money_formats_currencies_and_aggregate_offers(sb):
    truth, crawler = sb.competitor_truth(), Crawler(sb)
    shown = {name: good_pages(truth.competitor_prices(name)).iloc[0] for name in sb.competitor_sites()}
    assert re.fullmatch(r"\d+\.\d\d", shown["kitchenhaus"].shown_as) and shown["kitchenhaus"].currency == "EUR"
    assert re.fullmatch(r"\d+,\d\d", shown["prixmalin"].shown_as)
    assert re.fullmatch(r"€\d{1,3}(\.\d{3})*,\d\d", shown["werkstatt-direkt"].shown_as)  # the new template at the anchor
    assert shown["northfield-supply"].currency == "GBP" and shown["megamart"].currency == "USD"
    text = crawler.get(shown["kitchenhaus"].url).text
    assert re.search(r'<div class="product-price">\d{1,3}(\.\d{3})*,\d\d €</div>', text)
    prices = truth.competitor_prices("megamart")
    row = good_pages(prices[prices.markup == "jsonld-aggregate"]).iloc[0]
    offer = jsonld_product(crawler.get(row.url).text)["offers"]
    assert offer["@type"] == "AggregateOffer" and isinstance(offer["lowPrice"], float)
    assert Decimal(str(offer["lowPrice"])) == row.price <= Decimal(str(offer["highPrice"])) and offer["offerCount"] >= 2
    assert "$" in html.unescape(crawler.get(row.url).text)


def test_hostile_names_and_broken_pages(sb):
    truth, crawler = sb.competitor_truth(), Crawler(sb)
    kitchenhaus = truth.competitor_prices("kitchenhaus")
    scripted = kitchenhaus[kitchenhaus.name.str.contains("<script>") & kitchenhaus.allowed_by_robots].iloc[0]
    text = crawler.get(scripted.url).text
    assert jsonld_product(text)["name"] == scripted["name"] and "\\u003cscript\\u003e" in text
    assert "<script>alert" not in text and "&lt;script&gt;alert" in text  # escaped in the HTML too
    megamart = truth.competitor_prices("megamart")
    scripted = megamart[megamart.name.str.contains("<script>")].iloc[0]
    text = crawler.get(scripted.url).text
    assert '<\\/script>' in text and jsonld_product(text)["name"] == scripted["name"]
    for name in sb.competitor_sites():
        names = truth.competitor_prices(name).name
        assert names.str.len().max() > 300 and names.str.contains("限定版").any()

    for name in ("kitchenhaus", "prixmalin", "werkstatt-direkt"):
        prices = truth.competitor_prices(name)
        assert set(prices[prices.broken].broken_kind) == {"malformed_html", "no_price", "call_for_price"}
        assert prices[prices.broken].price.isna().all()
        for row in prices[prices.broken].itertuples():
            text = crawler.get(row.url).text
            if row.broken_kind == "call_for_price":
                assert row.shown_as in text and row.shown_as in ("Preis auf Anfrage", "Prix sur demande")
            else:
                assert row.shown_as is None
            if row.broken_kind == "malformed_html":
                assert not text.rstrip().endswith("</html>")  # cut off mid-way
            if name == "kitchenhaus" and row.broken_kind == "malformed_html":
                with pytest.raises(json.JSONDecodeError):
                    jsonld_items(text)
            if name == "kitchenhaus" and row.broken_kind == "no_price":
                assert "offers" not in jsonld_product(text) and "price" not in html.unescape(text).lower()


def test_prices_move_with_the_sandbox_clock(sb):
    truth, crawler = sb.competitor_truth(), Crawler(sb)
    early, late = ANCHOR - timedelta(days=15, hours=-10), ANCHOR - timedelta(days=4, hours=-10)
    before, after = truth.competitor_prices("kitchenhaus", early), truth.competitor_prices("kitchenhaus", late)
    both = before.price.notna() & after.price.notna()
    moved = both & (before.price != after.price)
    assert moved.sum() >= 0.05 * both.sum()
    rows = before[moved & before.allowed_by_robots].head(2).index
    for index in rows:
        url = before.url[index]
        sb.clock.set(early)
        assert Decimal(jsonld_product(crawler.get(url).text)["offers"]["price"]) == before.price[index]
        sb.clock.set(late)
        assert Decimal(jsonld_product(crawler.get(url).text)["offers"]["price"]) == after.price[index]
    # The default moment is the clock's.
    assert truth.competitor_prices("kitchenhaus").price.tolist() == after.price.tolist()


def test_abnormal_moves_are_big_and_in_the_truth(sb):
    truth = sb.competitor_truth()
    for name in sb.competitor_sites():
        moves = truth.abnormal_moves(name)
        assert len(moves) >= 1
        assert ((abs(moves.factor - 1) >= 0.2 - 1e-9) & (abs(moves.factor - 1) <= 0.4 + 1e-9)).all()
    move = truth.abnormal_moves("megamart").iloc[0]
    during = truth.competitor_prices("megamart", move.first_day + timedelta(hours=12)).set_index("url")
    before = truth.competitor_prices("megamart", move.first_day - timedelta(hours=12)).set_index("url")
    assert during.abnormal_move[move.url] and not before.abnormal_move[move.url]


# -- conditional requests ----------------------------------------------------------------------
def changed_and_unchanged(truth, name: str) -> tuple[datetime, pd.Series, pd.Series]:
    """A day d (midday) and two good pages on d + 1: one that changed that day, one that did not."""
    for back in range(15, 1, -1):
        day = ANCHOR - timedelta(days=back, hours=-12)
        today, tomorrow = truth.competitor_prices(name, day), truth.competitor_prices(name, day + timedelta(days=1))
        good = ~tomorrow.broken & tomorrow.price.notna() & today.price.notna() & tomorrow.allowed_by_robots
        next_midnight = pd.Timestamp(day.date() + timedelta(days=1), tz="UTC")
        changed = good & (tomorrow.last_modified == next_midnight) & (tomorrow.price != today.price)
        same = good & (tomorrow.last_modified < next_midnight)
        if changed.any() and same.any():
            return day, tomorrow[changed].iloc[0], tomorrow[same].iloc[0]
    raise AssertionError(f"no day with a changed and an unchanged page on {name}")


def test_etag_and_last_modified_answer_304_until_the_page_changes(sb):
    truth, crawler = sb.competitor_truth(), Crawler(sb)
    day, changed, same = changed_and_unchanged(truth, "kitchenhaus")
    sb.clock.set(day)
    first = {row.url: crawler.get(row.url) for row in (changed, same)}
    for response in first.values():
        assert response.headers["ETag"].startswith('"') and response.headers["Cache-Control"] == "no-cache"
    sb.clock.set(day + timedelta(days=1))
    old = first[same.url].headers
    assert old["Last-Modified"] == formatdate(same.last_modified.timestamp(), usegmt=True)
    by_etag = crawler.get(same.url, **{"If-None-Match": old["ETag"]})
    assert by_etag.status_code == 304 and by_etag.content == b"" and by_etag.headers["ETag"] == old["ETag"]
    assert crawler.get(same.url, **{"If-Modified-Since": old["Last-Modified"]}).status_code == 304

    old = first[changed.url].headers
    by_etag = crawler.get(changed.url, **{"If-None-Match": old["ETag"]})
    assert by_etag.status_code == 200 and by_etag.headers["ETag"] != old["ETag"]
    assert Decimal(jsonld_product(by_etag.text)["offers"]["price"]) == changed.price
    by_date = crawler.get(changed.url, **{"If-Modified-Since": old["Last-Modified"]})
    assert by_date.status_code == 200
    assert parsedate_to_datetime(by_date.headers["Last-Modified"]) == changed.last_modified


def test_last_modified_only_weak_etags_and_sites_without_validators(sb):
    truth, crawler = sb.competitor_truth(), Crawler(sb)
    day, changed, same = changed_and_unchanged(truth, "northfield-supply")
    sb.clock.set(day)
    dates = {row.url: crawler.get(row.url).headers["Last-Modified"] for row in (changed, same)}
    sb.clock.set(day + timedelta(days=1))
    response = crawler.get(same.url, **{"If-Modified-Since": dates[same.url]})
    assert response.status_code == 304 and "ETag" not in response.headers
    assert crawler.get(changed.url, **{"If-Modified-Since": dates[changed.url]}).status_code == 200

    row = good_pages(truth.competitor_prices("megamart")).iloc[0]
    tag = crawler.get(row.url).headers["ETag"]
    assert tag.startswith('W/"') and "Last-Modified" not in crawler.get(row.url).headers
    assert crawler.get(row.url, **{"If-None-Match": tag}).status_code == 304
    assert crawler.get(row.url, **{"If-None-Match": tag.removeprefix("W/")}).status_code == 304  # weak comparison

    row = good_pages(truth.competitor_prices("prixmalin")).iloc[0]
    response = crawler.get(row.url, **{"If-Modified-Since": formatdate(time.time() + 86_400 * 400, usegmt=True)})
    assert response.status_code == 200 and "ETag" not in response.headers and "Last-Modified" not in response.headers


# -- request budgets ---------------------------------------------------------------------------
def test_the_rate_limited_site_answers_429_when_hit_too_fast_and_200_when_paced(sb):
    url = good_pages(sb.competitor_truth().competitor_prices("megamart")).url.iloc[0]
    hasty = requests.Session()
    hasty.headers["User-Agent"] = "hasty-crawler/0.1"
    burst = [hasty.get(url) for _ in range(4)]
    assert [r.status_code for r in burst[:2]] == [200, 200] and 429 in [r.status_code for r in burst[2:]]
    throttled = next(r for r in burst if r.status_code == 429)
    assert throttled.headers["Retry-After"] == "1"
    time.sleep(float(throttled.headers["Retry-After"]))
    paced = []
    for _ in range(4):
        paced.append(hasty.get(url).status_code)
        time.sleep(0.55)
    assert paced == [200] * 4
    # The limit is per client: another user agent was never throttled meanwhile.
    assert requests.get(url, headers={"User-Agent": "other-client/1.0"}).status_code == 200


def test_slow_and_flaky_sites(sb):
    crawler, truth = Crawler(sb), sb.competitor_truth()
    url = good_pages(truth.competitor_prices("northfield-supply")).url.iloc[0]
    started = time.monotonic()
    assert crawler.get(url).status_code == 200
    assert time.monotonic() - started >= 0.15
    # The flaky site fails a few % of product requests, the same ones for the same config.
    only_prixmalin = small_config(stores=[], competitors=[demo_competitors()[3]])
    runs = []
    for _ in range(2):
        with Sandbox(only_prixmalin) as fresh:
            page = good_pages(fresh.competitor_truth().competitor_prices("prixmalin")).url.iloc[0]
            with requests.Session() as session:
                runs.append([session.get(page).status_code for _ in range(200)])
            assert requests.get(fresh.competitor_sites()["prixmalin"] + "/robots.txt").status_code == 200
    assert runs[0] == runs[1] and set(runs[0]) == {200, 503} and 1 <= runs[0].count(503) <= 16


def test_faults_arm_per_competitor(sb):
    crawler = Crawler(sb, pace=False)
    url = good_pages(sb.competitor_truth().competitor_prices("northfield-supply")).url.iloc[0]
    sb.faults.arm("northfield-supply", "429", count=2, retry_after=2.5)
    session = crawler.session
    first, second = session.get(url), session.get(url)
    assert [first.status_code, second.status_code] == [429, 429] and first.headers["Retry-After"] == "2.5"
    assert session.get(url).status_code == 200
    requests.post(f"{sb.url}/_sandbox/faults", json={"store": "kitchenhaus", "kind": "502", "count": 1})
    kitchenhaus = sb.competitor_sites()["kitchenhaus"]
    assert [session.get(kitchenhaus + "/").status_code for _ in range(2)] == [502, 200]
    with pytest.raises(ValueError):
        sb.faults.arm("no-such-site", "503")


# -- the markup change -------------------------------------------------------------------------
def test_the_selector_matches_before_the_change_day_and_not_after(sb):
    truth, crawler = sb.competitor_truth(), Crawler(sb)
    site = truth.sites().set_index("competitor").loc["werkstatt-direkt"]
    change = site.markup_changes_on
    assert site.price_selector == "span.price-now" and ANCHOR - timedelta(days=21) < change <= ANCHOR
    before, after = change - timedelta(hours=12), change + timedelta(hours=12)
    rows = good_pages(truth.competitor_prices("werkstatt-direkt", before)).head(3)
    sb.clock.set(before)
    for row in rows.itertuples():
        matches = Elements(crawler.get(row.url).text).select(site.price_selector)
        assert [html.unescape(text) for text in matches] == [row.shown_as] and parse_money(row.shown_as) == row.price
        assert "\u00a0€" in row.shown_as
    sb.clock.set(after)
    shown = truth.competitor_prices("werkstatt-direkt").set_index("url")
    for row in rows.itertuples():
        text = crawler.get(row.url).text
        assert Elements(text).select(site.price_selector) == [] and shown.shown_as[row.url] in html.unescape(text)
        assert shown.price[row.url] is not None  # the price is still there, the selector just misses it


# -- exports, determinism, the log --------------------------------------------------------------
def normalised_catalogue(sb: Sandbox, path) -> str:
    text = sb.write_competitor_catalogue_csv(path).read_text()
    for name, base in sb.competitor_sites().items():
        text = text.replace(base, f"<{name}>")  # the ports are the only thing that differs
    return text


def test_same_config_gives_byte_identical_catalogue_and_pages(sb, tmp_path):
    crawler = Crawler(sb)
    paths = {name: frame.url.iloc[5].removeprefix(sb.competitor_sites()[name])
             for name in sb.competitor_sites() if not (frame := sb.competitor_truth().competitor_prices(name)).empty}
    with Sandbox(small_config()) as twin, Sandbox(small_config(seed=8)) as other:
        assert normalised_catalogue(twin, tmp_path / "a.csv") == normalised_catalogue(sb, tmp_path / "b.csv")
        assert normalised_catalogue(other, tmp_path / "c.csv") != normalised_catalogue(sb, tmp_path / "b.csv")
        assert (twin.write_pricing_rules_csv(tmp_path / "r1.csv").read_bytes()
                == sb.write_pricing_rules_csv(tmp_path / "r2.csv").read_bytes())
        twin_crawler = Crawler(twin)
        for name, path in paths.items():
            mine = crawler.get(sb.competitor_sites()[name] + path)
            theirs = twin_crawler.get(twin.competitor_sites()[name] + path)
            assert mine.content == theirs.content and mine.headers.get("ETag") == theirs.headers.get("ETag")
        mine = crawler.get(sb.competitor_sites()["kitchenhaus"] + "/robots.txt").content
        assert mine == twin_crawler.get(twin.competitor_sites()["kitchenhaus"] + "/robots.txt").content


def test_the_request_log_records_user_agents_paths_and_conditionals(sb):
    agent = "log-test-agent/2.0"
    crawler = Crawler(sb, agent)
    base = sb.competitor_sites()["kitchenhaus"]
    url = good_pages(sb.competitor_truth().competitor_prices("kitchenhaus")).url.iloc[0]
    path = url.removeprefix(base)
    first = crawler.get(url)
    crawler.get(base + "/robots.txt")
    crawler.get(url, **{"If-None-Match": first.headers["ETag"]})
    crawler.get(base + "/nope?x=1")
    crawler.get(url, method="HEAD")
    log = [entry for entry in sb.competitor_requests("kitchenhaus") if entry["user_agent"] == agent]
    assert [entry["path"] for entry in log] == [path, "/robots.txt", path, "/nope?x=1", path]
    assert [entry["status"] for entry in log] == [200, 200, 304, 404, 200]
    assert [entry["conditional"] for entry in log] == [False, False, True, False, False]
    assert [entry["method"] for entry in log][-1] == "HEAD"
    assert all(a["time"] <= b["time"] for a, b in zip(log, log[1:]))
    # Thread-safe: every one of many concurrent requests is logged once.
    before = len(sb.competitor_requests("prixmalin"))
    prixmalin = sb.competitor_sites()["prixmalin"] + "/robots.txt"
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda _: requests.get(prixmalin, headers={"User-Agent": "swarm/1"}), range(40)))
    assert len(sb.competitor_requests("prixmalin")) == before + 40


def test_head_and_unknown_paths(sb):
    crawler = Crawler(sb)
    url = good_pages(sb.competitor_truth().competitor_prices("kitchenhaus")).url.iloc[0]
    head, get = crawler.get(url, method="HEAD"), crawler.get(url)
    assert head.status_code == 200 and head.content == b"" and head.headers["Content-Length"] == str(len(get.content))
    assert head.headers["ETag"] == get.headers["ETag"]
    assert crawler.get(sb.competitor_sites()["megamart"] + "/ip/no-such-thing/1").status_code == 404


def test_pricing_rules_csv(sb, tmp_path):
    path = sb.write_pricing_rules_csv(tmp_path / "rules.csv")
    assert path.read_text().splitlines()[0] == PRICING_RULES_HEADER
    rules = pd.read_csv(path, dtype=str, keep_default_na=False)
    products = sb.truth("shop-us").products().set_index("sku")
    assert rules.sku.tolist() == products.index.tolist()
    traffic = rules[rules.role == "traffic"]
    assert set(rules.role) == {"traffic", "regular"} and 0.02 <= len(traffic) / len(rules) <= 0.04
    assert products.is_best_seller[traffic.sku].mean() > 0.9
    assert 0.6 <= (rules.min_margin == "").mean() <= 0.95 and set(rules.min_margin) - {""} <= {
        "0.05", "0.10", "0.15", "0.20", "0.25", "0.30"}
    members = rules[rules.member_price != ""]
    assert 0.05 <= len(members) / len(rules) <= 0.15
    member_price = members.member_price.map(Decimal)
    list_price = products.list_price[members.sku].to_numpy()
    assert (member_price.to_numpy() < list_price).all()
    truth = sb.competitor_truth().pricing_rules().set_index("sku")
    violators = truth.index[truth.violates_member_gap]
    assert 1 <= len(violators) < len(members) / 2
    for sku in truth.index[truth.member_price.notna()]:
        gap = 1 - truth.member_price[sku] / truth.list_price[sku]
        assert (gap < Decimal("0.05")) == (sku in violators)


def test_competitor_configs_defaults_and_validation(tmp_path):
    for config in (SandboxConfig(anchor=ANCHOR), SandboxConfig.demo(ANCHOR), SandboxConfig.bench(10_000, ANCHOR)):
        assert [site.name for site in config.competitors] == [
            "kitchenhaus", "megamart", "northfield-supply", "prixmalin", "werkstatt-direkt"]
    with Sandbox(small_config(competitors=[])) as bare:
        assert bare.competitor_sites() == {}
        assert bare.write_competitor_catalogue_csv(tmp_path / "c.csv").read_text().strip() == CATALOGUE_HEADER
    with pytest.raises(ValueError, match="competitor names"):
        small_config(competitors=[replace(demo_competitors()[0], name="shop-us")])
    with pytest.raises(ValueError, match="no second style"):
        CompetitorConfig("x", markup=("html", "jsonld-product"), currency="EUR", price_format="dot")
    with pytest.raises(KeyError):
        Sandbox(small_config()).competitor_requests("nobody")
