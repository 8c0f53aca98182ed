"""Amazon Selling Partner API, Orders v0: the orders updated in a window, each with its items.

Protocol facts this module owns (SPEC §2):
- Login with Amazon: the seller's refresh token and the app's client id and secret are exchanged
  (`POST token_url`, grant_type=refresh_token) for an access token that requests carry in
  `x-amz-access-token`. It expires after an hour, or earlier; a 403 on an expired token gets a new
  one once, then the request again.
- `getOrders` with `MarketplaceIds` and `LastUpdatedAfter`/`LastUpdatedBefore` (both inclusive; we
  keep `[start, end)`), at most 100 a page, `NextToken` for the next (it replaces the filters).
  `LastUpdatedBefore` must be two minutes before now: the window planner keeps `SETTLE` away from
  now, so the cursor never passes what Amazon would show.
- `getOrderItems` per order (with its own `NextToken`): the record passed on is the order with its
  `OrderItems` added. A `Pending` order has no prices yet; the normaliser deals with that.
- Each operation has its own usage plan (getOrders 0.0167/s burst 20, getOrderItems 0.5/s burst
  30), paced client-side by token buckets whose rate follows `x-amzn-RateLimit-Limit`; a 429
  (`QuotaExceeded`) empties the bucket and the request waits its turn again.
- Answers are `{payload, errors}` envelopes; an error names Amazon's code and message.
"""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta
from typing import Callable, Iterator

import orjson

from connectors.base import iso_utc, within_window
from connectors.http import AuthError, HttpClient, RetryPolicy, SourceError, TokenBucketPacer
from connectors.sources import ConfigError, SourceConfig
from shopops.logs import register_secret

TOKEN_URL = "https://api.amazon.com/auth/o2/token"
MAX_RESULTS = 100
SETTLE = timedelta(minutes=3)  # Amazon refuses LastUpdatedBefore later than now − 2 min; one more for clocks
USAGE_PLANS = {"getOrders": (0.0167, 20), "getOrderItems": (0.5, 30)}


class AmazonConnector:
    kind = "amazon"

    def __init__(self, config: SourceConfig, *, policy: RetryPolicy | None = None,
                 sleep: Callable[[float], None] = time.sleep):
        self.name = config.name
        self._refresh_token = config.secret("refresh_token")
        self._client = (config.secret("client_id"), config.secret("client_secret"))
        secrets = (self._refresh_token, *self._client)
        marketplaces = config.options.get("marketplace_ids")
        if isinstance(marketplaces, str):
            marketplaces = [m.strip() for m in marketplaces.split(",") if m.strip()]
        if not marketplaces:
            raise ConfigError(f"{config.name}: an amazon source needs `marketplace_ids` (e.g. [A1PA6795UKMFR9])")
        self.marketplace_ids = ",".join(marketplaces)
        self.token_url = config.options.get("token_url", TOKEN_URL)
        self.page_size = min(MAX_RESULTS, int(config.options.get("page_size", MAX_RESULTS)))
        plans = {**USAGE_PLANS, **{k: tuple(v) for k, v in (config.options.get("usage_plans") or {}).items()}}
        clients = {operation: HttpClient(config.name, secrets=secrets, policy=policy, sleep=sleep,
                                         pacer=TokenBucketPacer(rate, int(burst), sleep=sleep))
                   for operation, (rate, burst) in plans.items()}
        self.http, self.items_http = clients["getOrders"], clients["getOrderItems"]
        self.auth_http = HttpClient(config.name, secrets=secrets, policy=policy, sleep=sleep)
        self.orders_url = f"{config.base_url}/orders/v0/orders"
        self._token: str | None = None
        self._token_lock = threading.Lock()

    def close(self) -> None:
        for client in (self.http, self.items_http, self.auth_http):
            client.close()

    def order_pages(self, start: datetime, end: datetime) -> Iterator[list[dict]]:
        params = {"MarketplaceIds": self.marketplace_ids, "LastUpdatedAfter": iso_utc(start),
                  "LastUpdatedBefore": iso_utc(end), "MaxResultsPerPage": self.page_size}
        while True:
            payload = self._payload(self.http, self.orders_url, params)
            orders = payload.get("Orders")
            if not isinstance(orders, list):
                raise SourceError(self.name, self.http.describe(self.orders_url, params),
                                  "the getOrders payload has no Orders list")
            kept, _ = within_window(orders, "LastUpdateDate", start, end)
            for order in kept:
                if isinstance(order, dict) and isinstance(order.get("AmazonOrderId"), str):
                    order["OrderItems"] = self._items(order["AmazonOrderId"])
            if kept:
                yield kept
            token = payload.get("NextToken")
            if not token:
                return
            params = {"MarketplaceIds": self.marketplace_ids, "NextToken": token}

    def _items(self, amazon_order_id: str) -> list | None:
        """Every item of one order (None when Amazon no longer knows the order: quarantined as such)."""
        url, params, items = f"{self.orders_url}/{amazon_order_id}/orderItems", {}, []
        while True:
            try:
                payload = self._payload(self.items_http, url, params)
            except SourceError as error:
                if error.status == 404:
                    return None
                raise
            items.extend(payload.get("OrderItems") or [])
            if not payload.get("NextToken"):
                return items
            params = {"NextToken": payload["NextToken"]}

    def _payload(self, http: HttpClient, url: str, params: dict) -> dict:
        """The `payload` of one call; a 403 on an expired token gets a new token once."""
        http.session.headers["x-amz-access-token"] = self._access_token()
        try:
            body, _ = http.get_json(url, params, handle_status=self._refuse)
        except AuthError:  # refused twice: the AuthError of the second call stands
            http.session.headers["x-amz-access-token"] = self._access_token(renew=True)
            body, _ = http.get_json(url, params, handle_status=self._refuse)
        if not isinstance(body, dict) or not isinstance(body.get("payload"), dict):
            raise SourceError(self.name, http.describe(url, params), "the answer has no payload object")
        return body["payload"]

    def _refuse(self, response) -> None:
        """Amazon's 4xx errors with its own code and message (401/403 are the caller's)."""
        if response.status_code in (400, 404):
            raise SourceError(self.name, self.http.describe(response.url), _amazon_error(response), response.status_code)

    def _access_token(self, renew: bool = False) -> str:
        with self._token_lock:
            if self._token is None or renew:
                response = self.auth_http.post_form(self.token_url, {
                    "grant_type": "refresh_token", "refresh_token": self._refresh_token,
                    "client_id": self._client[0], "client_secret": self._client[1]})
                request = f"POST {self.token_url}"
                try:
                    body = orjson.loads(response.content)
                except orjson.JSONDecodeError:
                    body = {}
                if response.status_code != 200 or not isinstance(body.get("access_token"), str):
                    cause = body.get("error_description") or body.get("error") or response.reason
                    error = AuthError if response.status_code in (400, 401, 403) else SourceError
                    raise error(self.name, request, f"Login with Amazon refused the refresh: {cause}; check the "
                                "refresh token and the app's client id and secret", response.status_code)
                self._token = body["access_token"]
                register_secret(self._token)
            return self._token


def _amazon_error(response) -> str:
    try:
        errors = orjson.loads(response.content).get("errors") or []
        return "; ".join(f"{e.get('code')}: {e.get('message')}" for e in errors if isinstance(e, dict)) or response.reason
    except (orjson.JSONDecodeError, AttributeError):
        return response.reason or "no body"
