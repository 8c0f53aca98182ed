"""The crawler against a small real HTTP site on loopback: robots.txt, pacing, conditional
requests, refusals."""

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from connectors.crawler import PRODUCT_TOKEN, CrawlPolicy, Crawler, Target

ROBOTS = """User-agent: *
Disallow: /private/

User-agent: BadBot
Disallow: /
"""


class Site(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, robots: str | None = ROBOTS, robots_status: int = 200):
        super().__init__(("127.0.0.1", 0), Handler)
        self.robots, self.robots_status = robots, robots_status
        self.log: list[tuple[float, str, str, dict]] = []
        self.answered: list[float] = []  # when the slow pages were answered
        self.last_limited, self.rate_limited = 0.0, 0
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):  # noqa: N802 (the base class's name)
        with self.server.lock:
            self.server.log.append((time.monotonic(), self.path, self.headers.get("User-Agent", ""), dict(self.headers)))
        if self.path == "/robots.txt":
            if self.server.robots is None:
                return self._send(404, b"not found")
            return self._send(self.server.robots_status, self.server.robots.encode())
        if self.path.startswith("/slow"):
            time.sleep(0.3)  # a slow page: its answer comes long after the request started
            with self.server.lock:
                self.server.answered.append(time.monotonic())
        if self.path.startswith("/limited"):  # at most one request every 0.3 s, like a strict shop
            with self.server.lock:
                too_soon = time.monotonic() - self.server.last_limited < 0.3
                self.server.last_limited = time.monotonic()
                self.server.rate_limited += too_soon
            if too_soon:
                return self._send(429, b"slow down", {"Retry-After": "1"})
        if self.path.startswith("/gone"):
            return self._send(404, b"no such product")
        if self.path.startswith("/etag") and self.headers.get("If-None-Match") == '"v1"':
            return self._send(304, b"", {"ETag": '"v1"'})
        return self._send(200, f"<html>page {self.path}</html>".encode(), {"ETag": '"v1"'})

    def _send(self, status, body, headers=None):
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def site():
    server = Site()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def policy(site, **overrides):
    return CrawlPolicy(**{"min_interval_seconds": 0.05, "allowed_hosts": frozenset({"127.0.0.1"}), **overrides})


def test_robots_txt_is_obeyed_and_asked_once(site):
    crawler = Crawler(policy(site))
    results = {f.url.removeprefix(site.url): f for f in crawler.crawl(
        [Target(f"{site.url}/p/1"), Target(f"{site.url}/private/2"), Target(f"{site.url}/p/3")])}
    assert results["/private/2"].status == "blocked"
    assert "robots.txt" in results["/private/2"].detail
    assert results["/p/1"].status == results["/p/3"].status == "fetched"
    paths = [path for _, path, _, _ in site.log]
    assert "/private/2" not in paths and paths.count("/robots.txt") == 1
    assert all(agent.startswith(PRODUCT_TOKEN) for _, _, agent, _ in site.log)  # it says who it is


def test_requests_to_one_site_keep_their_interval_whatever_the_concurrency(site):
    crawler = Crawler(policy(site, min_interval_seconds=0.2, per_origin_concurrency=3, total_concurrency=8))
    list(crawler.crawl([Target(f"{site.url}/p/{i}") for i in range(8)]))
    times = sorted(t for t, path, _, _ in site.log)
    gaps = [b - a for a, b in zip(times, times[1:])]
    assert len(times) == 9  # robots.txt and 8 pages, each 0.2 s after the last
    # The server's clock reading of a request can come a few ms late on a busy machine, which
    # shortens the next gap as much: each gap within 25 ms, and the 8 gaps 1.6 s at least in all
    # (3 requests let through at once would make gaps near 0 and the whole under 1.2 s).
    assert min(gaps) >= 0.175, gaps
    assert times[-1] - times[0] >= 8 * 0.2 - 0.01, gaps


def test_the_interval_also_runs_from_the_end_of_a_slow_answer(site):
    crawler = Crawler(policy(site, min_interval_seconds=0.2))
    list(crawler.crawl([Target(f"{site.url}/slow/{i}") for i in range(3)]))
    started = sorted(t for t, path, _, _ in site.log if path.startswith("/slow"))
    # each page takes 0.3 s: a pacer counting from the starts alone would ask the next one at once
    assert len(started) == 3 and all(b - a >= 0.19 for a, b in zip(site.answered, started[1:]))


def test_a_site_that_answers_429_is_asked_less_often_from_then_on(site):
    crawler = Crawler(policy(site, min_interval_seconds=0.05))
    fetched = list(crawler.crawl([Target(f"{site.url}/limited/{i}") for i in range(10)]))
    assert [f.status for f in fetched] == ["fetched"] * 10
    # 0.05 s → 0.1 → 0.2 → 0.4 s: three 429s, then the pace the site accepts (a crawler that kept
    # its interval would be refused before each of the nine pages after the first)
    assert site.rate_limited == 3


@pytest.mark.parametrize("robots, seconds", [
    ("User-agent: *\nCrawl-delay: 1\n", 1.0),
    ("User-agent: *\ncrawl-delay:0.5  # be gentle\n", 0.5),  # urllib's own parser reads whole seconds only
    (f"User-agent: other-bot\nCrawl-delay: 2\n\nUser-agent: {PRODUCT_TOKEN}\nCrawl-delay: .3\n", 0.3),
])
def test_a_crawl_delay_in_robots_txt_is_honoured(site, robots, seconds):
    site.robots = robots
    crawler = Crawler(policy(site, min_interval_seconds=0.01))
    list(crawler.crawl([Target(f"{site.url}/p/{i}") for i in range(2)]))
    times = sorted(t for t, _, _, _ in site.log)
    gaps = [b - a for a, b in zip(times, times[1:])]
    # At least the delay asked for, and not a longer one (another group's, or one rounded up)
    assert len(times) == 3 and seconds - 0.01 <= min(gaps) < seconds + 0.4


def test_an_unchanged_page_answers_a_conditional_request_with_304(site):
    crawler = Crawler(policy(site))
    first = crawler.fetch(Target(f"{site.url}/etag/1"))
    again = crawler.fetch(Target(f"{site.url}/etag/1", etag=first.etag))
    assert (first.status, first.etag, again.status, again.http_status) == ("fetched", '"v1"', "not_modified", 304)
    assert site.log[-1][3].get("If-None-Match") == '"v1"'


def test_robots_txt_missing_allows_everything_and_broken_disallows_everything():
    for robots, status, expected in ((None, 404, "fetched"), ("oops", 503, "blocked")):
        server = Site(robots=robots, robots_status=status)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        try:
            crawler = Crawler(policy(server, retry=CrawlPolicy().retry.__class__(max_attempts=1, backoff_base=0.01)))
            assert crawler.fetch(Target(f"{server.url}/p/1")).status == expected
        finally:
            server.shutdown()
            server.server_close()


def test_http_errors_are_a_status_not_an_exception(site):
    fetched = Crawler(policy(site)).fetch(Target(f"{site.url}/gone/1"))
    assert (fetched.status, fetched.http_status) == ("http_error", 404)


@pytest.mark.parametrize("url, why", [
    ("file:///etc/passwd", "only http and https"),
    ("ftp://example.com/p", "only http and https"),
    ("http://127.0.0.1:9/p", "private or local address"),
    ("http://169.254.169.254/latest/meta-data", "private or local address"),
    ("http://10.1.2.3/p", "private or local address"),
    ("http:///nohost", "no host"),
])
def test_urls_into_the_machine_or_the_company_network_are_refused(url, why):
    fetched = Crawler(CrawlPolicy()).fetch(Target(url))
    assert fetched.status == "refused" and why in fetched.detail
