"""What each competitor sells, at which URL, and its price and stock on every history day.

Columnar like the generator: a site's pages are arrays, its prices a (days, pages) matrix built
with numpy (a loop over days, vectorised over pages). Every stage draws from its own stream
keyed by (seed, site name, stage), so changing one knob of one site leaves everything else as it was.

The price of a page on day d (UTC days, the first history day .. the anchor's):

    our list price x the site's price_level x a per-page factor (lognormal, sd 5%)
      x exp(walk[d])   a mean-reverting log walk that moves on a price_change_rate share of days
      x move[d]        1, or 1 +- 20-40% during one of the site's abnormal moves (1-7 days)

rounded to the site's charm ending (x.99, x.95, x.90 or exact cents).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from .catalogue import CATEGORY_NAMES, SUPPLIERS, Catalogue
from .competitor_config import CompetitorConfig
from .config import SandboxConfig
from .generator import competitor_rng
from .stock_ledger import history_days

_ASSORTMENT, _PAGES, _PRICES, _ABNORMAL, _STOCK, _FLAKY = range(6)
BROKEN_KINDS = ("malformed_html", "no_price", "call_for_price")
HOSTILE_KINDS = ("script", "long", "unicode", "quotes")
NOT_BROKEN = NOT_HOSTILE = -1
NO_PRICE = -1                    # in a "shown price" column: the page shows no price
SECOND_STYLE_SHARE = 0.35        # of the pages of a two-style site, in its second style
FLAKY_CYCLE = 1000               # the 503 pattern repeats every this many product requests
REVERSION = 0.25                 # how far a price move pulls the walk back towards the site level
STEP_SD, START_SD = 0.035, 0.03  # log sizes of a day's move and of the first day's offset
NAME_SEPARATORS = {"en": ", ", "de": " – ", "fr": " - "}
_LONG_TAIL = ("premium quality", "free shipping", "best price guaranteed", "top rated", "gift idea",
              "limited offer", "new season", "fast delivery", "customer favourite", "eco friendly")


@dataclass
class AbnormalMoves:
    page: np.ndarray    # int64 page index
    start: np.ndarray   # int64 first day index of the move
    end: np.ndarray     # int64 day index after its last day
    factor: np.ndarray  # float64 price multiplier (0.6-0.8 or 1.2-1.4)


@dataclass
class SiteData:
    config: CompetitorConfig
    first_day: int               # UTC epoch day of day index 0
    sku: np.ndarray              # (pages,) our SKU index, ascending
    path: list[str]              # (pages,) the URL path of the product page
    style: np.ndarray            # (pages,) int8 index into config.markup
    name: list[str]              # product name as the site writes it (hostile ones included)
    own_sku: list[str]           # the site's own article number
    brand: list[str]
    category: list[str]
    price: np.ndarray            # (days, pages) int64 cents, the site's price that day (shown or not)
    high_price: np.ndarray       # (days, pages) int64 cents, AggregateOffer highPrice
    offer_count: np.ndarray      # (pages,) int64 sellers, on AggregateOffer pages
    was_price: np.ndarray        # (pages,) int64 cents of a crossed-out "was" price, 0 = none
    in_stock: np.ndarray         # (days, pages) bool
    moves: AbnormalMoves
    broken: np.ndarray           # (pages,) int8 index into BROKEN_KINDS, NOT_BROKEN = a good page
    hostile: np.ndarray          # (pages,) int8 index into HOSTILE_KINDS, NOT_HOSTILE = a plain name
    allowed: np.ndarray          # (pages,) bool: robots.txt lets an ordinary user agent fetch it
    markup_change_day: int | None  # day index from which the html site serves its new template
    flaky: np.ndarray            # (FLAKY_CYCLE,) bool: the n-th product request gets a 503
    shown_price: np.ndarray = field(init=False)   # (days, pages) int64 cents the page shows, NO_PRICE if none
    last_changed: np.ndarray = field(init=False)  # (days, pages) int64 day index the page last changed
    path_index: dict[str, int] = field(init=False)

    def __post_init__(self) -> None:
        self.shown_price = _shown_price(self)
        self.last_changed = _last_changed(self)
        self.path_index = {path: page for page, path in enumerate(self.path)}

    @property
    def page_count(self) -> int:
        return len(self.sku)

    @property
    def day_count(self) -> int:
        return self.price.shape[0]

    def day_index(self, moment: int) -> int:
        """The history day a moment (epoch seconds) falls on; before the history the first day,
        after the anchor's day the anchor's (the data end there, as the stores' do)."""
        return int(min(max(moment // 86_400 - self.first_day, 0), self.day_count - 1))

    def new_template(self, day: int) -> bool:
        return self.markup_change_day is not None and day >= self.markup_change_day

    def abnormal(self) -> np.ndarray:
        """(days, pages) bool: inside an abnormal move."""
        mask = np.zeros(self.price.shape, dtype=bool)
        for page, start, end in zip(self.moves.page.tolist(), self.moves.start.tolist(), self.moves.end.tolist()):
            mask[start:end, page] = True
        return mask


def charm(cents: np.ndarray, ending: int | None) -> np.ndarray:
    """Round up to a price ending in `ending` cents (99 -> x.99), or to whole cents (None)."""
    if ending is None:
        return np.maximum(np.round(cents), 1).astype(np.int64)
    rounded = np.ceil((cents - ending) / 100.0).astype(np.int64) * 100 + ending
    return np.maximum(rounded, ending if ending else 100)


def slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def build_sites(config: SandboxConfig, catalogue: Catalogue) -> dict[str, SiteData]:
    return {site.name: build_site(config, site, catalogue) for site in config.competitors}


def build_site(config: SandboxConfig, site: CompetitorConfig, catalogue: Catalogue) -> SiteData:
    first_day, last_day = history_days(config)
    days = last_day - first_day + 1
    rng = lambda stage: competitor_rng(config, site.name, stage)  # noqa: E731 (a one-line key)

    sku = np.flatnonzero(rng(_ASSORTMENT).random(catalogue.size) < site.share)
    if len(sku) == 0 and site.share > 0 and catalogue.size:
        sku = np.array([0])  # a site that sells something, even in a tiny world
    pages = _pages(rng(_PAGES), site, catalogue, sku)
    raw = _price_walk(rng(_PRICES), site, catalogue, sku, days)
    moves = _abnormal_moves(rng(_ABNORMAL), site, len(sku), days)
    multiplier = np.ones((days, len(sku)))
    for page, start, end, factor in zip(moves.page.tolist(), moves.start.tolist(), moves.end.tolist(),
                                        moves.factor.tolist()):
        multiplier[start:end, page] *= factor
    raw = raw * multiplier
    price = charm(raw, site.price_ending)
    spread, has_was = pages.pop("spread"), pages.pop("has_was")
    return SiteData(
        config=site, first_day=first_day, sku=sku, price=price,
        high_price=np.maximum(charm(raw * spread[None, :], site.price_ending), price),
        # A crossed-out "was" price above every price the page ever shows (a trap for loose selectors).
        was_price=np.where(has_was, charm(price.max(axis=0, initial=0) * 1.2, site.price_ending), 0),
        in_stock=_stock(rng(_STOCK), site, len(sku), days), moves=moves,
        markup_change_day=_markup_change_day(site, days),
        flaky=rng(_FLAKY).random(FLAKY_CYCLE) < site.flaky_share, **pages,
    )


def _pages(rng: np.random.Generator, site: CompetitorConfig, catalogue: Catalogue, sku: np.ndarray) -> dict:
    """Per page: URL path, markup style, names, ids, broken and hostile pages, robots."""
    count = len(sku)
    product = catalogue.product[sku]
    ids = rng.choice(900_000, size=count, replace=False) + 100_000 if count else np.zeros(0, dtype=np.int64)
    style = (rng.random(count) < SECOND_STYLE_SHARE).astype(np.int8) if len(site.markup) == 2 else np.zeros(count, np.int8)
    offer_count = rng.integers(2, 13, count)
    spread = rng.uniform(1.05, 1.45, count)  # AggregateOffer: highPrice / lowPrice
    has_was = (rng.random(count) < 0.25) & (site.markup == ("html",))

    disallowed = np.zeros(count, dtype=bool)
    if site.disallowed_prefix and site.disallowed_share > 0 and count:
        chosen = max(1, round(site.disallowed_share * count))
        disallowed[rng.choice(count, size=min(chosen, count), replace=False)] = True
    # Broken pages where a polite crawler goes (allowed ones), so it meets them; then hostile names elsewhere.
    broken = np.full(count, NOT_BROKEN, dtype=np.int8)
    candidates = np.flatnonzero(~disallowed) if (~disallowed).sum() >= site.broken_pages else np.arange(count)
    picked = rng.choice(candidates, size=min(site.broken_pages, len(candidates)), replace=False)
    broken[picked] = np.arange(len(picked)) % len(BROKEN_KINDS)
    hostile = np.full(count, NOT_HOSTILE, dtype=np.int8)
    if site.hostile_share > 0:
        clean = np.flatnonzero(broken == NOT_BROKEN)
        wanted = max(min(len(HOSTILE_KINDS), len(clean)), round(site.hostile_share * count))
        picked = rng.choice(clean, size=min(wanted, len(clean)), replace=False)
        hostile[picked] = np.arange(len(picked)) % len(HOSTILE_KINDS)

    separator = NAME_SEPARATORS[site.language]
    names, paths, seen = [], [], set()
    categories = [CATEGORY_NAMES[c] for c in catalogue.product_category[product].tolist()]
    for page, (s, p) in enumerate(zip(sku.tolist(), product.tolist())):
        title = catalogue.product_title[p]
        clean_name = title if catalogue.option[s] < 0 else f"{title}{separator}{catalogue.variant_title(s)}"
        path = site.url_pattern.format(slug=slug(clean_name), id=int(ids[page]), category=slug(categories[page]))
        if disallowed[page]:  # the same page under the disallowed prefix, e.g. /products/x -> /outlet/x
            head, _, tail = path[1:].partition("/")
            path = site.disallowed_prefix + (tail or head)
        while path in seen:  # only a pattern without {id} can repeat
            path = path.replace(".html", "-2.html") if path.endswith(".html") else f"{path}-2"
        seen.add(path)
        paths.append(path)
        names.append(_hostile_name(clean_name, int(hostile[page]), site.name))

    initials = "".join(part[0] for part in site.name.split("-")) if "-" in site.name else site.name[:2]
    allowed = np.array([not any(path.startswith(rule) for rule in site.disallowed_paths) for path in paths]
                       if site.robots_txt else [True] * count, dtype=bool)
    return {
        "path": paths, "style": style, "name": names, "category": categories,
        "own_sku": [f"{initials.upper()}-{number}" for number in ids.tolist()],
        "brand": [SUPPLIERS[b] for b in catalogue.product_supplier[product].tolist()],
        "offer_count": offer_count.astype(np.int64), "spread": spread, "has_was": has_was,
        "broken": broken, "hostile": hostile, "allowed": allowed,
    }


def _hostile_name(name: str, kind: int, site: str) -> str:
    """What real product feeds contain: markup in names, marketing tails, emoji and scripts."""
    if kind == NOT_HOSTILE:
        return name
    kind_name = HOSTILE_KINDS[kind]
    if kind_name == "script":
        return f'{name} <script>alert("{site}")</script>'
    if kind_name == "long":
        tail = " | ".join(_LONG_TAIL * 8)
        return f"{name} – {tail}"
    if kind_name == "unicode":
        return f"{name} 🔥 Édition spéciale — 限定版 عرض خاص Cafe\u0301\u200b"
    return f'{name} "Pro" & Sons\' <Deluxe> Set'


def _price_walk(rng: np.random.Generator, site: CompetitorConfig, catalogue: Catalogue, sku: np.ndarray,
                days: int) -> np.ndarray:
    """(days, pages) float cents before charm rounding and abnormal moves."""
    count = len(sku)
    factor = np.clip(rng.lognormal(0.0, 0.05, count), 0.85, 1.2)
    base = catalogue.list_price[sku] * site.price_level * factor
    moves = rng.random((days, count)) < site.price_change_rate
    steps = rng.normal(0.0, STEP_SD, (days, count))
    walk = np.empty((days, count))
    walk[0] = rng.normal(0.0, START_SD, count)
    for day in range(1, days):
        walk[day] = walk[day - 1] + moves[day] * (steps[day] - REVERSION * walk[day - 1])
    return base[None, :] * np.exp(walk)


def _abnormal_moves(rng: np.random.Generator, site: CompetitorConfig, pages: int, days: int) -> AbnormalMoves:
    """A few real +-20-40% moves per month across the site (at least one, where there is a next day)."""
    expected = site.abnormal_moves_per_month * (days - 1) / 30.0
    count = int(rng.poisson(expected))
    if site.abnormal_moves_per_month > 0 and days >= 2 and pages:
        count = max(count, 1)
    else:
        count = 0
    page = rng.choice(pages, size=count, replace=count > pages) if count else np.zeros(0, dtype=np.int64)
    start = rng.integers(1, max(days, 2), count)
    end = np.minimum(start + rng.integers(1, 8, count), days)
    size = rng.uniform(0.2, 0.4, count)
    factor = np.where(rng.random(count) < 0.5, 1.0 - size, 1.0 + size)
    return AbnormalMoves(page.astype(np.int64), start.astype(np.int64), end.astype(np.int64), factor)


def _stock(rng: np.random.Generator, site: CompetitorConfig, pages: int, days: int) -> np.ndarray:
    """(days, pages) bool: each page out of stock for one period of 2-15 days, or never."""
    has_gap = rng.random(pages) < site.out_of_stock_share
    start = rng.integers(0, days, pages)
    end = start + rng.integers(2, 16, pages)
    day = np.arange(days)[:, None]
    return ~(has_gap & (day >= start) & (day < end))


def _markup_change_day(site: CompetitorConfig, days: int) -> int | None:
    """Day index of the change: that share of the way from the first day to the anchor's, never
    the first day (so there is always a before and an after)."""
    if site.markup_change_at is None:
        return None
    return int(min(max(round(site.markup_change_at * (days - 1)), 1), days - 1))


def _shown_price(data: SiteData) -> np.ndarray:
    hidden = np.broadcast_to(data.broken != NOT_BROKEN, data.price.shape).copy()
    if data.config.hide_price_when_out_of_stock:
        hidden |= ~data.in_stock
    return np.where(hidden, NO_PRICE, data.price)


def _last_changed(data: SiteData) -> np.ndarray:
    """(days, pages) the day index each page's content last changed: what it shows (price,
    highPrice, stock) or its template. Broken pages without an offer never change."""
    offerless = np.isin(data.broken, [BROKEN_KINDS.index("malformed_html"), BROKEN_KINDS.index("no_price")])
    shown_stock = np.where(offerless[None, :], True, data.in_stock)
    aggregate = np.array([data.config.markup[s] == "jsonld-aggregate" for s in data.style.tolist()], dtype=bool)
    high = np.where(aggregate[None, :] & (data.shown_price != NO_PRICE), data.high_price, 0)
    template = np.zeros(data.price.shape, dtype=np.int64)
    if data.markup_change_day is not None:
        template[data.markup_change_day:] = 1
    changed = np.zeros(data.price.shape, dtype=bool)
    for column in (data.shown_price, high, shown_stock, template):
        changed[1:] |= column[1:] != column[:-1]
    day = np.arange(data.price.shape[0], dtype=np.int64)[:, None]
    return np.maximum.accumulate(np.where(changed, day, 0), axis=0)
