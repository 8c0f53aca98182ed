"""One competitor website as an HTTP app: robots.txt, product pages, politeness rules, faults, a log.

In the order a request meets them: an armed fault (sb.faults, like a store's), the per-client
rate limit (a client is its User-Agent: on loopback every client has the same address), the
method, robots.txt (a static file: never slow or flaky), then a product page: the flaky backend
(the n-th product request fails if the site's 503 pattern says so), the latency, and the
conditional request (304 when the client's ETag or date is still current).
"""

from __future__ import annotations

import email.utils
import hashlib
import math
import threading
import time
from urllib.parse import urlencode

from .clock import SandboxClock
from .competitor_market import FLAKY_CYCLE, SiteData
from .competitor_pages import HTML_TYPE, error_page, home_page, page_view, render_page, robots_txt
from .faults import FaultBoard
from .protocol import Request, Response
from .ratelimit import LeakyBucket

DAY = 86_400
REASONS = {404: "Not Found", 405: "Method Not Allowed", 429: "Too Many Requests", 500: "Internal Server Error",
           502: "Bad Gateway", 503: "Service Unavailable"}


def _html(status: int, headers: list[tuple[str, str]] | None = None) -> Response:
    return Response(status, error_page(status, REASONS[status]), [("Content-Type", HTML_TYPE), *(headers or [])])


def _seconds(value: float) -> str:
    """Retry-After in whole seconds where it is whole ("1"), else as given ("0.05")."""
    return f"{value:g}"


class CompetitorSite:
    def __init__(self, data: SiteData, clock: SandboxClock, faults: FaultBoard) -> None:
        self.data = data
        self.config = data.config
        self.clock = clock
        self.faults = faults
        self.server_header = self.config.server
        self._robots = robots_txt(self.config)
        self._lock = threading.Lock()
        self._log: list[dict] = []
        self._product_requests = 0
        self._buckets: dict[str, LeakyBucket] = {}

    # -- the request log ----------------------------------------------------------------------
    def requests(self) -> list[dict]:
        with self._lock:
            return [dict(entry) for entry in self._log]

    def dispatch(self, request: Request) -> Response:
        arrived = time.monotonic()
        conditional = bool(request.headers.get("If-None-Match") or request.headers.get("If-Modified-Since"))
        response = self._answer(request)
        path = request.path + (f"?{urlencode(request.query)}" if request.query else "")
        with self._lock:
            self._log.append({"time": arrived, "method": request.method, "path": path,
                              "user_agent": request.headers.get("User-Agent") or "",
                              "status": response.status, "conditional": conditional})
        return response

    # -- the pipeline -------------------------------------------------------------------------
    def _answer(self, request: Request) -> Response:
        fault = self.faults.take(self.config.name, carries_cursor=False)
        if fault is not None and fault.kind == "slow":
            time.sleep(fault.options["delay"])
        elif fault is not None and fault.kind != "truncate":
            retry = [("Retry-After", _seconds(fault.options["retry_after"]))] if fault.kind == "429" else []
            return _html(int(fault.kind), retry)
        limited = self._rate_limited(request.headers.get("User-Agent") or "")
        if limited is not None:
            return limited
        response = self._serve(request)
        if fault is not None and fault.kind == "truncate":
            response.truncate = True
        return response

    def _rate_limited(self, client: str) -> Response | None:
        rate = self.config.rate_limit_per_second
        if rate is None:
            return None
        with self._lock:
            bucket = self._buckets.setdefault(client, LeakyBucket(max(1, math.floor(rate)), rate))
        accepted, _ = bucket.try_call()
        if accepted:
            return None
        # The bucket is full: one call drains away within 1/rate seconds.
        return _html(429, [("Retry-After", str(math.ceil(1.0 / rate)))])

    def _serve(self, request: Request) -> Response:
        if request.method not in ("GET", "HEAD"):
            return _html(405, [("Allow", "GET, HEAD")])
        if request.path == "/robots.txt":
            if self._robots is None:
                return _html(404)
            return Response(200, self._robots.encode(), [("Content-Type", "text/plain; charset=utf-8")])
        if request.path == "/":
            return Response(200, home_page(self.config), [("Content-Type", HTML_TYPE)])
        page = self.data.path_index.get(request.path)
        if page is None:
            return _html(404)
        if self._flaky():
            return _html(503)
        if self.config.latency_seconds:
            time.sleep(self.config.latency_seconds)
        return self._product(request, page)

    def _flaky(self) -> bool:
        with self._lock:
            count = self._product_requests
            self._product_requests += 1
        return bool(self.data.flaky[count % FLAKY_CYCLE])

    def _product(self, request: Request, page: int) -> Response:
        now = self.clock.epoch_seconds()
        day = self.data.day_index(now)
        body = render_page(page_view(self.data, page, day))
        headers = [("Content-Type", HTML_TYPE)]
        etag = last_modified = None
        if self.config.etag:
            digest = hashlib.blake2b(body, digest_size=10).hexdigest()
            etag = f'W/"{digest}"' if self.config.etag == "weak" else f'"{digest}"'
            headers.append(("ETag", etag))
        if self.config.last_modified:
            last_modified = min((self.data.first_day + int(self.data.last_changed[day, page])) * DAY, now)
            headers.append(("Last-Modified", email.utils.formatdate(last_modified, usegmt=True)))
        if etag or last_modified is not None:
            headers.append(("Cache-Control", "no-cache"))  # may be stored, but revalidated every time
        if _not_modified(request, etag, last_modified):
            return Response(304, b"", [h for h in headers if h[0] != "Content-Type"])
        return Response(200, body, headers)


def _not_modified(request: Request, etag: str | None, last_modified: int | None) -> bool:
    """RFC 9110: If-None-Match decides when present (weak comparison); else If-Modified-Since."""
    if_none_match = request.headers.get("If-None-Match")
    if if_none_match is not None:
        if etag is None:
            return False
        tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
        return "*" in tags or etag.removeprefix("W/") in tags
    if_modified_since = request.headers.get("If-Modified-Since")
    if if_modified_since is None or last_modified is None:
        return False
    try:
        since = email.utils.parsedate_to_datetime(if_modified_since)
    except (TypeError, ValueError):
        return False  # an invalid date is ignored
    if since is None or since.tzinfo is None:
        return False
    return last_modified <= since.timestamp()
