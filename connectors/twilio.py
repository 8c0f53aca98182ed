"""SMS through Twilio's Messages API: `POST /2010-04-01/Accounts/{sid}/Messages.json`, form-encoded
`To`, `From`, `Body`, Basic auth with the account sid and auth token. A 429 (error 20429) or 503
is retried (the message was not accepted); anything else is final, so a message is never sent twice."""

from __future__ import annotations

import time
from typing import Callable

import orjson
from requests.auth import HTTPBasicAuth

from connectors.http import HttpClient, RetryPolicy
from connectors.services import ServiceConfig


class SmsRefused(Exception):
    """The provider refused one message (an invalid number, …): that invitation fails, the others go on."""


class TwilioSms:
    def __init__(self, config: ServiceConfig, *, policy: RetryPolicy | None = None,
                 sleep: Callable[[float], None] = time.sleep):
        token = config.secret("auth_token")
        sid = str(config.options["account_sid"])
        self.sender = str(config.options["from"])
        self.http = HttpClient(config.name, auth=HTTPBasicAuth(sid, token), secrets=(token,), policy=policy, sleep=sleep)
        self.url = f"{str(config.options['base_url']).rstrip('/')}/2010-04-01/Accounts/{sid}/Messages.json"

    def close(self) -> None:
        self.http.close()

    def send(self, to: str, body: str) -> str:
        """The message sid."""
        response = self.http.post_form(self.url, {"To": to, "From": self.sender, "Body": body})
        try:
            answer = orjson.loads(response.content)
        except orjson.JSONDecodeError:
            answer = {}
        if response.status_code != 201 or not answer.get("sid"):
            # The provider's message names the number: only its error code is kept.
            raise SmsRefused(f"SMS refused: HTTP {response.status_code}, error {answer.get('code', 'unknown')}")
        return str(answer["sid"])
