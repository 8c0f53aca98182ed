"""A Twilio-style SMS provider: `POST /twilio/2010-04-01/Accounts/{AccountSid}/Messages.json`.

Form-encoded `To`, `From` or `MessagingServiceSid`, `Body`; HTTP Basic AccountSid:AuthToken. Every
accepted message is recorded (sb.sms_messages()) and handed to the respondents, who may answer the
survey links in it. Rate limit: a leaky bucket of `sms_messages_per_second` (wall-clock time).
"""

from __future__ import annotations

import copy
import hashlib
import math
import re
import threading
from datetime import datetime, timezone
from typing import Callable
from urllib.parse import parse_qsl

from .clock import SandboxClock
from .protocol import Request, Response, json_response
from .ratelimit import LeakyBucket
from .support import basic_credentials, same
from .support_render import iso_one

API_VERSION = "2010-04-01"
E164 = re.compile(r"\+[1-9]\d{7,14}")
MAX_BODY = 1600
_GSM = set("@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿"
           "abcdefghijklmnopqrstuvwxyzäöñüà")
_GSM_EXTENDED = set("^{}\\[~]|€")  # two septets each


def _error(status: int, code: int, message: str) -> Response:
    return json_response(status, {"code": code, "message": message,
                                  "more_info": f"https://www.twilio.com/docs/errors/{code}", "status": status})


UNAUTHORIZED = (401, 20003, "Authenticate")
FAULTS = {"429": (429, 20429, "Too Many Requests"), "500": (500, 20500, "Internal Server Error"),
          "502": (502, 20500, "Bad Gateway"), "503": (503, 20503, "Service Unavailable")}


def segments(body: str) -> int:
    """SMS segments: GSM-7 160 septets (153 when split), else UCS-2 70 code units (67 when split)."""
    if all(char in _GSM or char in _GSM_EXTENDED for char in body):
        septets = sum(2 if char in _GSM_EXTENDED else 1 for char in body)
        return 1 if septets <= 160 else math.ceil(septets / 153)
    units = len(body.encode("utf-16-le")) // 2
    return 1 if units <= 70 else math.ceil(units / 67)


def rfc2822(seconds: int) -> str:
    return datetime.fromtimestamp(seconds, timezone.utc).strftime("%a, %d %b %Y %H:%M:%S +0000")


class TwilioApi:
    def __init__(self, seed: int, clock: SandboxClock, account_sid: str, auth_token: str, messages_per_second: float,
                 on_message: Callable[[str, str, int], object]) -> None:
        self.seed = seed
        self.clock = clock
        self.account_sid = account_sid
        self._auth_token = auth_token
        self.bucket = LeakyBucket(max(1, math.floor(messages_per_second)), messages_per_second)
        self._retry_after = str(max(1, math.ceil(1 / messages_per_second)))
        self._on_message = on_message
        self._lock = threading.Lock()
        self._messages: list[dict] = []

    def fault_response(self, kind: str, retry_after: float) -> Response:
        response = _error(*FAULTS.get(kind, FAULTS["500"]))
        if kind == "429":
            response.headers.append(("Retry-After", str(max(1, math.ceil(retry_after)))))
        return response

    def serve(self, request: Request, account_sid: str) -> Response:
        credentials = basic_credentials(request)
        if credentials is None or credentials[0] != self.account_sid or not same(credentials[1], self._auth_token):
            return _error(*UNAUTHORIZED)
        if account_sid != self.account_sid:
            return _error(404, 20404, f"The requested resource /{API_VERSION}/Accounts/{account_sid}/Messages.json "
                                      "was not found")
        if request.method != "POST":
            return _error(405, 20004, "Method not allowed")
        accepted, _ = self.bucket.try_call()
        if not accepted:
            response = _error(*FAULTS["429"])
            response.headers.append(("Retry-After", self._retry_after))
            return response
        form = dict(parse_qsl(request.body.decode("utf-8", errors="replace"), keep_blank_values=True))
        to, sender, service, body = (form.get(name, "").strip() for name in ("To", "From", "MessagingServiceSid", "Body"))
        body = form.get("Body", "")
        if not to:
            return _error(400, 21604, "A 'To' phone number is required.")
        if not E164.fullmatch(to):
            return _error(400, 21211, f"The 'To' number {to} is not a valid phone number.")
        if not sender and not service:
            return _error(400, 21603, "A 'From' phone number is required.")
        if not body.strip():
            return _error(400, 21602, "Message body is required.")
        if len(body) > MAX_BODY:
            return _error(400, 21617, "The concatenated message body exceeds the 1600 character limit.")
        moment = self.clock.epoch_seconds()
        with self._lock:
            sid = "SM" + hashlib.sha256(f"shopops-sandbox:{self.seed}:sms:{len(self._messages)}".encode()).hexdigest()[:32]
            uri = f"/{API_VERSION}/Accounts/{self.account_sid}/Messages/{sid}.json"
            message = {
                "sid": sid, "account_sid": self.account_sid, "to": to, "from": sender or None,
                "messaging_service_sid": service or None, "body": body, "status": "queued",
                "num_segments": str(segments(body)), "num_media": "0", "direction": "outbound-api",
                "api_version": API_VERSION, "date_created": rfc2822(moment), "date_updated": rfc2822(moment),
                "date_sent": None, "price": None, "price_unit": "USD", "error_code": None, "error_message": None,
                "uri": uri, "subresource_uris": {"media": uri.replace(".json", "/Media.json")},
            }
            self._messages.append({**message, "received_at": iso_one(moment)})
        self._on_message(to, body, moment)
        return json_response(201, message)

    def messages(self) -> list[dict]:
        """Every accepted message, oldest first (copies): the 201 body plus `received_at` (sandbox clock, ISO Z)."""
        with self._lock:
            return copy.deepcopy(self._messages)
