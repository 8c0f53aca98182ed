"""Routing: which store and platform a request is for, faults, stats, and the /_sandbox controls."""

from __future__ import annotations

import re
import time
from datetime import datetime, timedelta
from functools import partial
from typing import Callable

import orjson

from .clock import SandboxClock
from .amazon import AmazonApi
from .config import SandboxConfig
from .credentials import cursor_signing_key, store_secrets
from .faults import FaultBoard
from .generator import World
from .listing import OrderIndex
from .notifications import CHANNEL, NotificationSink
from .protocol import Request, Response, json_response
from .ratelimit import LeakyBucket
from .services import SupportServices
from .shopify import ShopifyApi
from .stats import RequestStats
from .stock_exports import StockBook
from .woocommerce import WooCommerceApi

SHOPIFY_PATH = re.compile(r"/shopify/(?P<store>[a-z0-9-]+)/admin/api/(?P<version>\d{4}-\d{2})/(?P<endpoint>[a-z_]+(?:/\d+/[a-z_]+)?\.json)")
AMAZON_PATH = re.compile(r"/amazon/(?P<store>[a-z0-9-]+)/(?P<endpoint>auth/o2/token|orders/v0/orders(?:/(?P<order>[0-9-]+)/orderItems)?)")
WOOCOMMERCE_PATH = re.compile(r"/woocommerce/(?P<store>[a-z0-9-]+)/wp-json/wc/v3/(?P<resource>[a-z0-9_/-]+)")
NOT_FOUND = {"errors": "Not Found"}


class SandboxApp:
    def __init__(self, config: SandboxConfig, world: World, clock: SandboxClock, faults: FaultBoard,
                 stats: RequestStats, base_url: Callable[[], str],
                 notifications: NotificationSink | None = None, stock: StockBook | None = None,
                 services: SupportServices | None = None) -> None:
        self.clock = clock
        self.services = services  # the support desk, SMS, survey provider (services.py)
        self.faults = faults
        self.stats = stats
        self.notifications = notifications if notifications is not None else NotificationSink()
        stock = stock if stock is not None else StockBook(config, world)
        self.shopify: dict[str, ShopifyApi] = {}
        self.woocommerce: dict[str, WooCommerceApi] = {}
        self.amazon: dict[str, AmazonApi] = {}
        for store_config in config.stores:
            store = world.stores[store_config.name]
            secrets = store_secrets(config.seed, store_config)
            index = OrderIndex(store)
            if store_config.kind == "shopify":
                bucket = LeakyBucket(config.rate_limit_bucket, config.rate_limit_leak_per_second)
                self.shopify[store.name] = ShopifyApi(store, index, clock, bucket, secrets["access_token"],
                                                      cursor_signing_key(config.seed, store_config), base_url,
                                                      partial(stock.levels_at, store.name))
            elif store_config.kind == "amazon":
                self.amazon[store.name] = AmazonApi(
                    store, index, clock, secrets, cursor_signing_key(config.seed, store_config),
                    (config.amazon_orders_rate, config.amazon_orders_burst),
                    (config.amazon_items_rate, config.amazon_items_burst))
            else:
                self.woocommerce[store.name] = WooCommerceApi(store, index, clock, secrets["consumer_key"],
                                                              secrets["consumer_secret"], base_url)

    def dispatch(self, request: Request) -> Response:
        # Controls first: faults and stats are for the stores' APIs, never for the sandbox's own paths.
        if request.path.startswith("/_sandbox/"):
            return self._control(request)
        route = self._route(request)
        if route is None:
            return json_response(404, NOT_FOUND)
        store, endpoint, serve, fail = route
        response = self._with_fault(store, request, serve, fail)
        self.stats.record(store, endpoint, response.status)
        return response

    def _route(self, request: Request) -> tuple[str, str, Callable[[], Response], Callable[[str, float], Response]] | None:
        """(store, endpoint, answer the request, answer with a fault) for a store's URL."""
        match = SHOPIFY_PATH.fullmatch(request.path)
        if match and match["store"] in self.shopify:
            shopify, version, endpoint = self.shopify[match["store"]], match["version"], match["endpoint"]
            return (match["store"], endpoint, partial(shopify.serve, request, version, endpoint),
                    partial(shopify.fault_response, version=version))
        match = WOOCOMMERCE_PATH.fullmatch(request.path)
        if match and match["store"] in self.woocommerce:
            woocommerce, resource = self.woocommerce[match["store"]], match["resource"]
            return match["store"], resource, partial(woocommerce.serve, request, resource), woocommerce.fault_response
        match = AMAZON_PATH.fullmatch(request.path)
        if match and match["store"] in self.amazon:
            amazon, endpoint = self.amazon[match["store"]], match["endpoint"]
            operation = "token" if endpoint == "auth/o2/token" else "getOrderItems" if match["order"] else "getOrders"
            return match["store"], operation, partial(amazon.serve, request, endpoint, match["order"]), amazon.fault_response
        return self.services.route(request) if self.services is not None else None

    def _with_fault(self, store: str, request: Request, serve: Callable[[], Response],
                    fail: Callable[[str, float], Response]) -> Response:
        carries_cursor = any(request.param(name) is not None for name in ("page_info", "cursor", "page_token", "NextToken"))
        fault = self.faults.take(store, carries_cursor=carries_cursor)
        if fault is None:
            return serve()
        if fault.kind == "slow":
            time.sleep(fault.options["delay"])
            return serve()
        if fault.kind == "truncate":
            response = serve()
            response.truncate = True
            return response
        return fail(fault.kind, fault.options.get("retry_after", 1.0))

    # -- /_sandbox controls -------------------------------------------------------------------
    def _control(self, request: Request) -> Response:
        name = request.path.removeprefix("/_sandbox/").strip("/")
        if name == "notifications" or name.startswith("notifications/"):
            return self._notifications(request, name.removeprefix("notifications").lstrip("/"))
        try:
            body = orjson.loads(request.body) if request.body else {}
            if not isinstance(body, dict):
                raise ValueError("the body must be a JSON object")
            if name == "faults":
                return self._faults(request.method, body)
            if name == "clock":
                return self._clock(request.method, body)
            if name == "stats" and request.method == "GET":
                return json_response(200, self.stats.snapshot())
        except (ValueError, TypeError) as error:  # orjson.JSONDecodeError is a ValueError
            return json_response(400, {"error": str(error)})
        return json_response(404, NOT_FOUND)

    def _faults(self, method: str, body: dict) -> Response:
        if method == "DELETE" or (method == "POST" and body.get("clear")):
            self.faults.clear()
        elif method == "POST":
            fields = dict(body)
            store, kind = fields.pop("store", None), fields.pop("kind", None)
            if not isinstance(store, str) or not isinstance(kind, str):
                raise ValueError("a fault needs a 'store' and a 'kind'")
            self.faults.arm(store, kind, **fields)
        elif method != "GET":
            raise ValueError(f"{method} is not supported on /_sandbox/faults")
        return json_response(200, {"armed": self.faults.armed()})

    def _clock(self, method: str, body: dict) -> Response:
        if method == "POST":
            if "now" in body:
                self.clock.set(datetime.fromisoformat(str(body["now"])))  # naive = UTC
            elif "advance_seconds" in body:
                self.clock.advance(timedelta(seconds=float(body["advance_seconds"])))
            else:
                raise ValueError("send {'now': '<iso>'} or {'advance_seconds': n}")
        elif method != "GET":
            raise ValueError(f"{method} is not supported on /_sandbox/clock")
        return json_response(200, {"now": self.clock.now().isoformat()})

    def _notifications(self, request: Request, channel: str) -> Response:
        """POST …/notifications/<channel> records any body; GET …/notifications lists, DELETE clears."""
        if channel:
            if not CHANNEL.fullmatch(channel):
                return json_response(404, NOT_FOUND)
            if request.method != "POST":
                return json_response(400, {"error": f"{request.method} is not supported on "
                                                    "/_sandbox/notifications/<channel>: POST to it"})
            count = self.notifications.receive(channel, request.headers.get("Content-Type") or "", request.body)
            return json_response(200, {"received": count})
        if request.method == "GET":
            return json_response(200, self.notifications.received(request.param("channel") or None))
        if request.method == "DELETE":
            return json_response(200, {"cleared": self.notifications.clear()})
        return json_response(400, {"error": f"{request.method} is not supported on /_sandbox/notifications; "
                                            "POST to /_sandbox/notifications/<channel>"})
