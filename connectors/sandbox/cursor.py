"""Opaque, signed page_info tokens: the listing's filters, its order and the last row's key.

Signed per store, so a token from another store or one edited by hand is "Invalid value."
rather than a silently different listing.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

import orjson

_MAC_BYTES = 10


class InvalidCursor(ValueError):
    pass


def encode_cursor(payload: dict, key: bytes) -> str:
    body = orjson.dumps(payload, option=orjson.OPT_SORT_KEYS)
    mac = hmac.new(key, body, hashlib.sha256).digest()[:_MAC_BYTES]
    return base64.urlsafe_b64encode(mac + body).decode().rstrip("=")


def decode_cursor(token: str, key: bytes) -> dict:
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (ValueError, TypeError) as error:
        raise InvalidCursor(token) from error
    mac, body = raw[:_MAC_BYTES], raw[_MAC_BYTES:]
    if len(mac) < _MAC_BYTES or not hmac.compare_digest(mac, hmac.new(key, body, hashlib.sha256).digest()[:_MAC_BYTES]):
        raise InvalidCursor(token)
    try:
        payload = orjson.loads(body)
    except orjson.JSONDecodeError as error:
        raise InvalidCursor(token) from error
    if not isinstance(payload, dict):
        raise InvalidCursor(token)
    return payload
