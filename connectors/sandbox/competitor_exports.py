"""The competitor catalogue and our pricing rules as CSV files, and the competitor ground truth.

The catalogue export is what the price monitor is configured with (which URL of which competitor
sells which of our SKUs); it lists every page, the robots-disallowed and broken ones too: the
crawler must cope. The truth says what each page shows at a moment, for tests.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Callable

import numpy as np
import pandas as pd

from .clock import SandboxClock
from .competitor_market import BROKEN_KINDS, NO_PRICE, NOT_BROKEN, SiteData
from .competitor_pages import page_view, shown_as
from .config import SandboxConfig, as_utc
from .pricing_rules import NO_MEMBER_PRICE, PricingRules
from .wire import money_list

DAY = 86_400
CATALOGUE_COLUMNS = ["sku", "competitor", "url", "price_selector"]
PRICING_RULE_COLUMNS = ["sku", "role", "min_margin", "member_price"]
PRICE_COLUMNS = ["sku", "url", "price", "currency", "in_stock", "shown_as", "allowed_by_robots", "broken",
                 "name", "markup", "broken_kind", "last_modified", "abnormal_move"]


def _utc_days(epoch_days: np.ndarray) -> pd.Series:
    seconds = (np.asarray(epoch_days, dtype=np.int64) * DAY).astype("datetime64[s]")
    return pd.Series(seconds).dt.tz_localize("UTC")


def _decimals_or_none(cents: np.ndarray, missing: np.ndarray) -> list[Decimal | None]:
    texts = money_list(np.where(missing, 0, cents))
    return [None if gone else Decimal(text) for text, gone in zip(texts, missing.tolist())]


def competitor_catalogue(config: SandboxConfig, sites: dict[str, SiteData], base_url: Callable[[str], str],
                         sku_codes: np.ndarray) -> pd.DataFrame:
    """One row per (our SKU, competitor selling it), by SKU then the competitors' config order."""
    parts = []
    for rank, site in enumerate(config.competitors):
        data = sites[site.name]
        base = base_url(site.name)
        parts.append(pd.DataFrame({
            "sku_index": data.sku, "rank": rank, "sku": sku_codes[data.sku], "competitor": site.name,
            "url": [base + path for path in data.path], "price_selector": site.price_selector,
        }))
    if not parts:
        return pd.DataFrame({column: pd.Series(dtype=object) for column in CATALOGUE_COLUMNS})
    frame = pd.concat(parts, ignore_index=True).sort_values(["sku_index", "rank"], kind="stable")
    return frame[CATALOGUE_COLUMNS].reset_index(drop=True)


def pricing_rules_csv_frame(rules: PricingRules, sku_codes: np.ndarray) -> pd.DataFrame:
    """The CSV's text: empty fields where the product's defaults apply."""
    has_member = rules.member_price != NO_MEMBER_PRICE
    return pd.DataFrame({
        "sku": sku_codes,
        "role": np.where(rules.traffic, "traffic", "regular").astype(object),
        "min_margin": [f"{value:.2f}" if value == value else "" for value in rules.min_margin.tolist()],
        "member_price": [text if has else "" for text, has in
                         zip(money_list(np.where(has_member, rules.member_price, 0)), has_member.tolist())],
    }, columns=PRICING_RULE_COLUMNS)


class CompetitorTruth:
    """What the competitor sites show, and the facts of each site, for tests."""

    def __init__(self, config: SandboxConfig, sites: dict[str, SiteData], clock: SandboxClock,
                 base_url: Callable[[str], str], sku_codes: np.ndarray, rules: PricingRules) -> None:
        self._config = config
        self._sites = sites
        self._clock = clock
        self._base_url = base_url
        self._sku_codes = sku_codes
        self._rules = rules

    def _site(self, competitor: str) -> SiteData:
        self._config.competitor(competitor)  # a KeyError naming the competitors
        return self._sites[competitor]

    def _moment(self, now: datetime | None) -> int:
        return self._clock.epoch_seconds() if now is None else int(as_utc(now).timestamp())

    def competitor_prices(self, competitor: str, now: datetime | None = None) -> pd.DataFrame:
        """One row per page of the site, as it shows at `now` (default the sandbox clock): `price`
        (Decimal, None where the page shows none), `shown_as` (the price text as on the page),
        `last_modified` (the day the page last changed), `abnormal_move` (inside one of the site's
        abnormal moves), `markup` (the page's style), `broken_kind` (None for a good page)."""
        data = self._site(competitor)
        moment = self._moment(now)
        day = data.day_index(moment)
        base = self._base_url(competitor)
        shown = data.shown_price[day]
        broken = data.broken != NOT_BROKEN
        return pd.DataFrame({
            "sku": self._sku_codes[data.sku],
            "url": [base + path for path in data.path],
            "price": _decimals_or_none(shown, shown == NO_PRICE),
            "currency": data.config.currency,
            "in_stock": data.in_stock[day],
            "shown_as": pd.Series([shown_as(page_view(data, page, day)) for page in range(data.page_count)], dtype=object),
            "allowed_by_robots": data.allowed,
            "broken": broken,
            "name": data.name,
            "markup": [data.config.markup[s] for s in data.style.tolist()],
            "broken_kind": pd.Series([BROKEN_KINDS[k] if k != NOT_BROKEN else None for k in data.broken.tolist()],
                                     dtype=object),
            "last_modified": _utc_days(data.first_day + data.last_changed[day]),
            "abnormal_move": data.abnormal()[day],
        }, columns=PRICE_COLUMNS)

    def abnormal_moves(self, competitor: str) -> pd.DataFrame:
        """The site's real abnormal moves: `first_day` .. `last_day` (UTC midnights, inclusive), `factor`."""
        data = self._site(competitor)
        moves = data.moves
        order = np.lexsort((moves.page, moves.start))
        base = self._base_url(competitor)
        return pd.DataFrame({
            "sku": self._sku_codes[data.sku[moves.page[order]]],
            "url": [base + data.path[page] for page in moves.page[order].tolist()],
            "first_day": _utc_days(data.first_day + moves.start[order]),
            "last_day": _utc_days(data.first_day + moves.end[order] - 1),
            "factor": np.round(moves.factor[order], 4),
        })

    def sites(self) -> pd.DataFrame:
        """One row per competitor: its origin and the rules it plays by."""
        rows = []
        for site in self._config.competitors:
            data = self._sites[site.name]
            change = data.markup_change_day
            rows.append({
                "competitor": site.name, "base_url": self._base_url(site.name), "currency": site.currency,
                "markup": site.markup, "price_format": site.price_format, "display_format": site.display_format,
                "pages": data.page_count, "robots_txt": site.robots_txt,
                "disallowed": site.disallowed_paths if site.robots_txt else (),
                "blocked_agents": site.blocked_agents, "crawl_delay": site.crawl_delay,
                "rate_limit_per_second": site.rate_limit_per_second, "latency_seconds": site.latency_seconds,
                "flaky_share": site.flaky_share, "etag": site.etag, "last_modified": site.last_modified,
                "price_selector": site.price_selector,
                "markup_changes_on": (pd.Timestamp((data.first_day + change) * DAY, unit="s", tz="UTC")
                                      if change is not None else pd.NaT),
            })
        return pd.DataFrame(rows, columns=["competitor", "base_url", "currency", "markup", "price_format",
                                           "display_format", "pages", "robots_txt", "disallowed", "blocked_agents",
                                           "crawl_delay", "rate_limit_per_second", "latency_seconds", "flaky_share",
                                           "etag", "last_modified", "price_selector", "markup_changes_on"])

    def pricing_rules(self) -> pd.DataFrame:
        """The pricing rules CSV's rows with values (Decimal, None where empty), our list price, the
        member price's gap below it, and whether that gap breaks the 5% rule."""
        rules = self._rules
        has_member = rules.member_price != NO_MEMBER_PRICE
        return pd.DataFrame({
            "sku": self._sku_codes,
            "role": np.where(rules.traffic, "traffic", "regular").astype(object),
            "min_margin": pd.Series([Decimal(f"{v:.2f}") if v == v else None for v in rules.min_margin.tolist()],
                                    dtype=object),
            "member_price": _decimals_or_none(rules.member_price, ~has_member),
            "list_price": _decimals_or_none(rules.list_price, np.zeros(len(rules.list_price), dtype=bool)),
            "member_gap": rules.member_gap,
            "violates_member_gap": rules.violates_member_gap,
        })
