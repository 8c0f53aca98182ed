"""WooCommerce REST v3 orders, and the coupons with the products and categories they name.

Protocol facts this module owns (SPEC §2): Basic auth with the consumer key and secret (or the
query-string fallback, option `auth: query`); `per_page` ≤ 100 with `page` numbers;
`modified_after`/`modified_before` are exclusive and read in the site's time zone unless
`dates_are_gmt=true`; `X-WP-Total`/`X-WP-TotalPages`; `*_gmt` dates carry no offset.

WooCommerce cannot sort by modification time, so pages are numbered over a set that can change
while we read it: an order edited meanwhile leaves the window and every later order shifts one
place, so one would be skipped. Each response says how big the set is (`X-WP-Total`); when that
changes during a read, the slice is read again (duplicates are removed downstream).
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from typing import Callable, Iterator

from requests.auth import HTTPBasicAuth

from connectors.base import utc, within_window
from connectors.http import HttpClient, RetryPolicy, SourceError
from connectors.sources import SourceConfig
from shopops.logs import get_logger

MAX_PER_PAGE = 100
MAX_REREADS = 3


class WooCommerceConnector:
    kind = "woocommerce"

    def __init__(self, config: SourceConfig, *, policy: RetryPolicy | None = None,
                 sleep: Callable[[float], None] = time.sleep):
        key, secret = config.secret("consumer_key"), config.secret("consumer_secret")
        self.name = config.name
        self._query_auth: dict[str, str] = {}
        auth = None
        if config.options.get("auth") == "query":  # for hosts that strip the Authorization header
            self._query_auth = {"consumer_key": key, "consumer_secret": secret}
        else:
            auth = HTTPBasicAuth(key, secret)
        self.http = HttpClient(config.name, auth=auth, secrets=(key, secret), policy=policy, sleep=sleep)
        self.api = f"{config.base_url}/wp-json/wc/v3"
        self.orders_url = f"{self.api}/orders"
        self.page_size = min(MAX_PER_PAGE, int(config.options.get("page_size", MAX_PER_PAGE)))

    def close(self) -> None:
        self.http.close()

    def order_pages(self, start: datetime, end: datetime) -> Iterator[list[dict]]:
        params = {
            # Bounds are exclusive and timestamps have whole seconds: "after start − 1 s"
            # is "from start on", and "before end" is already half-open.
            "modified_after": _gmt(utc(start) - timedelta(seconds=1)),
            "modified_before": _gmt(end),
            "dates_are_gmt": "true",
            "status": "any",
            "orderby": "id",  # stable under edits, unlike the default creation date with ties
            "order": "asc",
            "per_page": self.page_size,
            **self._query_auth,
        }
        for read in range(1, MAX_REREADS + 1):
            totals: set[int] = set()
            page, pages = 1, 1
            while page <= pages:
                body, response = self.http.get_json(self.orders_url, {**params, "page": page})
                if not isinstance(body, list):
                    raise SourceError(self.name, self.http.describe(self.orders_url, params),
                                      "expected a JSON array of orders")
                totals.add(_int_header(response.headers, "X-WP-Total", len(body)))
                pages = _int_header(response.headers, "X-WP-TotalPages", page)
                kept, _ = within_window(body, "date_modified_gmt", start, end, naive_is_utc=True)
                yield kept
                if not body:
                    break
                page += 1
            if len(totals) <= 1:
                return
            get_logger("shopops.connectors").warning(
                "%s: the order set changed while paging (totals %s); reading the slice %s–%s again (%d/%d)",
                self.name, sorted(totals), _gmt(start), _gmt(end), read, MAX_REREADS)
        raise SourceError(self.name, self.http.describe(self.orders_url, params),
                          f"the order set kept changing during {MAX_REREADS} reads; use a shorter slice (SHOPOPS_SLICE_HOURS)")


    # --- promotions ----------------------------------------------------------------------
    def coupons(self) -> Iterator[list[dict]]:
        yield from self._listing("coupons")

    def product_categories(self) -> Iterator[list[dict]]:
        yield from self._listing("products/categories")

    def product(self, product_id: int | str) -> dict | None:
        """A product or a variation by id (this route serves both); None when it no longer exists."""
        url = f"{self.api}/products/{int(product_id)}"

        def gone(response) -> None:
            if response.status_code == 404:
                raise _Gone()

        try:
            body, _ = self.http.get_json(url, dict(self._query_auth), handle_status=gone)
        except _Gone:
            return None
        if not isinstance(body, dict):
            raise SourceError(self.name, self.http.describe(url), "expected a JSON object (a product)")
        return body

    def _listing(self, resource: str) -> Iterator[list[dict]]:
        """A page-numbered listing read to its last page (`X-WP-TotalPages`)."""
        url = f"{self.api}/{resource}"
        params = {"per_page": MAX_PER_PAGE, "orderby": "id", "order": "asc", **self._query_auth}
        page, pages = 1, 1
        while page <= pages:
            body, response = self.http.get_json(url, {**params, "page": page})
            if not isinstance(body, list):
                raise SourceError(self.name, self.http.describe(url, params), f"expected a JSON array of {resource}")
            pages = _int_header(response.headers, "X-WP-TotalPages", page)
            yield body
            if not body:
                break
            page += 1


class _Gone(Exception):
    pass


def _gmt(moment: datetime) -> str:
    return utc(moment).replace(microsecond=0, tzinfo=None).isoformat()


def _int_header(headers, name: str, default: int) -> int:
    value = headers.get(name, "")
    return int(value) if value.strip().isdigit() else default
