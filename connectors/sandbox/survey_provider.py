"""The survey provider: the responses API (`GET /surveys/{account}/api/v1/responses`, bearer token,
updated_since/updated_until, page tokens) and the landing page a person opens from an invitation
(`GET`/`POST /surveys/{account}/r/{survey}/{token}`). The provider stores what is submitted and does
not check the token: the consumer verifies it."""

from __future__ import annotations

import html
import math
from datetime import timezone
from urllib.parse import parse_qsl

from .clock import SandboxClock
from .cursor import InvalidCursor, decode_cursor, encode_cursor
from .params import integer
from .protocol import Request, Response, json_response
from .respondents import SURVEY_QUESTIONS, ResponseBook, Respondents, SurveyResponse
from .support import bearer_token, same
from .support_render import iso_one
from .timezones import parse_timestamp
from .windowlimit import WindowLimit

MAX_PER_PAGE, DEFAULT_PER_PAGE = 100, 50
HTML_TYPE = "text/html; charset=utf-8"
UNAUTHORIZED = {"error": "unauthorized"}
THROTTLED = {"error": "rate_limited", "message": "Too many requests: at most {limit} per minute"}
FAULTS = {"500": "internal_error", "502": "bad_gateway", "503": "service_unavailable"}
_FOREVER = 2**62
_LABELS = {"nps": "How likely are you to recommend us to a friend? (0 = not at all, 10 = extremely)",
           "csat": "How satisfied are you? (1 = very unsatisfied, 5 = very satisfied)"}
_RANGES = {"nps": (0, 10), "csat": (1, 5)}
_TITLES = {"post_purchase": "How was your order?", "complaint": "How did we handle your request?",
           "relationship": "How are we doing?"}


def _bad(message: str) -> Response:
    return json_response(400, {"error": "invalid_request", "message": message})


def html_page(status: int, title: str, body: str) -> Response:
    document = (f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{html.escape(title)}</title>"
                f"</head>\n<body>\n<h1>{html.escape(title)}</h1>\n{body}\n</body></html>\n")
    return Response(status, document.encode(), [("Content-Type", HTML_TYPE)])


def render_response(response: SurveyResponse) -> dict:
    return {
        "id": response.id,
        "survey": response.survey,
        "token": response.token,
        "answers": {"nps": response.nps, "csat": response.csat},
        "comment": response.comment,
        "channel": response.channel,
        "submitted_at": iso_one(response.submitted_at),
        "updated_at": iso_one(response.updated_at),
    }


class SurveyProvider:
    def __init__(self, account: str, clock: SandboxClock, api_token: str, signing_key: bytes,
                 requests_per_minute: int, respondents: Respondents, book: ResponseBook) -> None:
        self.account = account
        self.clock = clock
        self._api_token = api_token
        self._signing_key = signing_key
        self.limit = WindowLimit(requests_per_minute)
        self.respondents = respondents
        self.book = book

    def fault_response(self, kind: str, retry_after: float) -> Response:
        if kind == "429":
            return json_response(429, {"error": "rate_limited", "message": "Too many requests"},
                                 [("Retry-After", str(max(1, math.ceil(retry_after))))])
        if kind == "expired_cursor":
            return _bad("invalid page_token")
        return json_response(int(kind), {"error": FAULTS.get(kind, "internal_error")})

    # -- GET /api/v1/responses ----------------------------------------------------------------
    def serve_api(self, request: Request) -> Response:
        if not same(bearer_token(request), self._api_token):
            return json_response(401, UNAUTHORIZED)
        if request.method != "GET":
            return json_response(405, {"error": "method_not_allowed"})
        accepted, retry_after = self.limit.try_call()
        if not accepted:
            body = {**THROTTLED, "message": THROTTLED["message"].format(limit=self.limit.limit)}
            return json_response(429, body, [("Retry-After", str(retry_after))])
        per_page = integer(request, "per_page", DEFAULT_PER_PAGE, 1, MAX_PER_PAGE)
        if per_page is None:
            return _bad(f"per_page must be between 1 and {MAX_PER_PAGE}")
        token = request.param("page_token")
        if token:
            try:
                position = decode_cursor(token, self._signing_key)
                since, until = int(position["s"]), int(position["u"])
                after = (int(position["t"]), str(position["i"]))
            except (InvalidCursor, KeyError, TypeError, ValueError):
                return _bad("invalid page_token")
        else:
            bounds = []
            for name, default in (("updated_since", -_FOREVER), ("updated_until", _FOREVER)):
                raw = request.param(name)
                if raw is None or raw == "":
                    bounds.append(default)
                    continue
                try:
                    # Whole seconds: since is inclusive (>= ceil), until exclusive (< ceil).
                    bounds.append(math.ceil(parse_timestamp(raw, timezone.utc)))
                except ValueError:
                    return _bad(f"{name} must be an ISO 8601 timestamp")
            since, until = bounds
            after = None
        page = self.book.page(self.clock.epoch_seconds(), since, until, after, per_page + 1)
        more = len(page) > per_page
        page = page[:per_page]
        next_token = None
        if more:
            last = page[-1]
            next_token = encode_cursor({"s": since, "u": until, "t": last.submitted_at, "i": last.id}, self._signing_key)
        return json_response(200, {"responses": [render_response(r) for r in page], "next_page_token": next_token})

    # -- GET / POST /r/{survey}/{token}: the landing page --------------------------------------
    def serve_landing(self, request: Request, survey: str, token: str) -> Response:
        if survey not in SURVEY_QUESTIONS:
            return html_page(404, "Survey not found", "<p>This survey does not exist.</p>")
        if request.method == "GET":
            return html_page(200, _TITLES[survey], self._form(survey, token))
        if request.method != "POST":
            return html_page(405, "Method not allowed", "<p>Use the form.</p>")
        form = dict(parse_qsl(request.body.decode("utf-8", errors="replace"), keep_blank_values=True))
        answers: dict[str, int | None] = {"nps": None, "csat": None}
        for question in SURVEY_QUESTIONS[survey]:
            low, high = _RANGES[question]
            raw = form.get(question, "").strip()
            if not raw.isdigit() or not low <= int(raw) <= high:
                return html_page(400, _TITLES[survey], f"<p class=\"error\">Please answer: {html.escape(_LABELS[question])}"
                                                   f"</p>\n{self._form(survey, token)}")
            answers[question] = int(raw)
        comment = form.get("comment", "").strip() or None
        self.respondents.submitted(survey, token, answers["nps"], answers["csat"], comment, self.clock.epoch_seconds())
        return html_page(200, "Thank you", "<p>Thank you for your feedback!</p>")

    def _form(self, survey: str, token: str) -> str:
        fields = []
        for question in SURVEY_QUESTIONS[survey]:
            low, high = _RANGES[question]
            options = " ".join(f'<label><input type="radio" name="{question}" value="{value}" required> {value}</label>'
                               for value in range(low, high + 1))
            fields.append(f"<fieldset><legend>{html.escape(_LABELS[question])}</legend>{options}</fieldset>")
        fields.append('<p><label>Anything else you would like to tell us?<br>'
                      '<textarea name="comment" rows="4" cols="60"></textarea></label></p>')
        action = f"/surveys/{self.account}/r/{survey}/{html.escape(token)}"
        return (f'<form method="post" action="{action}">\n' + "\n".join(fields) +
                '\n<p><button type="submit">Send</button></p>\n</form>')
