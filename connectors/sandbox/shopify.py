"""Shopify Admin REST for one shop: auth, the leaky bucket, parameters, cursor pages, endpoints."""

from __future__ import annotations

import re
from functools import partial
from typing import Callable

import numpy as np
import orjson

from .catalogue import CATEGORY_NAMES
from .clock import SandboxClock
from .cursor import InvalidCursor, decode_cursor, encode_cursor
from .listing import Listing, OrderFilter, OrderIndex
from .params import ParamError, id_list, inclusive_bounds, instant, integer
from .protocol import JSON_TYPE, Request, Response, json_response, url_with_query
from .ratelimit import LeakyBucket
from .promotion_render import collection_id, price_rule_rows, render_discount_codes, render_price_rules
from .shopify_render import (collections_published_at, event_ids, product_updated_at, render_custom_collections,
                             render_deletion_events, render_inventory_items, render_inventory_levels,
                             render_locations, render_orders, render_products)
from .wire import slug
from .state import SHOPIFY_STATUSES
from .store import StoreData

UNAUTHORIZED = {"errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"}
THROTTLED = {"errors": "Exceeded 2 calls per second for api client. Reduce request rates to resume uninterrupted service."}
INVALID_PAGE_INFO = {"errors": {"page_info": "Invalid value."}}
ORDERINGS = {
    "updated_at asc": ("updated_at", False), "updated_at desc": ("updated_at", True),
    "created_at asc": ("created_at", False), "created_at desc": ("created_at", True),
    "id asc": ("id", False), "id desc": ("id", True),
}
CURSOR_COMPANIONS = ("page_info", "limit", "fields")
DISCOUNT_CODES_PATH = re.compile(r"price_rules/(?P<rule>\d+)/discount_codes\.json")
PRICE_RULE_BOUNDS = ("updated_at", "created_at", "starts_at", "ends_at")
MAX_LIMIT = 250
MAX_INVENTORY_ITEM_IDS = 100
BAD_GATEWAY_HTML = b"<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>"


class ShopifyApi:
    def __init__(self, store: StoreData, index: OrderIndex, clock: SandboxClock, bucket: LeakyBucket,
                 access_token: str, signing_key: bytes, base_url: Callable[[], str],
                 levels_at: Callable[[int], np.ndarray]) -> None:
        self.store = store
        self.levels_at = levels_at  # (skus, 2) stock per location at a moment
        self.index = index
        self.clock = clock
        self.bucket = bucket
        self._access_token = access_token
        self._signing_key = signing_key
        self._base_url = base_url
        self._endpoints = {
            "orders.json": self._orders,
            "products.json": self._products,
            "inventory_items.json": self._inventory_items,
            "locations.json": self._locations,
            "inventory_levels.json": self._inventory_levels,
            "price_rules.json": self._price_rules,
            "custom_collections.json": self._custom_collections,
            "events.json": self._events,
        }

    # -- the request pipeline ----------------------------------------------------------------
    def serve(self, request: Request, version: str, endpoint: str) -> Response:
        if request.headers.get("X-Shopify-Access-Token") != self._access_token:
            return self._respond(json_response(401, UNAUTHORIZED), version, self.bucket.level())
        accepted, level = self.bucket.try_call()
        if not accepted:
            return self._respond(json_response(429, THROTTLED, [("Retry-After", "1.0")]), version, level)
        handler = self._endpoints.get(endpoint)
        nested = DISCOUNT_CODES_PATH.fullmatch(endpoint)
        if nested:
            handler = partial(self._discount_codes, int(nested["rule"]))
        if handler is None or request.method != "GET":
            return self._respond(json_response(404, {"errors": "Not Found"}), version, level)
        try:
            response = handler(request, version, endpoint)
        except ParamError as error:
            response = error.response
        return self._respond(response, version, level)

    def _respond(self, response: Response, version: str, level: int) -> Response:
        response.headers += [("X-Shopify-API-Version", version),
                             ("X-Shopify-Shop-Api-Call-Limit", f"{level}/{self.bucket.capacity}")]
        return response

    def fault_response(self, kind: str, retry_after: float, version: str) -> Response:
        """What a fault looks like from this platform (the kinds that replace the answer)."""
        if kind == "429":
            response = json_response(429, THROTTLED, [("Retry-After", str(float(retry_after)))])
        elif kind == "502":
            response = Response(502, BAD_GATEWAY_HTML, [("Content-Type", "text/html")])
        elif kind == "503":
            response = json_response(503, {"errors": "Service Unavailable"})
        elif kind == "expired_cursor":
            response = json_response(400, INVALID_PAGE_INFO)
        else:
            response = json_response(500, {"errors": "Internal Server Error"})
        return self._respond(response, version, self.bucket.level())

    # -- cursors ------------------------------------------------------------------------------
    def _cursor_payload(self, request: Request, endpoint: str) -> dict | None:
        token = request.param("page_info")
        if token is None:
            return None
        for name in request.param_names():
            if name not in CURSOR_COMPANIONS:
                raise ParamError(json_response(400, {"errors": f"{name} cannot be passed when page_info is present."}))
        try:
            payload = decode_cursor(token, self._signing_key)
        except InvalidCursor:
            payload = {}
        if payload.get("endpoint") != endpoint or payload.get("store") != self.store.name:
            raise ParamError(json_response(400, INVALID_PAGE_INFO))
        return payload

    def _paged(self, request: Request, version: str, endpoint: str, listing: Listing, limit: int,
               payload: dict | None, filters: list) -> tuple[int, int, list[tuple[str, str]]]:
        """Rows [start, end) of the listing for this request, and the link header if any."""
        if payload is None:
            start, end = 0, min(limit, len(listing))
        elif payload["direction"] == "next":
            key, tie, copy = payload["key"]
            start = listing.position(key, tie, copy + 1)
            end = min(start + limit, len(listing))
        else:
            end = listing.position(*payload["key"])
            start = max(0, end - limit)
        links = []
        base = f"{self._base_url()}/shopify/{self.store.name}/admin/api/{version}/{endpoint}"
        fields = request.param("fields")
        for rel, direction, row, wanted in (("previous", "prev", start, payload is not None and start > 0),
                                            ("next", "next", end - 1, end < len(listing))):
            if not wanted:
                continue
            token = encode_cursor({"store": self.store.name, "endpoint": endpoint, "filters": filters,
                                   "key": list(listing.row_key(row)), "direction": direction}, self._signing_key)
            params = [("limit", str(limit))] + ([("fields", fields)] if fields else []) + [("page_info", token)]
            links.append(f'<{url_with_query(base, params)}>; rel="{rel}"')
        return start, end, ([("link", ", ".join(links))] if links else [])

    def _limit(self, request: Request) -> int:
        limit = integer(request, "limit", 50, 1, MAX_LIMIT)
        if limit is None:
            raise ParamError(json_response(400, {"errors": {"limit": [f"must be between 1 and {MAX_LIMIT}"]}}))
        return limit

    @staticmethod
    def _since_id(request: Request) -> int:
        since = integer(request, "since_id", 0, 0, None)
        if since is None:
            raise ParamError(json_response(400, {"errors": {"since_id": ["must be an integer"]}}))
        return since

    def _bound(self, request: Request, name: str) -> float | None:
        try:
            return instant(request, name, self.store.zone.zone)  # naive = shop-local
        except ValueError:
            raise ParamError(json_response(400, {"errors": {name: ["is not a valid ISO 8601 date"]}})) from None

    @staticmethod
    def _body(key: str, records: list[dict], request: Request, headers: list[tuple[str, str]]) -> Response:
        fields = request.param("fields")
        if fields:
            wanted = [name.strip() for name in fields.split(",") if name.strip()]
            records = [{name: record[name] for name in wanted if name in record} for record in records]
        return Response(200, orjson.dumps({key: records}), [("Content-Type", JSON_TYPE), *headers])

    # -- endpoints ----------------------------------------------------------------------------
    def _orders(self, request: Request, version: str, endpoint: str) -> Response:
        payload = self._cursor_payload(request, endpoint)
        limit = self._limit(request)
        if payload is None:
            order_filter = self._order_filter(request)
        else:
            statuses, updated, created, sort, descending = payload["filters"]
            order_filter = OrderFilter(
                statuses=tuple(statuses) if statuses is not None else None,
                updated=tuple(updated) if updated is not None else None,
                created=tuple(created) if created is not None else None,
                sort=sort, descending=descending)
        filters = [order_filter.statuses, order_filter.updated, order_filter.created, order_filter.sort,
                   order_filter.descending]
        listing = self.index.listing(order_filter, self.clock.epoch_seconds())
        start, end, link = self._paged(request, version, endpoint, listing, limit, payload, filters)
        orders = render_orders(self.store, listing.rows[start:end], listing.versions[start:end])
        return self._body("orders", orders, request, link)

    def _events(self, request: Request, version: str, endpoint: str) -> Response:
        """Events of the shop; the only kind this sandbox has is an order deleted by the merchant
        (`filter=Order`, `verb=destroy`), with created_at_min/max, limit and page_info."""
        payload = self._cursor_payload(request, endpoint)
        limit = self._limit(request)
        if payload is None:
            subjects = {s.strip() for s in (request.param("filter") or "").split(",") if s.strip()}
            verb = request.param("verb")
            wanted = (not subjects or "Order" in subjects) and verb in (None, "", "destroy")
            created = inclusive_bounds(self._bound(request, "created_at_min"), self._bound(request, "created_at_max"), False)
        else:
            created, wanted = payload["filters"]
        deleted = self.store.deleted_at
        rows = np.flatnonzero(deleted <= self.clock.epoch_seconds()) if wanted else np.array([], dtype=np.int64)
        if created is not None:
            rows = rows[(deleted[rows] >= created[0]) & (deleted[rows] <= created[1])]
        ids = event_ids(rows)
        listing = Listing.sorted_by(rows, ids, ids)
        start, end, link = self._paged(request, version, endpoint, listing, limit, payload, [created, wanted])
        return self._body("events", render_deletion_events(self.store, listing.rows[start:end]), request, link)

    def _order_filter(self, request: Request) -> OrderFilter:
        status = request.param("status") or "open"
        if status not in (*SHOPIFY_STATUSES, "any"):
            raise ParamError(json_response(400, {"errors": {"status": ["is not included in the list"]}}))
        ordering = request.param("order") or "id desc"
        if ordering not in ORDERINGS:
            raise ParamError(json_response(400, {"errors": {"order": ["is not included in the list"]}}))
        sort, descending = ORDERINGS[ordering]
        return OrderFilter(
            statuses=None if status == "any" else (SHOPIFY_STATUSES.index(status),),
            updated=inclusive_bounds(self._bound(request, "updated_at_min"), self._bound(request, "updated_at_max"), False),
            created=inclusive_bounds(self._bound(request, "created_at_min"), self._bound(request, "created_at_max"), False),
            sort=sort, descending=descending)

    def _products(self, request: Request, version: str, endpoint: str) -> Response:
        payload = self._cursor_payload(request, endpoint)
        limit = self._limit(request)
        if payload is None:
            try:
                ids = id_list(request.param("ids"))
            except ValueError:
                raise ParamError(json_response(400, {"errors": {"ids": ["must be a comma-separated list of ids"]}})) from None
            updated = inclusive_bounds(self._bound(request, "updated_at_min"), self._bound(request, "updated_at_max"), False)
        else:
            updated, ids = payload["filters"]
        moment = self.clock.epoch_seconds()
        catalogue, product_ids = self.store.catalogue, self.store.ids.product
        products = np.flatnonzero(catalogue.product_created <= moment)  # not listed before it exists
        if updated is not None:
            shown = product_updated_at(self.store, products, moment)
            products = products[(shown >= updated[0]) & (shown <= updated[1])]
        if ids is not None:
            products = products[np.isin(product_ids[products], ids)]
        listing = Listing.sorted_by(products, product_ids[products], product_ids[products])
        start, end, link = self._paged(request, version, endpoint, listing, limit, payload, [updated, ids])
        return self._body("products", render_products(self.store, listing.rows[start:end], moment,
                                                      self.levels_at(moment)), request, link)

    def _inventory_items(self, request: Request, version: str, endpoint: str) -> Response:
        try:
            ids = id_list(request.param("ids"))
        except ValueError:
            ids = None
        if not ids or len(ids) > MAX_INVENTORY_ITEM_IDS:
            raise ParamError(json_response(
                400, {"errors": {"ids": [f"must be a list of 1 to {MAX_INVENTORY_ITEM_IDS} inventory item ids"]}}))
        items = self.store.ids.inventory_item
        moment = self.clock.epoch_seconds()
        skus = np.flatnonzero(np.isin(items, ids) &
                              (self.store.catalogue.product_created[self.store.catalogue.product] <= moment))
        return self._body("inventory_items", render_inventory_items(self.store, skus[np.argsort(items[skus])]),
                          request, [])

    def _locations(self, request: Request, version: str, endpoint: str) -> Response:
        return self._body("locations", render_locations(self.store), request, [])

    def _inventory_levels(self, request: Request, version: str, endpoint: str) -> Response:
        payload = self._cursor_payload(request, endpoint)
        limit = self._limit(request)
        if payload is None:
            try:
                location_ids = id_list(request.param("location_ids"))
                item_ids = id_list(request.param("inventory_item_ids"))
            except ValueError:
                location_ids = item_ids = None
            if location_ids is None and item_ids is None:
                raise ParamError(json_response(
                    400, {"errors": {"base": ["location_ids or inventory_item_ids must be given"]}}))
            updated_min = self._bound(request, "updated_at_min")
            filters = [location_ids, item_ids, None if updated_min is None else inclusive_bounds(updated_min, None, False)[0]]
        else:
            filters = payload["filters"]
        location_ids, item_ids, updated_min = filters
        store, moment = self.store, self.clock.epoch_seconds()
        inventory, catalogue = store.inventory, store.catalogue
        sku, location = np.divmod(np.arange(catalogue.size * 2), 2)
        keep = catalogue.product_created[catalogue.product[sku]] <= moment
        if location_ids is not None:
            keep &= np.isin(inventory.location_id[location], location_ids)
        if item_ids is not None:
            keep &= np.isin(store.ids.inventory_item[sku], item_ids)
        updated_at = np.minimum(inventory.updated_at, moment)
        if updated_min is not None:
            keep &= updated_at[sku, location] >= updated_min
        pairs = np.flatnonzero(keep)
        listing = Listing.sorted_by(pairs, store.ids.inventory_item[sku[pairs]], inventory.location_id[location[pairs]])
        start, end, link = self._paged(request, version, endpoint, listing, limit, payload, filters)
        shown = listing.rows[start:end]
        levels = render_inventory_levels(store, sku[shown], location[shown], self.levels_at(moment), updated_at)
        return self._body("inventory_levels", levels, request, link)

    def _custom_collections(self, request: Request, version: str, endpoint: str) -> Response:
        """The category collections, by id: since_id, ids, title (any case) and handle filter, as Shopify's do."""
        payload = self._cursor_payload(request, endpoint)
        limit = self._limit(request)
        if payload is None:
            try:
                ids = id_list(request.param("ids"))
            except ValueError:
                raise ParamError(json_response(400, {"errors": {"ids": ["must be a comma-separated list of ids"]}})) from None
            filters = [self._since_id(request), ids, (request.param("title") or "").lower() or None,
                       request.param("handle") or None]
        else:
            filters = payload["filters"]
        since, ids, title, handle = filters
        categories = np.arange(len(CATEGORY_NAMES))
        collection_ids = collection_id(categories)
        keep = (collection_ids > since) & (collections_published_at(self.store) <= self.clock.epoch_seconds())
        if ids is not None:
            keep &= np.isin(collection_ids, ids)
        if title is not None:
            keep &= np.array([name.lower() == title for name in CATEGORY_NAMES])
        if handle is not None:
            keep &= np.array([slug(name) == handle for name in CATEGORY_NAMES])
        listing = Listing.sorted_by(categories[keep], collection_ids[keep], collection_ids[keep])
        start, end, link = self._paged(request, version, endpoint, listing, limit, payload, filters)
        return self._body("custom_collections", render_custom_collections(self.store, listing.rows[start:end]),
                          request, link)

    # -- promotions ---------------------------------------------------------------------------
    def _rules_at(self, moment: int) -> list[tuple[int, int, int]]:
        """Price rules that exist at `moment` (created by then), by id."""
        promotions = self.store.promotions.promotions
        return [row for row in price_rule_rows(self.store) if promotions[row[1]].created_at <= moment]

    def _price_rules(self, request: Request, version: str, endpoint: str) -> Response:
        payload = self._cursor_payload(request, endpoint)
        limit = self._limit(request)
        if payload is None:
            filters = [inclusive_bounds(self._bound(request, f"{name}_min"), self._bound(request, f"{name}_max"), False)
                       for name in PRICE_RULE_BOUNDS]
            filters.append(self._since_id(request))
        else:
            filters = payload["filters"]
        moment = self.clock.epoch_seconds()
        promotions = self.store.promotions.promotions
        rows = []
        for row in self._rules_at(moment):
            promotion = promotions[row[1]]
            moments = (promotion.created_at, promotion.created_at, promotion.start,
                       None if promotion.origin == "welcome" else promotion.end)
            if row[0] <= filters[-1]:
                continue
            if any(bounds is not None and (value is None or not bounds[0] <= value <= bounds[1])
                   for bounds, value in zip(filters[:-1], moments)):
                continue
            rows.append(row)
        rule_ids = np.array([row[0] for row in rows], dtype=np.int64)
        listing = Listing.sorted_by(np.arange(len(rows)), rule_ids, rule_ids)
        start, end, link = self._paged(request, version, endpoint, listing, limit, payload, filters)
        shown = [rows[i] for i in listing.rows[start:end].tolist()]
        return self._body("price_rules", render_price_rules(self.store, shown), request, link)

    def _discount_codes(self, rule_id: int, request: Request, version: str, endpoint: str) -> Response:
        moment = self.clock.epoch_seconds()
        for row in self._rules_at(moment):
            if row[0] == rule_id:
                self._limit(request)
                return self._body("discount_codes", render_discount_codes(self.store, row[1], row[2], moment),
                                  request, [])
        return json_response(404, {"errors": "Not Found"})
