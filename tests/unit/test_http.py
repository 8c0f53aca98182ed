"""The shared HTTP layer, against a scripted server on loopback."""

import http.server
import threading

import pytest

from connectors.http import AuthError, HttpClient, LeakyBucketPacer, RetryPolicy, SourceError

FAST = RetryPolicy(connect_timeout=2, read_timeout=2, max_attempts=4, backoff_base=0.01, backoff_max=0.05,
                   rate_limit_max_wait=5)


class Script:
    """Responses served in order: (status, headers, body, truncate)."""

    def __init__(self, *responses):
        self.responses = list(responses)
        self.requests: list[str] = []


@pytest.fixture
def server():
    script = Script()

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):
            script.requests.append(self.path)
            status, headers, body, truncate = script.responses.pop(0)
            payload = body.encode()
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            if truncate:
                self.wfile.write(payload[: len(payload) // 2])
                self.wfile.flush()
                self.close_connection = True
                return
            self.wfile.write(payload)

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield script, f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def client(sleeps, **kwargs):
    return HttpClient("shop-test", policy=FAST, sleep=sleeps.append, **kwargs)


def test_429_waits_what_retry_after_says_then_succeeds(server):
    script, url = server
    script.responses += [(429, {"Retry-After": "2.5"}, "{}", False), (200, {}, '{"ok": true}', False)]
    sleeps = []
    body, _ = client(sleeps).get_json(url + "/orders.json")
    assert body == {"ok": True}
    assert sleeps == [2.5]


def test_5xx_then_truncated_body_then_success_is_retried_with_growing_backoff(server):
    script, url = server
    script.responses += [(503, {}, "down", False), (200, {}, '{"orders": [1, 2, 3]}', True), (200, {}, '{"orders": []}', False)]
    sleeps = []
    body, _ = client(sleeps).get_json(url + "/orders.json")
    assert body == {"orders": []}
    assert len(sleeps) == 2 and all(0 < s <= FAST.backoff_max for s in sleeps)


def test_giving_up_names_the_source_the_request_and_the_last_status_without_secrets(server):
    script, url = server
    script.responses += [(502, {}, "bad gateway", False)] * FAST.max_attempts
    with pytest.raises(SourceError) as failure:
        client([], secrets=("s3cr3t-value",)).get_json(url + "/orders.json", {"consumer_secret": "s3cr3t-value", "page": 2})
    message = str(failure.value)
    assert message.startswith("shop-test: GET http://127.0.0.1:")
    assert "/orders.json?consumer_secret=***&page=2" in message
    assert "giving up after 4 attempts" in message and "last status 502" in message
    assert "s3cr3t-value" not in message
    assert len(script.requests) == FAST.max_attempts


def test_refused_credentials_fail_at_once_with_a_clear_error(server):
    script, url = server
    script.responses += [(401, {}, '{"errors":"[API] Invalid API key or access token"}', False)]
    with pytest.raises(AuthError, match="credentials were refused.*Invalid API key.*last status 401"):
        client([]).get_json(url + "/orders.json")
    assert len(script.requests) == 1


def test_a_429_storm_longer_than_the_budget_fails_clearly(server):
    script, url = server
    script.responses += [(429, {"Retry-After": "2"}, "{}", False)] * 4
    with pytest.raises(SourceError, match="still rate limited after waiting 6s.*last status 429"):
        client([]).get_json(url + "/orders.json")


def test_leaky_bucket_pacer_waits_only_when_the_reported_bucket_is_nearly_full():
    now = [0.0]
    sleeps = []
    pacer = LeakyBucketPacer(capacity=40, leak_per_second=2.0, headroom=2, clock=lambda: now[0], sleep=sleeps.append)
    pacer.after_response(used=30, capacity=40)
    pacer.before_request()          # 30 + 1 <= 38: go
    assert sleeps == []
    pacer.after_response(used=38, capacity=40)
    pacer.before_request()          # 38 + 1 > 38: wait for one call to drain at 2/s
    assert sleeps == [pytest.approx(0.5)]
    now[0] += 10                    # ten seconds later the bucket has drained 20 calls
    pacer.before_request()
    assert sleeps == [pytest.approx(0.5)]
