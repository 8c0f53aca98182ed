"""WooCommerce REST v3 for one site (orders, coupons, product categories, one product): auth,
parameters, page-numbered pages, headers."""

from __future__ import annotations

import base64
import binascii
import hmac
import math
import re
from datetime import timezone
from typing import Callable

import numpy as np
import orjson

from .catalogue import CATEGORY_NAMES
from .clock import SandboxClock
from .listing import OrderFilter, OrderIndex
from .params import ParamError, id_list, inclusive_bounds, instant, integer
from .protocol import JSON_TYPE, Request, Response, json_response, url_with_query
from .state import WOO_STATUSES
from .store import StoreData
from .promotion_render import category_term_id, coupon_rows, render_coupons
from .wire import slug
from .woocommerce_render import category_counts, render_orders, render_product, render_product_categories

UNAUTHORIZED = {"code": "woocommerce_rest_cannot_view", "message": "Sorry, you cannot list resources.",
                "data": {"status": 401}}
CANNOT_VIEW = {"code": "woocommerce_rest_cannot_view", "message": "Sorry, you cannot view this resource.",
               "data": {"status": 401}}
INVALID_PRODUCT_ID = {"code": "woocommerce_rest_product_invalid_id", "message": "Invalid ID.", "data": {"status": 404}}
PRODUCT_PATH = re.compile(r"products/(?P<id>\d+)")
LISTINGS = ("orders", "coupons", "products/categories")
# WordPress's term orderings; every term has term_group 0 and no description (ties go by id).
CATEGORY_ORDERBY = ("id", "include", "name", "slug", "term_group", "description", "count")
ORDERBY = {"date": "created_at", "id": "id", "include": "include", "title": "created_at", "slug": "created_at"}
# Statuses WordPress accepts but no generated order has.
OTHER_STATUSES = ("trash", "auto-draft", "checkout-draft")
MAX_PER_PAGE = 100
AUTH_PARAMS = ("consumer_key", "consumer_secret")
BAD_GATEWAY_HTML = b"<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>"
FAULT_BODIES = {
    429: {"code": "too_many_requests", "message": "Too many requests. Please try again later.", "data": {"status": 429}},
    500: {"code": "internal_server_error", "message": "<p>There has been a critical error on this website.</p>",
          "data": {"status": 500}},
    503: {"code": "service_unavailable", "message": "Briefly unavailable for scheduled maintenance. Check back in a minute.",
          "data": {"status": 503}},
}


def invalid_param(name: str, message: str) -> ParamError:
    return ParamError(json_response(400, {
        "code": "rest_invalid_param", "message": f"Invalid parameter(s): {name}",
        "data": {"status": 400, "params": {name: message}}}))


class WooCommerceApi:
    def __init__(self, store: StoreData, index: OrderIndex, clock: SandboxClock, consumer_key: str,
                 consumer_secret: str, base_url: Callable[[], str]) -> None:
        self.store = store
        self.index = index
        self.clock = clock
        self._key = consumer_key
        self._secret = consumer_secret
        self._base_url = base_url

    def _authorized(self, request: Request) -> bool:
        header = request.headers.get("Authorization") or ""
        if header.startswith("Basic "):
            try:
                key, _, secret = base64.b64decode(header[6:], validate=True).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError):
                return False
        else:
            key, secret = request.param("consumer_key") or "", request.param("consumer_secret") or ""
        return hmac.compare_digest(key, self._key) and hmac.compare_digest(secret, self._secret)

    def serve(self, request: Request, resource: str) -> Response:
        product = PRODUCT_PATH.fullmatch(resource)
        if (resource not in LISTINGS and product is None) or request.method != "GET":
            return json_response(404, {"code": "rest_no_route",
                                       "message": "No route was found matching the URL and request method.",
                                       "data": {"status": 404}})
        if not self._authorized(request):
            return json_response(401, UNAUTHORIZED if product is None else CANNOT_VIEW)
        if product is not None:
            return self._product(int(product["id"]))
        handler = {"orders": self._orders, "coupons": self._coupons, "products/categories": self._categories}[resource]
        try:
            return handler(request)
        except ParamError as error:
            return error.response

    def fault_response(self, kind: str, retry_after: float) -> Response:
        if kind == "502":
            return Response(502, BAD_GATEWAY_HTML, [("Content-Type", "text/html")])
        status = int(kind) if kind in ("429", "503") else 500
        headers = [("Retry-After", str(float(retry_after)))] if status == 429 else []
        return json_response(status, FAULT_BODIES[status], headers)

    def _bound(self, request: Request, name: str) -> float | None:
        gmt = (request.param("dates_are_gmt") or "").lower() in ("1", "true")
        try:
            return instant(request, name, timezone.utc if gmt else self.store.zone.zone)
        except ValueError:
            raise invalid_param(name, "Invalid date.") from None

    def _order_filter(self, request: Request) -> OrderFilter:
        statuses = [part.strip() for part in (request.param("status") or "any").split(",") if part.strip()]
        for position, status in enumerate(statuses):
            if status not in ("any", *WOO_STATUSES, *OTHER_STATUSES):
                allowed = ", ".join(("any", *WOO_STATUSES, *OTHER_STATUSES))
                raise invalid_param("status", f"status[{position}] is not one of {allowed}.")
        orderby, order, include = _ordering(request)
        sort = ORDERBY[orderby]
        if sort == "include" and include is None:
            sort = "id"  # WordPress orders by an empty include list as by id
        return OrderFilter(
            statuses=None if "any" in statuses else tuple(WOO_STATUSES.index(s) for s in statuses if s in WOO_STATUSES),
            updated=inclusive_bounds(self._bound(request, "modified_after"), self._bound(request, "modified_before"), True),
            created=inclusive_bounds(self._bound(request, "after"), self._bound(request, "before"), True),
            include=tuple(include) if include is not None else None,
            sort=sort, descending=order == "desc")

    def _orders(self, request: Request) -> Response:
        per_page, page = _paging(request)
        listing = self.index.listing(self._order_filter(request), self.clock.epoch_seconds())
        total = len(listing)
        pages = math.ceil(total / per_page)
        start = min((page - 1) * per_page, total)
        end = min(start + per_page, total)
        orders = render_orders(self.store, listing.rows[start:end], listing.versions[start:end])
        headers = [("Content-Type", JSON_TYPE), ("X-WP-Total", str(total)), ("X-WP-TotalPages", str(pages))]
        links = self._links(request, page, pages)
        if links:
            headers.append(("Link", links))
        return Response(200, orjson.dumps(orders), headers)

    def _coupons(self, request: Request) -> Response:
        """Coupons that exist at the clock (created by then): modified_after/before, after/before, code,
        include, orderby date|id|include|title|slug, order, page/per_page, like the orders."""
        per_page, page = _paging(request)
        orderby, order, include = _ordering(request)
        modified = inclusive_bounds(self._bound(request, "modified_after"), self._bound(request, "modified_before"), True)
        created = inclusive_bounds(self._bound(request, "after"), self._bound(request, "before"), True)
        code = (request.param("code") or "").lower()
        moment = self.clock.epoch_seconds()
        promotions = self.store.promotions.promotions
        rows = []
        for row in coupon_rows(self.store):
            promotion = promotions[row[1]]
            stamp = promotion.created_at  # created = modified: coupons are not edited here
            if stamp > moment or (code and promotion.codes[row[2]].lower() != code):
                continue
            if include is not None and row[0] not in include:
                continue
            if any(bounds is not None and not bounds[0] <= stamp <= bounds[1] for bounds in (modified, created)):
                continue
            rows.append(row)
        if orderby == "include" and include is not None:
            rows.sort(key=lambda row: include.index(row[0]))
        elif orderby in ("title", "slug"):
            rows.sort(key=lambda row: (promotions[row[1]].codes[row[2]].lower(), row[0]))
        elif orderby == "date":
            rows.sort(key=lambda row: (promotions[row[1]].created_at, row[0]))
        if order == "desc":
            rows.reverse()
        total = len(rows)
        pages = math.ceil(total / per_page)
        start = min((page - 1) * per_page, total)
        coupons = render_coupons(self.store, rows[start:start + per_page], moment)
        headers = [("Content-Type", JSON_TYPE), ("X-WP-Total", str(total)), ("X-WP-TotalPages", str(pages))]
        links = self._links(request, page, pages, "coupons")
        if links:
            headers.append(("Link", links))
        return Response(200, orjson.dumps(coupons), headers)

    def _categories(self, request: Request) -> Response:
        """The product_cat terms, as WordPress lists terms: orderby name asc by default; include, exclude,
        search (in name or slug), slug (comma list), parent, hide_empty; page/per_page like the orders."""
        per_page, page = _paging(request)
        orderby = request.param("orderby") or "name"
        if orderby not in CATEGORY_ORDERBY:
            raise invalid_param("orderby", "orderby is not one of id, include, name, slug, term_group, description, "
                                           "and count.")
        order = request.param("order") or "asc"
        if order not in ("asc", "desc"):
            raise invalid_param("order", "order is not one of asc and desc.")
        include, exclude = _ids(request, "include"), _ids(request, "exclude")
        parent = integer(request, "parent", -1, 0, None)
        if parent is None:
            raise invalid_param("parent", "parent is not of type integer.")
        hide_empty = _flag(request, "hide_empty")
        search = (request.param("search") or "").lower()
        slugs = {part.strip() for part in (request.param("slug") or "").split(",") if part.strip()}
        counts = category_counts(self.store, self.clock.epoch_seconds())
        rows = [category for category, name in enumerate(CATEGORY_NAMES)
                if (include is None or category_term_id(category) in include)
                and (exclude is None or category_term_id(category) not in exclude)
                and (not slugs or slug(name) in slugs)
                and (search in name.lower() or search in slug(name))
                and parent <= 0  # every term is top-level: parent=0 lists them all, another parent none
                and not (hide_empty and counts[category] == 0)]
        keys = {"name": lambda c: CATEGORY_NAMES[c].lower(), "slug": lambda c: slug(CATEGORY_NAMES[c]),
                "count": lambda c: int(counts[c])}
        if orderby == "include" and include is not None:
            rows.sort(key=lambda c: include.index(category_term_id(c)))
        elif orderby in keys or orderby == "include":  # WordPress orders by name when include is empty
            key = keys.get(orderby, keys["name"])
            rows.sort(key=lambda c: (key(c), c))
        if order == "desc":
            rows.reverse()
        total = len(rows)
        pages = math.ceil(total / per_page)
        start = min((page - 1) * per_page, total)
        categories = render_product_categories(rows[start:start + per_page], counts)
        headers = [("Content-Type", JSON_TYPE), ("X-WP-Total", str(total)), ("X-WP-TotalPages", str(pages))]
        links = self._links(request, page, pages, "products/categories")
        if links:
            headers.append(("Link", links))
        return Response(200, orjson.dumps(categories), headers)

    def _product(self, post_id: int) -> Response:
        """Product or variation `post_id` (the ids orders and coupons name); 404 until it is listed."""
        catalogue, ids = self.store.catalogue, self.store.ids
        products = np.flatnonzero(ids.product == post_id)
        variations = np.flatnonzero(ids.variant == post_id) if post_id > 0 else products[:0]
        if len(products):
            product, sku = int(products[0]), -1
        elif len(variations):
            sku = int(variations[0])
            product = int(catalogue.product[sku])
        else:
            return json_response(404, INVALID_PRODUCT_ID)
        moment = self.clock.epoch_seconds()
        if catalogue.product_created[product] > moment:
            return json_response(404, INVALID_PRODUCT_ID)
        return json_response(200, render_product(self.store, product, sku, moment))

    def _api_base(self) -> str:
        return f"{self._base_url()}/woocommerce/{self.store.name}/wp-json/wc/v3"

    def _links(self, request: Request, page: int, pages: int, resource: str = "orders") -> str:
        """WordPress keeps the request's parameters and swaps `page` (credentials left out)."""
        base = f"{self._api_base()}/{resource}"
        kept = [(name, value) for name, value in request.query if name not in ("page", *AUTH_PARAMS)]
        links = []
        if page > 1 and pages > 0:  # past the end, "prev" points at the last page, as WordPress does
            links.append(f'<{url_with_query(base, kept + [("page", str(min(page - 1, pages)))])}>; rel="prev"')
        if page < pages:
            links.append(f'<{url_with_query(base, kept + [("page", str(page + 1))])}>; rel="next"')
        return ", ".join(links)


def _paging(request: Request) -> tuple[int, int]:
    """per_page and page, refused as WordPress refuses them."""
    per_page = integer(request, "per_page", 10, 1, MAX_PER_PAGE)
    if per_page is None:
        raise invalid_param("per_page", f"per_page must be between 1 (inclusive) and {MAX_PER_PAGE} (inclusive)")
    page = integer(request, "page", 1, 1, None)
    if page is None:
        raise invalid_param("page", "page must be greater than or equal to 1 (inclusive)")
    return per_page, page


def _ordering(request: Request) -> tuple[str, str, list[int] | None]:
    """orderby, order and include of a listing (orders, coupons), refused as WordPress refuses them."""
    orderby = request.param("orderby") or "date"
    if orderby not in ORDERBY:
        raise invalid_param("orderby", "orderby is not one of date, id, include, title, and slug.")
    order = request.param("order") or "desc"
    if order not in ("asc", "desc"):
        raise invalid_param("order", "order is not one of asc and desc.")
    return orderby, order, _ids(request, "include")


def _ids(request: Request, name: str) -> list[int] | None:
    """An id-list parameter (include, exclude), refused as WordPress refuses it."""
    try:
        return id_list(request.param(name))
    except ValueError:
        raise invalid_param(name, f"{name}[0] is not of type integer.") from None


def _flag(request: Request, name: str) -> bool:
    """A boolean parameter as the REST API reads one."""
    raw = (request.param(name) or "false").lower()
    if raw not in ("true", "false", "1", "0"):
        raise invalid_param(name, f"{name} is not of type boolean.")
    return raw in ("true", "1")
