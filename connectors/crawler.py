"""A polite crawler for competitors' product pages.

Politeness, per origin (scheme, host and port; robots.txt and rate limits are per origin):
- robots.txt is read once per crawl and obeyed for our product token (RFC 9309: a 4xx robots.txt
  allows everything, a 5xx or an unreachable one disallows everything for this crawl);
- a request to one origin starts `min_interval_seconds` (or the robots.txt `Crawl-delay` when
  that is longer) after the previous one started and after its response came back, so the site
  sees that gap even when connecting took a while; at most `per_origin_concurrency` at once;
  origins are crawled in parallel up to `total_concurrency` (an origin beyond it waits until
  another's pages are done);
- every request says who we are (`user_agent`) and asks conditionally (ETag / Last-Modified from
  the previous crawl), so an unchanged page costs the site a 304;
- the shared HTTP layer adds timeouts, retries with backoff that honour `Retry-After`, and a cap
  on how much of a page is read; after a 429 the origin's interval doubles for the rest of the
  crawl.

A catalogue entry can point anywhere, so only http(s) URLs are fetched, and hosts that resolve to
loopback, private, link-local or reserved addresses only when they are on `allowed_hosts` (the
sandbox's competitor sites are, in the demo and the tests).

What comes back is a `Fetched` per URL: the page, or why there is none (`blocked`, `refused`,
`http_error`, `not_modified`). Reading prices from pages is not this module's job.
"""

from __future__ import annotations

import ipaddress
import queue
import re
import socket
import threading
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable, Iterable, Iterator
from urllib.parse import urlsplit
from urllib.robotparser import RobotFileParser

from connectors.http import HttpClient, RetryPolicy, SourceError, server_time

PRODUCT_TOKEN = "shopops-price-monitor"
_LANE_DONE = object()
_CRAWL_DELAY = re.compile(r"^(\s*crawl-delay\s*:\s*)(\d*\.?\d+)\s*(#.*)?$", re.IGNORECASE)
USER_AGENT = f"{PRODUCT_TOKEN}/0.1 (+price monitoring of the retailer's own catalogue; contact: data-team)"


@dataclass(frozen=True)
class CrawlPolicy:
    user_agent: str = USER_AGENT
    min_interval_seconds: float = 1.0
    per_origin_concurrency: int = 1
    total_concurrency: int = 32        # threads; they mostly wait out the interval
    max_bytes: int = 2_000_000
    allowed_hosts: frozenset[str] = frozenset()   # hosts (or host:port) allowed although private
    retry: RetryPolicy = RetryPolicy(connect_timeout=5, read_timeout=20, max_attempts=3, backoff_base=1.0,
                                     backoff_max=30, rate_limit_max_wait=120)


@dataclass(frozen=True)
class Target:
    url: str
    etag: str | None = None            # from the previous crawl, for a conditional request
    last_modified: str | None = None


@dataclass
class Fetched:
    url: str
    status: str                        # fetched | not_modified | blocked | refused | http_error
    fetched_at: datetime               # the site's clock (its Date header), else ours
    http_status: int | None = None
    body: bytes | None = None
    truncated: bool = False
    etag: str | None = None
    last_modified: str | None = None
    detail: str = ""


class Crawler:
    def __init__(self, policy: CrawlPolicy = CrawlPolicy(), sleep: Callable[[float], None] = time.sleep):
        self.policy = policy
        self._sleep = sleep
        self._origins: dict[str, _Origin] = {}
        self._lock = threading.Lock()

    def crawl(self, targets: Iterable[Target]) -> Iterator[Fetched]:
        """Fetch every target politely; results come as they are ready (origins in parallel)."""
        by_origin: dict[str, list[Target]] = defaultdict(list)
        refused = []
        for target in targets:
            problem = self._refusal(target.url)
            if problem:
                refused.append(Fetched(target.url, "refused", _now(), detail=problem))
            else:
                by_origin[_origin(target.url)].append(target)
        yield from refused
        lanes = [queue[lane::self.policy.per_origin_concurrency]
                 for queue in by_origin.values() for lane in range(self.policy.per_origin_concurrency)]
        lanes = [lane for lane in lanes if lane]
        if not lanes:
            return
        results: queue.Queue = queue.Queue()
        stop = threading.Event()  # the consumer went away: lanes stop after their current page

        def run(lane: list[Target]) -> None:
            try:
                for target in lane:
                    if stop.is_set():
                        return
                    results.put(self.fetch(target))
            finally:
                results.put(_LANE_DONE)

        with ThreadPoolExecutor(max_workers=min(self.policy.total_concurrency, len(lanes)),
                                thread_name_prefix="shopops-crawl") as pool:
            futures = [pool.submit(run, lane) for lane in lanes]
            try:
                running = len(lanes)
                while running:
                    item = results.get()
                    if item is _LANE_DONE:
                        running -= 1
                    else:
                        yield item
            finally:
                stop.set()
            for future in futures:
                future.result()  # a bug in a lane surfaces here instead of vanishing

    def fetch(self, target: Target) -> Fetched:
        """One page, politely (robots.txt, pacing, a conditional request)."""
        problem = self._refusal(target.url)
        if problem:
            return Fetched(target.url, "refused", _now(), detail=problem)
        origin = self._origin(target.url)
        if not origin.allows(target.url):
            return Fetched(target.url, "blocked", _now(), detail=origin.why_blocked(target.url))
        headers = {}
        if target.etag:
            headers["If-None-Match"] = target.etag
        if target.last_modified:
            headers["If-Modified-Since"] = target.last_modified
        with origin.slots:
            try:
                response = origin.client.get(target.url, headers=headers, max_bytes=self.policy.max_bytes)
            except SourceError as error:
                return Fetched(target.url, "http_error", _now(), error.status, detail=str(error)[:300])
        at = server_time(response) or _now()
        etag, modified = response.headers.get("ETag"), response.headers.get("Last-Modified")
        if response.status_code == 304:
            return Fetched(target.url, "not_modified", at, 304, etag=etag or target.etag,
                           last_modified=modified or target.last_modified, detail="unchanged since the last crawl")
        if response.status_code >= 400:
            return Fetched(target.url, "http_error", at, response.status_code,
                           detail=f"HTTP {response.status_code} {response.reason or ''}".strip())
        return Fetched(target.url, "fetched", at, response.status_code, response.content,
                       getattr(response, "truncated", False), etag, modified)

    def close(self) -> None:
        for origin in self._origins.values():
            origin.client.close()

    # -- per origin ---------------------------------------------------------------------------
    def _origin(self, url: str) -> "_Origin":
        key = _origin(url)
        with self._lock:
            if key not in self._origins:
                self._origins[key] = _Origin(key, self.policy, self._sleep)
            return self._origins[key]

    def _refusal(self, url: str) -> str:
        """Why this URL must not be fetched at all ("" when it may)."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https"):
            return f"only http and https pages are crawled (got {parts.scheme or 'no'} scheme)"
        host = parts.hostname or ""
        if not host:
            return "the URL has no host"
        allowed = self.policy.allowed_hosts
        if host in allowed or parts.netloc in allowed:
            return ""
        try:
            addresses = {info[4][0] for info in socket.getaddrinfo(host, parts.port or 80, proto=socket.IPPROTO_TCP)}
        except OSError:
            return f"the host {host} does not resolve"
        for address in addresses:
            ip = ipaddress.ip_address(address.split("%")[0])
            if ip.is_loopback or ip.is_private or ip.is_link_local or ip.is_reserved or ip.is_multicast \
                    or ip.is_unspecified:
                return (f"{host} resolves to a private or local address ({ip}); add it to "
                        "SHOPOPS_CRAWLER_ALLOWED_HOSTS if it is meant to be crawled")
        return ""


class _Origin:
    """robots.txt, pacing and the HTTP session of one origin."""

    def __init__(self, origin: str, policy: CrawlPolicy, sleep: Callable[[float], None]):
        self.origin = origin
        self.policy = policy
        self.pacer = IntervalPacer(policy.min_interval_seconds, sleep=sleep)
        self.client = HttpClient(origin, headers={"User-Agent": policy.user_agent, "Accept": "text/html,*/*;q=0.8"},
                                 policy=policy.retry, pacer=self.pacer, sleep=sleep)
        self.slots = threading.Semaphore(policy.per_origin_concurrency)
        self._robots: RobotFileParser | None = None
        self._robots_problem = ""
        self._robots_lock = threading.Lock()

    def allows(self, url: str) -> bool:
        robots = self._read_robots()
        return robots is not None and robots.can_fetch(PRODUCT_TOKEN, url)

    def why_blocked(self, url: str) -> str:
        if self._robots_problem:
            return self._robots_problem
        return f"robots.txt of {self.origin} disallows {urlsplit(url).path or '/'} for {PRODUCT_TOKEN}"

    def _read_robots(self) -> RobotFileParser | None:
        with self._robots_lock:
            if self._robots is not None or self._robots_problem:
                return self._robots
            parser = RobotFileParser()
            try:
                response = self.client.get(f"{self.origin}/robots.txt", max_bytes=500_000)
            except SourceError as error:
                self._robots_problem = f"robots.txt of {self.origin} could not be read ({error.status or 'no response'}), " \
                                       "so nothing there is crawled today"
                return None
            if response.status_code >= 500:
                self._robots_problem = f"robots.txt of {self.origin} answered {response.status_code}: nothing crawled"
                return None
            parser.parse(_delays_in_milliseconds(response.text.splitlines()) if response.status_code < 400 else [])
            delay = parser.crawl_delay(PRODUCT_TOKEN)
            if delay:
                self.pacer.slow_to(delay / 1000)
            self._robots = parser
            return parser


def _delays_in_milliseconds(lines: list[str]) -> list[str]:
    """robots.txt lines with every Crawl-delay in whole milliseconds. urllib's parser reads whole
    seconds only and would ignore `Crawl-delay: 0.5`; which group a delay belongs to is still left
    to it."""
    def in_milliseconds(match: re.Match) -> str:
        return f"{match[1]}{round(float(match[2]) * 1000)}"

    return [_CRAWL_DELAY.sub(in_milliseconds, line) for line in lines]


class IntervalPacer:
    """At least `interval` seconds between the starts of two requests, and from the end of one
    request to the start of the next (shared by an origin's lanes)."""

    def __init__(self, interval: float, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep):
        self.interval = interval
        self._next = 0.0
        self._clock, self._sleep = clock, sleep
        self._lock = threading.Lock()

    def before_request(self) -> None:
        with self._lock:
            now = self._clock()
            start = max(now, self._next)
            self._next = start + self.interval  # reserve the slot so concurrent callers queue behind
        if start > now:
            self._sleep(start - now)

    def after_response(self, used: int, capacity: int) -> None:
        """Call-limit headers are a shop API's; a crawl keeps its interval."""

    def request_finished(self) -> None:
        with self._lock:
            self._next = max(self._next, self._clock() + self.interval)

    def rate_limited(self) -> None:
        """The site answered 429: ask half as often from now on (up to one request a minute), so
        a site with a stricter limit than our interval settles at a pace it accepts."""
        self.slow_to(min(max(2 * self.interval, 0.1), 60.0))

    def slow_to(self, interval: float) -> None:
        """Space requests at least `interval` apart from now on, the request just made included."""
        with self._lock:
            if interval > self.interval:
                self._next += interval - self.interval
                self.interval = interval


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def _now() -> datetime:
    return datetime.now(timezone.utc)
