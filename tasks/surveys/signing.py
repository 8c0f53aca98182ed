"""Signed, expiring survey links: `<invitation id>.<expiry, hex seconds>.<HMAC-SHA256, 128 bits>`.

The MAC covers the survey too, so a link for one survey cannot answer another; the expiry is
checked against when the answer was submitted; a second answer with a valid token is a replay
(decided where responses are stored, since it needs the ones already counted).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re

import pandas as pd

TOKEN = re.compile(r"^(?P<invitation>[0-9a-f]{20,40})\.(?P<expires>[0-9a-f]{1,12})\.(?P<mac>[A-Za-z0-9_-]{22})$")


def sign(key: bytes, invitation_id: str, survey: str, expires_at: pd.Timestamp) -> str:
    body = f"{invitation_id}.{int(pd.Timestamp(expires_at).timestamp()):x}"
    return f"{body}.{_mac(key, survey, body)}"


def verify(key: bytes, token: str | None, survey: str | None, submitted_at: pd.Timestamp) -> tuple[str | None, str]:
    """(invitation id or None, "valid" | "tampered" | "expired")."""
    match = TOKEN.match(token or "")
    if not match or survey is None:
        return None, "tampered"
    body = f"{match['invitation']}.{match['expires']}"
    if not hmac.compare_digest(_mac(key, survey, body), match["mac"]):
        return None, "tampered"
    if pd.Timestamp(submitted_at).timestamp() > int(match["expires"], 16):
        return match["invitation"], "expired"
    return match["invitation"], "valid"


def _mac(key: bytes, survey: str, body: str) -> str:
    digest = hmac.new(key, f"{survey}|{body}".encode(), hashlib.sha256).digest()[:16]
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")
