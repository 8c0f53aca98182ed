"""Zendesk: the incremental ticket export (cursor based, with metric sets and users side-loaded)
and the Chat incremental export.

Protocol facts this module owns: Basic auth `{agent_email}/token:{api_token}`; the ticket export
starts from `start_time` (unix seconds, more than a minute in the past) and goes on with
`cursor=<after_cursor>` until `end_of_stream`; 1000 tickets a page; incremental exports are
limited to 10 requests a minute (a 429 says how long to wait in `Retry-After`). Chats: Bearer
token, `start_time` + `start_id`, `next_page` until a page is not full.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Callable, Iterator

from requests.auth import HTTPBasicAuth

from connectors.base import utc
from connectors.http import HttpClient, LeakyBucketPacer, RetryPolicy, SourceError
from connectors.services import ServiceConfig

PAGE_SIZE = 1000
EXPORTS_PER_MINUTE = 10


class ZendeskConnector:
    def __init__(self, config: ServiceConfig, *, policy: RetryPolicy | None = None,
                 sleep: Callable[[float], None] = time.sleep):
        token = config.secret("api_token")
        self.name = config.name
        per_minute = float(config.options.get("exports_per_minute", EXPORTS_PER_MINUTE))
        # One request every 60/limit seconds, no burst: the limit is counted over any minute.
        pacer = LeakyBucketPacer(1, per_minute / 60.0, headroom=0, sleep=sleep)
        self.http = HttpClient(self.name, auth=HTTPBasicAuth(f"{config.options['agent_email']}/token", token),
                               secrets=(token,), policy=policy, pacer=pacer, sleep=sleep)
        self.chat_http = None
        if config.has_secret("chat_token"):
            chat_token = config.secret("chat_token")
            self.chat_http = HttpClient(self.name, headers={"Authorization": f"Bearer {chat_token}"},
                                        secrets=(chat_token,), policy=policy, sleep=sleep)
        self.api = f"{str(config.options['base_url']).rstrip('/')}/api/v2"
        self.page_size = min(PAGE_SIZE, int(config.options.get("page_size", PAGE_SIZE)))

    def close(self) -> None:
        self.http.close()
        if self.chat_http is not None:
            self.chat_http.close()

    def ticket_pages(self, start: datetime) -> Iterator[tuple[list[dict], list[dict], list[dict]]]:
        """(tickets, metric sets, users) pages of the tickets updated since `start`, to the end of the stream."""
        url = f"{self.api}/incremental/tickets/cursor.json"
        params: dict = {"start_time": int(utc(start).timestamp()), "per_page": self.page_size,
                        "include": "metric_sets,users"}
        while True:
            body, _ = self.http.get_json(url, params)
            if not isinstance(body, dict) or not isinstance(body.get("tickets"), list):
                raise SourceError(self.name, self.http.describe(url, params), "expected a JSON object with a `tickets` list")
            yield body["tickets"], body.get("metric_sets") or [], body.get("users") or []
            cursor = body.get("after_cursor")
            if body.get("end_of_stream") or not cursor:
                return
            params = {"cursor": cursor, "per_page": self.page_size, "include": "metric_sets,users"}

    def chat_pages(self, start: datetime) -> Iterator[list[dict]]:
        if self.chat_http is None:
            return
        url: str | None = f"{self.api}/incremental/chats"
        params: dict | None = {"start_time": int(utc(start).timestamp()), "limit": self.page_size}
        while url:
            body, _ = self.chat_http.get_json(url, params)
            if not isinstance(body, dict) or not isinstance(body.get("chats"), list):
                raise SourceError(self.name, self.chat_http.describe(url, params), "expected a JSON object with a `chats` list")
            yield body["chats"]
            url, params = body.get("next_page"), None
            if len(body["chats"]) < self.page_size:
                return
