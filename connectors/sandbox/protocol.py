"""Requests and responses as plain values, so the APIs are testable without sockets."""

from __future__ import annotations

from dataclasses import dataclass, field
from email.message import Message
from urllib.parse import urlencode

import orjson

JSON_TYPE = "application/json; charset=utf-8"


@dataclass
class Request:
    method: str
    path: str
    query: list[tuple[str, str]]
    headers: Message  # case-insensitive get(), as http.server gives it
    body: bytes = b""

    def param(self, name: str) -> str | None:
        """The last value of a query parameter, as Rails and PHP read repeated parameters."""
        value = None
        for key, item in self.query:
            if key == name:
                value = item
        return value

    def param_names(self) -> list[str]:
        return list(dict.fromkeys(key for key, _ in self.query))


@dataclass
class Response:
    status: int
    body: bytes
    headers: list[tuple[str, str]] = field(default_factory=list)
    truncate: bool = False  # send the full Content-Length, half the body, then close


def json_response(status: int, payload: object, headers: list[tuple[str, str]] | None = None) -> Response:
    return Response(status, orjson.dumps(payload), [("Content-Type", JSON_TYPE), *(headers or [])])


def url_with_query(base: str, params: list[tuple[str, str]]) -> str:
    return f"{base}?{urlencode(params)}" if params else base
