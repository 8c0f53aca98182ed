"""Amazon Selling Partner API for one seller: Login with Amazon token refresh, Orders v0
`getOrders` and `getOrderItems`, each behind its own token bucket.

The wire facts: `POST /auth/o2/token` (grant_type=refresh_token) gives an access token that
requests carry in `x-amz-access-token` and that expires; every answer is a `{payload, errors}`
envelope; `getOrders` needs `MarketplaceIds` and `LastUpdatedAfter` (or `CreatedAfter`, never
both), refuses a `LastUpdatedBefore` later than two minutes before now, pages with `NextToken`
(a request carrying it ignores the filters) and at most 100 orders; each operation answers with
`x-amzn-RateLimit-Limit` (its rate) and, over its bucket, 429 `QuotaExceeded`.
"""

from __future__ import annotations

import base64
import hmac
import secrets
import time
from datetime import timezone
from hashlib import sha256
from typing import Callable
from urllib.parse import parse_qsl

import numpy as np
import orjson

from .amazon_render import marketplace, order_id, render_items, render_orders
from .clock import SandboxClock
from .listing import OrderFilter, OrderIndex
from .params import inclusive_bounds
from .protocol import JSON_TYPE, Request, Response, json_response
from .ratelimit import TokenBucket
from .state import INVISIBLE, visible_versions
from .store import StoreData
from .timezones import parse_timestamp

MAX_RESULTS = 100
TOKEN_LIFETIME_SECONDS = 3600
SETTLE_SECONDS = 120  # LastUpdatedBefore / CreatedBefore must be this far before now


def _errors(code: str, message: str, details: str = "") -> dict:
    return {"errors": [{"code": code, "message": message, "details": details}]}


class AmazonApi:
    def __init__(self, store: StoreData, index: OrderIndex, clock: SandboxClock, credentials: dict[str, str],
                 signing_key: bytes, orders_plan: tuple[float, int], items_plan: tuple[float, int],
                 timer: Callable[[], float] = time.monotonic) -> None:
        self.store, self.index, self.clock = store, index, clock
        self._credentials = credentials
        self._signing_key = signing_key
        self._timer = timer
        self._tokens: dict[str, float] = {}  # access token -> when it expires (monotonic)
        self.buckets = {"getOrders": TokenBucket(*orders_plan, timer=timer),
                        "getOrderItems": TokenBucket(*items_plan, timer=timer)}
        self.rates = {"getOrders": orders_plan[0], "getOrderItems": items_plan[0]}
        self.marketplace_id = marketplace(store)[0]
        self._row_of = {amazon_id: row for row, amazon_id in enumerate(order_id(store, store.ids.order))}

    # -- routing -------------------------------------------------------------------------------
    def serve(self, request: Request, endpoint: str, amazon_order_id: str | None) -> Response:
        if endpoint == "auth/o2/token":
            return self._token(request) if request.method == "POST" else json_response(405, {"error": "invalid_request"})
        operation = "getOrderItems" if amazon_order_id else "getOrders"
        if request.method != "GET":
            return self._answer(operation, 404, _errors("NotFound", "Resource not found"))
        token = request.headers.get("x-amz-access-token") or ""
        expires = self._tokens.get(token)
        if expires is None:
            return self._answer(operation, 403, _errors("Unauthorized", "Access to requested resource is denied.",
                                                        "The access token you provided is revoked, malformed or invalid."))
        if expires <= self._timer():
            return self._answer(operation, 403, _errors("Unauthorized", "Access to requested resource is denied.",
                                                        "The access token you provided has expired."))
        if not self.buckets[operation].try_call():
            return self._answer(operation, 429, _errors("QuotaExceeded", "You exceeded your quota for the requested resource."))
        if amazon_order_id:
            return self._items(amazon_order_id)
        return self._orders(request)

    def fault_response(self, kind: str, retry_after: float) -> Response:
        if kind == "expired_token":
            self.expire_tokens()
            return self._answer("getOrders", 403, _errors("Unauthorized", "Access to requested resource is denied.",
                                                          "The access token you provided has expired."))
        if kind == "429":
            return self._answer("getOrders", 429, _errors("QuotaExceeded", "You exceeded your quota for the requested resource."))
        status = int(kind) if kind in ("500", "502", "503") else 500
        return self._answer("getOrders", status, _errors("InternalFailure", "We encountered an internal error. Please try again."))

    def expire_tokens(self) -> None:
        now = self._timer()
        self._tokens = {token: min(expiry, now) for token, expiry in self._tokens.items()}

    # -- Login with Amazon ---------------------------------------------------------------------
    def _token(self, request: Request) -> Response:
        form = dict(parse_qsl(request.body.decode("utf-8", "replace")))
        if form.get("grant_type") != "refresh_token":
            return json_response(400, {"error": "unsupported_grant_type",
                                       "error_description": "The authorization grant type is not supported."})
        if not (hmac.compare_digest(form.get("client_id", ""), self._credentials["client_id"])
                and hmac.compare_digest(form.get("client_secret", ""), self._credentials["client_secret"])):
            return json_response(401, {"error": "invalid_client", "error_description": "Client authentication failed"})
        if not hmac.compare_digest(form.get("refresh_token", ""), self._credentials["refresh_token"]):
            return json_response(400, {"error": "invalid_grant",
                                       "error_description": "The request has an invalid grant parameter : refresh_token"})
        token = "Atza|" + secrets.token_urlsafe(32)
        self._tokens[token] = self._timer() + TOKEN_LIFETIME_SECONDS
        return json_response(200, {"access_token": token, "refresh_token": self._credentials["refresh_token"],
                                   "token_type": "bearer", "expires_in": TOKEN_LIFETIME_SECONDS})

    # -- Orders v0 -----------------------------------------------------------------------------
    def _orders(self, request: Request) -> Response:
        moment = self.clock.epoch_seconds()
        marketplaces = [m for m in (request.param("MarketplaceIds") or "").split(",") if m]
        if not marketplaces:
            return self._invalid("MarketplaceIds is required.")
        if self.marketplace_id not in marketplaces:
            return self._answer("getOrders", 200, {"payload": {"Orders": []}})
        next_token = request.param("NextToken")
        if next_token:
            page = self._read_token(next_token)
            if page is None:
                return self._invalid("Invalid NextToken.")
            low, high, offset, size, as_of = page
        else:
            try:
                bounds = self._window(request, moment)
            except ValueError as error:
                return self._invalid(str(error))
            size = request.param("MaxResultsPerPage")
            if size is not None and (not size.isdigit() or not 1 <= int(size) <= MAX_RESULTS):
                return self._invalid(f"MaxResultsPerPage must be between 1 and {MAX_RESULTS}.")
            (low, high), offset, size, as_of = bounds, 0, int(size or MAX_RESULTS), moment
        listing = self.index.listing(OrderFilter(updated=(low, high), sort="updated_at"), as_of)
        end = min(offset + size, len(listing.rows))
        payload = {"Orders": render_orders(self.store, listing.rows[offset:end], listing.versions[offset:end]),
                   "LastUpdatedBefore": _iso(high + 1)}
        if end < len(listing.rows):
            payload["NextToken"] = self._make_token(low, high, end, size, as_of)
        return self._answer("getOrders", 200, {"payload": payload})

    def _window(self, request: Request, moment: int) -> tuple[int, int]:
        names = request.param_names()
        if "CreatedAfter" in names and "LastUpdatedAfter" in names:
            raise ValueError("CreatedAfter and LastUpdatedAfter cannot both be specified.")
        if "LastUpdatedAfter" not in names:  # this sandbox serves the updated-time listing only
            raise ValueError("LastUpdatedAfter is required.")
        after = _instant(request, "LastUpdatedAfter")
        before = _instant(request, "LastUpdatedBefore")
        latest = moment - SETTLE_SECONDS
        if before is not None and before > latest:
            raise ValueError("LastUpdatedBefore date should be at least 2 minutes earlier than the current time.")
        if after is not None and after > latest:
            raise ValueError("LastUpdatedAfter date should be at least 2 minutes earlier than the current time.")
        return inclusive_bounds(after, latest if before is None else before, False)

    def _items(self, amazon_order_id: str) -> Response:
        row = self._row_of.get(amazon_order_id)
        version = INVISIBLE if row is None else int(visible_versions(self.store, self.clock.epoch_seconds())[row])
        if version == INVISIBLE:
            return self._answer("getOrderItems", 404, _errors("NotFound", f"Invalid AmazonOrderId: {amazon_order_id}"))
        return self._answer("getOrderItems", 200, {"payload": {
            "AmazonOrderId": amazon_order_id, "OrderItems": render_items(self.store, row, version)}})

    # -- helpers -------------------------------------------------------------------------------
    def _answer(self, operation: str, status: int, body: dict) -> Response:
        headers = [("Content-Type", JSON_TYPE), ("x-amzn-RateLimit-Limit", f"{self.rates[operation]:g}"),
                   ("x-amzn-RequestId", secrets.token_hex(16))]
        return Response(status, orjson.dumps(body), headers)

    def _invalid(self, message: str) -> Response:
        return self._answer("getOrders", 400, _errors("InvalidInput", message))

    def _make_token(self, low: int, high: int, offset: int, size: int, as_of: int) -> str:
        body = orjson.dumps([low, high, offset, size, as_of])
        signature = hmac.new(self._signing_key, body, sha256).digest()[:12]
        return base64.urlsafe_b64encode(body + signature).decode()

    def _read_token(self, token: str) -> tuple[int, int, int, int, int] | None:
        try:
            raw = base64.urlsafe_b64decode(token.encode())
        except ValueError:
            return None
        body, signature = raw[:-12], raw[-12:]
        if not hmac.compare_digest(hmac.new(self._signing_key, body, sha256).digest()[:12], signature):
            return None
        low, high, offset, size, as_of = orjson.loads(body)
        return low, high, offset, size, as_of


def _instant(request: Request, name: str) -> float | None:
    raw = request.param(name)
    if raw is None or raw == "":
        return None
    try:
        return parse_timestamp(raw, timezone.utc)
    except ValueError:
        raise ValueError(f"{name} is not a valid ISO 8601 date: {raw}") from None


def _iso(seconds: int) -> str:
    return np.datetime_as_string(np.datetime64(int(seconds), "s"), unit="s") + "Z"
