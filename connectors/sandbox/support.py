"""Zendesk for the support desk: the incremental ticket export (cursor based, with metric sets and
users side-loaded) and the Zendesk Chat incremental chat export; auth, rate limits, parameters."""

from __future__ import annotations

import base64
import bisect
import hmac
import math
from typing import Callable

import numpy as np

from .clock import SandboxClock
from .cursor import InvalidCursor, decode_cursor, encode_cursor
from .params import integer
from .protocol import Request, Response, json_response, url_with_query
from .support_data import SupportDesk, ticket_state
from .support_render import render_chats, render_metric_sets, render_tickets, render_users
from .windowlimit import WindowLimit

TICKETS_EXPORT = "incremental/tickets/cursor.json"
CHATS_EXPORT = "incremental/chats"
MAX_PER_PAGE = 1000
MIN_AGE_SECONDS = 60
UNAUTHORIZED = {"error": "Couldn't authenticate you"}
CHAT_UNAUTHORIZED = {"error": "invalid_token", "description": "The access token provided is invalid."}
THROTTLED = {"error": "APIRateLimitExceeded",
             "description": "Number of allowed incremental export API requests per minute exceeded"}
INVALID_CURSOR = {"error": "InvalidPaginationParameter", "description": "cursor is invalid"}
NOT_FOUND = {"error": "RecordNotFound", "description": "Not found"}
FAULT_BODIES = {
    "500": {"error": "InternalServerError", "description": "Something went wrong on our end"},
    "502": {"error": "BadGateway", "description": "Bad gateway"},
    "503": {"error": "ServiceUnavailable", "description": "Zendesk is temporarily unavailable"},
}


def _invalid(description: str) -> Response:
    return json_response(400, {"error": "InvalidValue", "description": description})


def basic_credentials(request: Request) -> tuple[str, str] | None:
    """(user, password) of an `Authorization: Basic` header, None if there is none or it is garbled."""
    header = request.headers.get("Authorization") or ""
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user, separator, password = base64.b64decode(encoded.strip(), validate=True).decode().partition(":")
    except (ValueError, UnicodeDecodeError):
        return None
    return (user, password) if separator else None


def bearer_token(request: Request) -> str | None:
    scheme, _, token = (request.headers.get("Authorization") or "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else None


def same(given: str | None, expected: str) -> bool:
    return given is not None and hmac.compare_digest(given.encode(), expected.encode())


class ZendeskApi:
    def __init__(self, desk: SupportDesk, name: str, clock: SandboxClock, agent_email: str, api_token: str,
                 chat_token: str, signing_key: bytes, requests_per_minute: int, base_url: Callable[[], str]) -> None:
        self.desk = desk
        self.name = name
        self.clock = clock
        self._user = f"{agent_email}/token"
        self._api_token = api_token
        self._chat_token = chat_token
        self._signing_key = signing_key
        self._base_url = base_url
        self.limits = {TICKETS_EXPORT: WindowLimit(requests_per_minute), CHATS_EXPORT: WindowLimit(requests_per_minute)}

    @property
    def base(self) -> str:
        return f"{self._base_url()}/zendesk/{self.name}"

    def serve(self, request: Request, endpoint: str) -> Response:
        if endpoint not in self.limits or request.method != "GET":
            return json_response(404, NOT_FOUND)
        if endpoint == TICKETS_EXPORT:
            credentials = basic_credentials(request)
            if credentials is None or credentials[0] != self._user or not same(credentials[1], self._api_token):
                return json_response(401, UNAUTHORIZED)
        elif not same(bearer_token(request), self._chat_token):
            return json_response(401, CHAT_UNAUTHORIZED)
        limit = self.limits[endpoint]
        accepted, retry_after = limit.try_call()
        headers = [("X-Rate-Limit", str(limit.limit)), ("X-Rate-Limit-Remaining", str(max(0, limit.remaining())))]
        if not accepted:
            return json_response(429, THROTTLED, [("Retry-After", str(retry_after)), *headers])
        response = self._tickets(request) if endpoint == TICKETS_EXPORT else self._chats(request)
        response.headers.extend(headers)
        return response

    def fault_response(self, kind: str, retry_after: float) -> Response:
        if kind == "429":
            return json_response(429, THROTTLED, [("Retry-After", str(max(1, math.ceil(retry_after))))])
        if kind == "expired_cursor":
            return json_response(400, INVALID_CURSOR)
        return json_response(int(kind), FAULT_BODIES.get(kind, FAULT_BODIES["500"]))

    # -- GET /api/v2/incremental/tickets/cursor.json ------------------------------------------
    def _tickets(self, request: Request) -> Response:
        per_page = integer(request, "per_page", MAX_PER_PAGE, 1, MAX_PER_PAGE)
        if per_page is None:
            return _invalid(f"per_page must be a number between 1 and {MAX_PER_PAGE}")
        moment = self.clock.epoch_seconds()
        cursor = request.param("cursor")
        if cursor:
            try:
                position = decode_cursor(cursor, self._signing_key)
                after = (int(position["u"]), int(position["i"]))
            except (InvalidCursor, KeyError, TypeError, ValueError):
                return json_response(400, INVALID_CURSOR)
        else:
            raw = request.param("start_time")
            if raw is None or raw == "":
                return _invalid("start_time or cursor is required")
            try:
                start_time = int(raw)
            except ValueError:
                return _invalid("start_time must be a unix timestamp in seconds")
            if start_time > moment - MIN_AGE_SECONDS:
                return _invalid("start_time must be more than one minute in the past")
            after = (start_time, -1)  # every ticket updated at or after start_time
        include = {part.strip() for part in (request.param("include") or "").split(",") if part.strip()}

        tickets = self.desk.tickets
        state = ticket_state(tickets, moment)
        ids = tickets.id[state.rows]
        order = np.lexsort((ids, state.updated))
        updated, ids = state.updated[order], ids[order]
        low, high = np.searchsorted(updated, after[0], "left"), np.searchsorted(updated, after[0], "right")
        first = int(low + np.searchsorted(ids[low:high], after[1], "right"))
        picks = order[first:first + per_page]
        end_of_stream = first + per_page >= len(order)
        last = (int(state.updated[picks[-1]]), int(tickets.id[state.rows[picks[-1]]])) if len(picks) else after
        after_cursor = encode_cursor({"u": last[0], "i": last[1]}, self._signing_key)
        query = [("cursor", after_cursor), ("per_page", str(per_page))]
        if include:
            query.append(("include", ",".join(sorted(include))))
        body = {
            "tickets": render_tickets(self.desk, state, picks, self.base),
            "after_cursor": after_cursor,
            "before_cursor": None,
            "after_url": url_with_query(f"{self.base}/api/v2/{TICKETS_EXPORT}", query),
            "before_url": None,
            "end_of_stream": bool(end_of_stream),
        }
        if "metric_sets" in include:
            body["metric_sets"] = render_metric_sets(self.desk, state, picks)
        if "users" in include:
            body["users"] = render_users(self.desk, tickets.requester[state.rows[picks]])
        return json_response(200, body)

    # -- GET /api/v2/incremental/chats (Zendesk Chat) -----------------------------------------
    def _chats(self, request: Request) -> Response:
        limit = integer(request, "limit", MAX_PER_PAGE, 1, MAX_PER_PAGE)
        if limit is None:
            return _invalid(f"limit must be a number between 1 and {MAX_PER_PAGE}")
        start_time = integer(request, "start_time", 0, 0, None)
        if start_time is None:
            return _invalid("start_time must be a unix timestamp in seconds")
        start_id = request.param("start_id") or None
        chats = self.desk.chats
        first = int(np.searchsorted(chats.update, start_time, "left"))
        if start_id is not None:  # ties on the timestamp: resume after that chat
            tied = int(np.searchsorted(chats.update, start_time, "right"))
            first = bisect.bisect_right(chats.id, start_id, first, tied)
        visible_end = int(np.searchsorted(chats.update, self.clock.epoch_seconds(), "right"))
        rows = np.arange(first, max(first, min(first + limit, visible_end)))
        end_time = int(chats.update[rows[-1]]) if len(rows) else start_time
        end_id = chats.id[rows[-1]] if len(rows) else (start_id or "")
        next_page = None
        if len(rows) == limit:
            next_page = url_with_query(f"{self.base}/api/v2/{CHATS_EXPORT}",
                                       [("start_time", str(end_time)), ("start_id", end_id), ("limit", str(limit))])
        return json_response(200, {"chats": render_chats(self.desk, rows), "count": len(rows), "end_time": end_time,
                                   "end_id": end_id, "next_page": next_page})
