"""The survey provider's responses API: `GET …/api/v1/responses` with Bearer auth,
`updated_since` (inclusive) / `updated_until` (exclusive), `per_page` ≤ 100 and an opaque
`page_token`, answered by `updated_at` then id."""

from __future__ import annotations

import time
from datetime import datetime
from typing import Callable, Iterator

from connectors.base import iso_utc
from connectors.http import HttpClient, RetryPolicy, SourceError
from connectors.services import ServiceConfig

MAX_PER_PAGE = 100


class SurveyProvider:
    def __init__(self, config: ServiceConfig, *, policy: RetryPolicy | None = None,
                 sleep: Callable[[float], None] = time.sleep):
        token = config.secret("api_token")
        self.name = config.name
        self.http = HttpClient(self.name, headers={"Authorization": f"Bearer {token}"}, secrets=(token,),
                               policy=policy, sleep=sleep)
        self.url = f"{str(config.options['base_url']).rstrip('/')}/api/v1/responses"
        self.link_base = str(config.options["link_base"]).rstrip("/")

    def close(self) -> None:
        self.http.close()

    def link(self, survey: str, token: str) -> str:
        return f"{self.link_base}/r/{survey}/{token}"

    def response_pages(self, since: datetime, until: datetime) -> Iterator[list[dict]]:
        params = {"updated_since": iso_utc(since), "updated_until": iso_utc(until), "per_page": MAX_PER_PAGE}
        while True:
            body, _ = self.http.get_json(self.url, params)
            if not isinstance(body, dict) or not isinstance(body.get("responses"), list):
                raise SourceError(self.name, self.http.describe(self.url, params),
                                  "expected a JSON object with a `responses` list")
            yield body["responses"]
            token = body.get("next_page_token")
            if not token:
                return
            params = {**params, "page_token": token}
