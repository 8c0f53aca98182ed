"""Shopify Admin REST: orders, products, inventory items, locations, inventory levels, and the
promotions it stores (price rules, their discount codes, the custom collections they target).

Protocol facts this module owns (SPEC §2): `X-Shopify-Access-Token`; `status=any` (the default
`open` silently drops closed and cancelled orders); `updated_at_min`/`updated_at_max`, both
inclusive; `limit` ≤ 250; cursor pagination through the `Link` header, where a `page_info` request
may carry only `limit`/`fields`; the leaky bucket reported in `X-Shopify-Shop-Api-Call-Limit`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from typing import Callable, Iterator

import pandas as pd
import requests

from connectors.base import iso_utc, parse_timestamps, within_window
from connectors.http import HttpClient, LeakyBucketPacer, RetryPolicy, SourceError, server_time
from connectors.sources import SourceConfig
from shopops.logs import get_logger

DEFAULT_API_VERSION = "2025-07"
MAX_LIMIT = 250
MAX_CURSOR_RESTARTS = 5


@dataclass(frozen=True)
class Stream:
    """One endpoint: where it lives, the key its list sits under, and its fixed query."""

    path: str
    key: str
    params: tuple[tuple[str, str], ...] = ()


ORDERS = Stream("orders.json", "orders", (("status", "any"), ("order", "updated_at asc")))
PRODUCTS = Stream("products.json", "products")
LOCATIONS = Stream("locations.json", "locations")
INVENTORY_ITEMS = Stream("inventory_items.json", "inventory_items")
INVENTORY_LEVELS = Stream("inventory_levels.json", "inventory_levels")
PRICE_RULES = Stream("price_rules.json", "price_rules")
CUSTOM_COLLECTIONS = Stream("custom_collections.json", "custom_collections")
ORDER_DELETIONS = Stream("events.json", "events", (("filter", "Order"), ("verb", "destroy")))


class ExpiredCursor(Exception):
    pass


def _raise_on_expired_cursor(response: requests.Response) -> None:
    if response.status_code == 400 and "page_info" in response.text:
        raise ExpiredCursor()


class ShopifyConnector:
    kind = "shopify"

    def __init__(self, config: SourceConfig, *, policy: RetryPolicy | None = None,
                 sleep: Callable[[float], None] = time.sleep):
        token = config.secret("access_token")
        limits = config.options.get("rate_limit") or {}
        self.name = config.name
        self.pacer = LeakyBucketPacer(int(limits.get("bucket", 40)), float(limits.get("leak_per_second", 2.0)), sleep=sleep)
        self.http = HttpClient(config.name, headers={"X-Shopify-Access-Token": token}, secrets=(token,),
                               policy=policy, pacer=self.pacer, sleep=sleep)
        version = config.options.get("api_version", DEFAULT_API_VERSION)
        self.api = f"{config.base_url}/admin/api/{version}"
        self.page_size = min(MAX_LIMIT, int(config.options.get("page_size", MAX_LIMIT)))
        self.server_time: datetime | None = None  # the shop's clock at the last locations read

    def close(self) -> None:
        self.http.close()

    # --- orders ------------------------------------------------------------------------
    def order_pages(self, start: datetime, end: datetime) -> Iterator[list[dict]]:
        """Orders updated in `[start, end)`, oldest update first.

        Sorting by `updated_at` lets an expired page cursor resume from the last update seen
        instead of starting the slice again; the overlap is removed by deduplication downstream.
        """
        resume_from = start
        for restart in range(MAX_CURSOR_RESTARTS + 1):
            params = {"updated_at_min": iso_utc(resume_from), "updated_at_max": iso_utc(end)}
            try:
                for records in self._pages(ORDERS, params):
                    kept, latest = within_window(records, "updated_at", start, end)
                    if latest is not None:
                        resume_from = max(resume_from, latest)
                    yield kept
                return
            except ExpiredCursor:
                get_logger("shopops.connectors").warning(
                    "%s: page cursor expired; resuming orders from %s (restart %d)",
                    self.name, iso_utc(resume_from), restart + 1)
        raise SourceError(self.name, f"GET {self.api}/orders.json",
                          f"page cursor expired {MAX_CURSOR_RESTARTS + 1} times in a row")

    def deleted_orders(self, start: datetime, end: datetime) -> list[tuple[str, datetime]]:
        """(order id, when) of every order the merchant deleted in `[start, end)`: deleted orders
        vanish from orders.json, and a `destroy` event is all that is left of them."""
        deleted = []
        for events in self._pages(ORDER_DELETIONS, {"created_at_min": iso_utc(start), "created_at_max": iso_utc(end)}):
            kept, _ = within_window(events, "created_at", start, end)
            kept = [e for e in kept if isinstance(e, dict) and e.get("subject_type") == "Order"
                    and e.get("subject_id") is not None]
            moments = parse_timestamps(pd.Series([e.get("created_at") for e in kept], dtype=object))
            deleted.extend((str(e["subject_id"]), m.to_pydatetime()) for e, m in zip(kept, moments) if not pd.isna(m))
        return deleted

    # --- catalogue ---------------------------------------------------------------------
    def products(self) -> Iterator[list[dict]]:
        yield from self._pages(PRODUCTS, {})

    def inventory_item_costs(self, item_ids: list[int]) -> Iterator[list[dict]]:
        for first in range(0, len(item_ids), 100):  # the endpoint takes at most 100 ids
            ids = ",".join(str(i) for i in item_ids[first:first + 100])
            body, _ = self.http.get_json(f"{self.api}/{INVENTORY_ITEMS.path}", {"ids": ids, "limit": 100})
            yield self._records(body, INVENTORY_ITEMS, f"{self.api}/{INVENTORY_ITEMS.path}")

    def locations(self) -> list[dict]:
        """The shop's locations; also notes the shop's clock (`server_time`), which dates the
        inventory read that follows."""
        body, response = self.http.get_json(f"{self.api}/{LOCATIONS.path}")
        self.server_time = server_time(response)
        return self._records(body, LOCATIONS, f"{self.api}/{LOCATIONS.path}")

    def inventory_levels(self, location_ids: list[int]) -> Iterator[list[dict]]:
        if location_ids:
            yield from self._pages(INVENTORY_LEVELS, {"location_ids": ",".join(map(str, location_ids))})

    # --- promotions --------------------------------------------------------------------
    def price_rules(self) -> Iterator[list[dict]]:
        yield from self._pages(PRICE_RULES, {})

    def discount_codes(self, price_rule_id: int | str) -> list[dict]:
        """A price rule's codes (the rule's title is only a label; the codes are what orders carry)."""
        url = f"{self.api}/price_rules/{price_rule_id}/discount_codes.json"
        body, _ = self.http.get_json(url)
        return self._records(body, Stream("discount_codes.json", "discount_codes"), url)

    def custom_collections(self) -> Iterator[list[dict]]:
        yield from self._pages(CUSTOM_COLLECTIONS, {})

    # --- pagination --------------------------------------------------------------------
    def _pages(self, stream: Stream, params: dict) -> Iterator[list[dict]]:
        url: str | None = f"{self.api}/{stream.path}"
        query: dict | None = {**dict(stream.params), **params, "limit": self.page_size}
        while url:
            body, response = self.http.get_json(url, query, handle_status=_raise_on_expired_cursor)
            yield self._records(body, stream, url)
            url = response.links.get("next", {}).get("url")
            query = None  # the next link carries page_info and limit, and nothing else may be added

    def _records(self, body, stream: Stream, url: str) -> list[dict]:
        records = body.get(stream.key) if isinstance(body, dict) else None
        if not isinstance(records, list):
            raise SourceError(self.name, self.http.describe(url),
                              f"expected a JSON object with a `{stream.key}` list")
        return records

