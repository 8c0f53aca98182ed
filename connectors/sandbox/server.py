"""The HTTP/1.1 front: a ThreadingHTTPServer that turns sockets into Requests and back.

Keep-alive, a Content-Length on every response, daemon threads. A "truncate" fault announces
the full Content-Length, writes half the body and drops the connection, as a proxy dying
mid-response does. `SiteServer` is the sibling for a competitor website (one per origin).
"""

from __future__ import annotations

import email.utils
import sys
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, urlsplit

from .app import SandboxApp
from .competitor_site import CompetitorSite
from .protocol import Request, Response, json_response


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: SandboxServer
    # Buffered, so the status line, headers and body leave in one write (flushed after each request):
    # separate small writes meet the client's delayed ACK and cost ~40 ms a request on keep-alive.
    wbufsize = 1 << 16

    def version_string(self) -> str:
        return "shopops-sandbox"

    def date_time_string(self, timestamp: float | None = None) -> str:
        """The `Date` header tells the sandbox's own time, as a real server tells its clock's."""
        return email.utils.formatdate(self.server.app.clock.epoch_seconds() if timestamp is None else timestamp,
                                      usegmt=True)

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        parts = urlsplit(self.path)
        request = Request(self.command, parts.path, parse_qsl(parts.query, keep_blank_values=True), self.headers, body)
        try:
            response = self.server.app.dispatch(request)
        except Exception:  # a bug must not kill the connection thread silently
            traceback.print_exc(file=sys.stderr)
            response = json_response(500, {"errors": "sandbox error (see its log)"})
        self._write(response)

    def _write(self, response: Response) -> None:
        self.send_response(response.status)
        for name, value in response.headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if response.truncate:
            self.wfile.write(response.body[: len(response.body) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(response.body)

    do_GET = do_POST = do_PUT = do_DELETE = _serve

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (the base class's name)
        if self.server.verbose:
            super().log_message(format, *args)


class SandboxServer(ThreadingHTTPServer):
    daemon_threads = True
    # Keep-alive clients hold their threads open; closing the server must not wait for them.
    block_on_close = False

    def __init__(self, address: tuple[str, int], app: SandboxApp, verbose: bool = False) -> None:
        super().__init__(address, _Handler)
        self.app = app
        self.verbose = verbose


class _SiteHandler(_Handler):
    """A competitor website: names its own server software, answers HEAD (headers only), and sends
    a 304 without a body or Content-Length, as web servers do."""

    def version_string(self) -> str:
        return self.server.app.server_header

    def _write(self, response: Response) -> None:
        if self.command != "HEAD" and response.status != 304:
            super()._write(response)
            return
        self.send_response(response.status)
        for name, value in response.headers:
            self.send_header(name, value)
        if response.status != 304:
            self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()

    do_HEAD = _Handler._serve


class SiteServer(SandboxServer):
    """The server of one competitor origin: the handler uses the site's dispatch, clock and server_header."""

    app: CompetitorSite

    def __init__(self, address: tuple[str, int], app: CompetitorSite, verbose: bool = False) -> None:
        ThreadingHTTPServer.__init__(self, address, _SiteHandler)
        self.app = app
        self.verbose = verbose
