"""The one HTTP layer every connector uses.

A timeout on every call; retries with exponential backoff and jitter on network errors, truncated
bodies and 5xx; 429s wait what `Retry-After` says, within a time budget rather than a count (a
storm can last minutes); pacing under the source's rate limit before the source has to refuse;
and, when it gives up, a `SourceError` that names the source, the request and the last status.
Secrets never appear in what it logs or raises: query values of credential parameters and every
registered secret value are masked.
"""

from __future__ import annotations

import email.utils
import logging
import random
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable, Protocol
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import orjson
import requests
from requests.adapters import HTTPAdapter

from connectors.base import MaybeSent
from shopops.logs import get_logger, register_secret

USER_AGENT = "shopops/0.1 (+operations pipeline; contact: data-team)"
RETRYABLE_STATUSES = {408, 500, 502, 503, 504}
SENSITIVE_PARAMS = {"consumer_key", "consumer_secret", "access_token", "token", "api_key", "password", "signature"}
NETWORK_ERRORS = (
    requests.exceptions.ConnectionError,  # includes truncated bodies (IncompleteRead)
    requests.exceptions.Timeout,
    requests.exceptions.ChunkedEncodingError,
    requests.exceptions.ContentDecodingError,
)


class SourceError(RuntimeError):
    """A source could not be read. The message names the source, the request and the cause."""

    def __init__(self, source: str, request: str, cause: str, status: int | None = None):
        self.source, self.request, self.status = source, request, status
        status_text = f"last status {status}" if status is not None else "no HTTP response"
        super().__init__(f"{source}: {request} failed: {cause} ({status_text})")


class AuthError(SourceError):
    """Credentials refused; retrying cannot help."""


@dataclass(frozen=True)
class RetryPolicy:
    connect_timeout: float = 5.0
    read_timeout: float = 60.0
    max_attempts: int = 8
    backoff_base: float = 0.5
    backoff_max: float = 60.0
    rate_limit_max_wait: float = 900.0  # total seconds a request may spend waiting out 429s

    @classmethod
    def from_settings(cls) -> "RetryPolicy":
        from shopops.settings import get_settings

        s = get_settings()
        return cls(
            connect_timeout=s.http_connect_timeout,
            read_timeout=s.http_read_timeout,
            max_attempts=s.http_max_attempts,
            backoff_base=s.http_backoff_base,
            backoff_max=s.http_backoff_max,
            rate_limit_max_wait=s.http_rate_limit_max_wait,
        )

    def backoff(self, retry: int) -> float:
        """Exponential with "equal jitter": never zero, never in lockstep with other clients."""
        ceiling = min(self.backoff_max, self.backoff_base * (2**retry))
        return ceiling / 2 + random.uniform(0, ceiling / 2)


class Pacer(Protocol):
    """What HttpClient tells the pacer of a source (a leaky bucket, a crawler's interval)."""

    def before_request(self) -> None: ...           # may sleep until the request may start
    def request_finished(self) -> None: ...         # the answer (or the failure) is in
    def rate_limited(self) -> None: ...             # the source answered 429
    def after_response(self, used: int, capacity: int) -> None: ...  # a call-limit header's reading


class LeakyBucketPacer:
    """Client-side model of a leaky bucket (Shopify's REST limit), fed by the source's own header.

    Before each request it waits until one more call fits under `capacity - headroom`, so in
    steady state the source never has to answer 429. Shared by every thread using one shop.
    """

    def __init__(self, capacity: int = 40, leak_per_second: float = 2.0, headroom: int = 2,
                 clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep):
        self.capacity, self.leak, self.headroom = capacity, leak_per_second, headroom
        self._level, self._at = 0.0, clock()
        self._clock, self._sleep = clock, sleep
        self._lock = threading.Lock()

    def before_request(self) -> None:
        with self._lock:
            now = self._clock()
            level = max(0.0, self._level - (now - self._at) * self.leak)
            limit = max(1, self.capacity - self.headroom)
            wait = max(0.0, (level + 1 - limit) / self.leak)
            # Reserve the slot now so concurrent callers queue behind us.
            self._level, self._at = level + 1, now
        if wait > 0:
            self._sleep(wait)

    def after_response(self, used: int, capacity: int) -> None:
        with self._lock:
            self.capacity = capacity
            self._level, self._at = float(used), self._clock()

    def request_finished(self) -> None:
        """The bucket counts calls, not their length."""

    def rate_limited(self) -> None:
        """The next response's call-limit header resets the bucket."""


class TokenBucketPacer:
    """Client-side model of a token bucket (an Amazon SP-API usage plan): `burst` calls at once,
    then one per `1 / rate` seconds. The rate follows the source's `x-amzn-RateLimit-Limit`; a 429
    empties the bucket, so the next call waits a full interval. It keeps `margin` below the plan (one
    token of the burst, a tenth of the rate): calls paced exactly at the rate reach the source with
    network jitter, and two arriving closer than an interval would be refused. Shared by every
    thread using it."""

    def __init__(self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep, margin: float = 0.1):
        self.rate, self.burst, self.margin = rate, max(1, burst - 1), margin
        self._tokens, self._at = float(self.burst), clock()
        self._clock, self._sleep = clock, sleep
        self._lock = threading.Lock()

    def before_request(self) -> None:
        with self._lock:
            now = self._clock()
            rate = self.rate * (1 - self.margin)
            tokens = min(float(self.burst), self._tokens + (now - self._at) * rate)
            wait = max(0.0, (1 - tokens) / rate)
            self._tokens, self._at = tokens - 1, now  # reserve the token: concurrent callers queue behind
        if wait > 0:
            self._sleep(wait)

    def set_rate(self, rate: float) -> None:
        if rate > 0:
            with self._lock:
                self.rate = rate

    def request_finished(self) -> None:
        """The bucket counts calls, not their length."""

    def rate_limited(self) -> None:
        with self._lock:
            self._tokens = min(self._tokens, 0.0)

    def after_response(self, used: int, capacity: int) -> None:
        """Amazon reports its rate, not a level (see set_rate)."""


@dataclass
class CallStats:
    requests: int = 0
    retries: int = 0
    rate_limited: int = 0
    waited_seconds: float = 0.0
    bytes: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, **deltas: float) -> None:
        with self.lock:
            for name, delta in deltas.items():
                setattr(self, name, getattr(self, name) + delta)


class HttpClient:
    """GET from one source with timeouts, retries, pacing and redaction."""

    def __init__(self, source: str, *, headers: dict[str, str] | None = None, auth: Any = None,
                 secrets: tuple[str, ...] = (), policy: RetryPolicy | None = None,
                 pacer: Pacer | None = None, sleep: Callable[[float], None] = time.sleep,
                 logger: logging.Logger | logging.LoggerAdapter | None = None):
        self.source = source
        self.policy = policy or RetryPolicy.from_settings()
        self.pacer = pacer
        self.stats = CallStats()
        self._sleep = sleep
        self._log = logger
        self._secrets = tuple(s for s in secrets if s)
        for secret in self._secrets:
            register_secret(secret)
        self.session = requests.Session()
        self.session.headers.update({"User-Agent": USER_AGENT, "Accept": "application/json"})
        self.session.headers.update(headers or {})
        self.session.auth = auth
        adapter = HTTPAdapter(pool_connections=4, pool_maxsize=8, max_retries=0)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)

    @property
    def log(self):
        return self._log or get_logger("shopops.connectors")

    def close(self) -> None:
        self.session.close()

    def describe(self, url: str, params: dict | None = None) -> str:
        """`GET <url>` with credential parameters and secret values masked."""
        parts = urlsplit(url)
        query = parse_qsl(parts.query, keep_blank_values=True) + list((params or {}).items())
        masked = [(k, "***" if k.lower() in SENSITIVE_PARAMS else v) for k, v in query]
        text = "GET " + urlunsplit(parts._replace(query=urlencode(masked, safe=":,+ *")))
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text

    def get(self, url: str, params: dict | None = None, headers: dict | None = None,
            max_bytes: int | None = None) -> requests.Response:
        """The final response after waiting out 429s (`Retry-After`) and retrying network errors,
        truncated bodies and 5xx with backoff; any other status is returned as it is. Raises a
        `SourceError` naming the request when it gives up. With `max_bytes`, at most that much of
        the body is read (`response.truncated` says whether there was more): a hostile page cannot
        fill the memory."""
        policy, failures, rate_limit_waited = self.policy, 0, 0.0
        request = self.describe(url, params)
        last_status: int | None = None
        while True:
            if self.pacer is not None:
                self.pacer.before_request()
            self.stats.add(requests=1)
            try:
                response = self.session.get(
                    url, params=params, headers=headers, timeout=(policy.connect_timeout, policy.read_timeout),
                    stream=max_bytes is not None,
                )
                if max_bytes is not None:
                    _read_capped(response, max_bytes)
            except NETWORK_ERRORS as exc:
                self._request_finished()
                cause = f"{type(exc).__name__}"
                failures += 1
                self._give_up_if(failures, request, cause, last_status)
                self._wait(policy.backoff(failures - 1), request, cause, failures)
                continue
            self._request_finished()
            last_status = response.status_code
            self.stats.add(bytes=len(response.content))
            self._feed_pacer(response)

            if response.status_code == 429:
                if self.pacer is not None:
                    self.pacer.rate_limited()
                wait = retry_after_seconds(response) or policy.backoff(failures)
                rate_limit_waited += wait
                self.stats.add(rate_limited=1)
                if rate_limit_waited > policy.rate_limit_max_wait:
                    raise SourceError(self.source, request,
                                      f"still rate limited after waiting {rate_limit_waited:.0f}s", 429)
                self._wait(wait, request, "rate limited (429)", failures + 1, level=logging.INFO)
                continue
            if response.status_code in RETRYABLE_STATUSES:
                failures += 1
                self._give_up_if(failures, request, "server error", last_status)
                wait = max(retry_after_seconds(response) or 0.0, policy.backoff(failures - 1))
                self._wait(wait, request, f"server error {response.status_code}", failures)
                continue
            return response

    def post_form(self, url: str, data: dict) -> requests.Response:
        """A POST that must not take effect twice (a message sent): retried only where the source
        cannot have acted on it — a 429 or 503 answer, or a connection that was never made. Any
        other answer is returned as it is; a failure after the request may have arrived raises."""
        policy, failures, rate_limit_waited = self.policy, 0, 0.0
        request = "POST " + self.describe(url)[4:]
        while True:
            if self.pacer is not None:
                self.pacer.before_request()
            self.stats.add(requests=1)
            try:
                response = self.session.post(url, data=data, timeout=(policy.connect_timeout, policy.read_timeout))
            except (requests.exceptions.ConnectTimeout, requests.exceptions.ConnectionError) as exc:
                self._request_finished()
                never_sent = isinstance(exc, requests.exceptions.ConnectTimeout) or "NewConnectionError" in repr(exc)
                if not never_sent:
                    raise MaybeSent(f"{self.source}: {request}: {type(exc).__name__} after the request was sent; "
                                    "not retried, so it cannot take effect twice") from None
                failures += 1
                self._give_up_if(failures, request, type(exc).__name__, None)
                self._wait(policy.backoff(failures - 1), request, type(exc).__name__, failures)
                continue
            self._request_finished()
            if response.status_code == 429 or response.status_code == 503:
                if response.status_code == 429 and self.pacer is not None:
                    self.pacer.rate_limited()
                wait = retry_after_seconds(response) or policy.backoff(failures)
                rate_limit_waited += wait
                if rate_limit_waited > policy.rate_limit_max_wait:
                    raise SourceError(self.source, request, f"still refused ({response.status_code}) after waiting "
                                      f"{rate_limit_waited:.0f}s", response.status_code)
                failures += response.status_code == 503
                self._give_up_if(failures, request, "service unavailable", 503)
                self._wait(wait, request, f"refused ({response.status_code})", failures + 1, level=logging.INFO)
                continue
            return response

    def get_json(self, url: str, params: dict | None = None,
                 handle_status: Callable[[requests.Response], None] | None = None) -> tuple[Any, requests.Response]:
        """The decoded body and the response. `handle_status` may raise for source-specific 4xx."""
        request, failures = self.describe(url, params), 0
        while True:
            response = self.get(url, params)
            if response.status_code in (401, 403):
                raise AuthError(self.source, request,
                                "credentials were refused; check the source's token or keys "
                                f"({self._body_excerpt(response)})", response.status_code)
            if handle_status is not None:
                handle_status(response)
            if response.status_code >= 400:
                raise SourceError(self.source, request, self._body_excerpt(response), response.status_code)
            try:
                return orjson.loads(response.content), response
            except orjson.JSONDecodeError:
                failures += 1  # a truncated or garbled body: the next try usually succeeds
                self._give_up_if(failures, request, "response body is not valid JSON", response.status_code)
                self._wait(self.policy.backoff(failures - 1), request, "invalid JSON body", failures)

    def _request_finished(self) -> None:
        if self.pacer is not None:
            self.pacer.request_finished()

    def _feed_pacer(self, response: requests.Response) -> None:
        if self.pacer is None:
            return
        header = response.headers.get("X-Shopify-Shop-Api-Call-Limit")
        if header and "/" in header:
            used, _, capacity = header.partition("/")
            if used.strip().isdigit() and capacity.strip().isdigit():
                self.pacer.after_response(int(used), int(capacity))
        rate = response.headers.get("x-amzn-RateLimit-Limit")
        if rate and isinstance(self.pacer, TokenBucketPacer):
            try:
                self.pacer.set_rate(float(rate))
            except ValueError:
                pass

    def _give_up_if(self, failures: int, request: str, cause: str, status: int | None) -> None:
        if failures >= self.policy.max_attempts:
            raise SourceError(self.source, request, f"{cause}, giving up after {failures} attempts", status)

    def _wait(self, seconds: float, request: str, cause: str, attempt: int, level: int = logging.WARNING) -> None:
        self.stats.add(retries=1, waited_seconds=seconds)
        self.log.log(level, "%s: %s — %s; retry %d in %.1fs", self.source, request, cause, attempt, seconds)
        self._sleep(seconds)

    def _body_excerpt(self, response: requests.Response, limit: int = 300) -> str:
        text = response.text[:limit].replace("\n", " ")
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text or response.reason or "no body"


def _read_capped(response: requests.Response, max_bytes: int) -> None:
    """Read at most `max_bytes` of a streamed body into the response (as `content` gives it)."""
    body, size = [], 0
    for piece in response.iter_content(64 * 1024):
        body.append(piece)
        size += len(piece)
        if size > max_bytes:
            break
    data = b"".join(body)
    response.truncated = len(data) > max_bytes
    response._content = data[:max_bytes]  # what `response.content` and `.text` return from now on
    response.close()


def retry_after_seconds(response: requests.Response) -> float | None:
    """`Retry-After` as seconds: a number (Shopify sends "2.0") or an HTTP date."""
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        parsed = email.utils.parsedate_to_datetime(value)
        if parsed is None:
            return None
        return max(0.0, parsed.timestamp() - time.time())


def server_time(response: requests.Response) -> datetime | None:
    """The source's own clock, from the response's `Date` header (UTC); None if absent or unreadable."""
    try:
        parsed = email.utils.parsedate_to_datetime(response.headers.get("Date") or "")
    except (TypeError, ValueError):
        return None
    return parsed.astimezone(timezone.utc) if parsed.tzinfo else parsed.replace(tzinfo=timezone.utc)
