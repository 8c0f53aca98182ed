"""The support desk and survey services of the sandbox, wired together: the Zendesk desk, the Twilio
SMS provider, the SMTP server, the survey provider and the respondents between them; routing of their
URLs for SandboxApp (faults by the names "support", "sms" and "surveys")."""

from __future__ import annotations

import re
from functools import partial
from typing import Callable

from .clock import SandboxClock
from .config import SandboxConfig
from .credentials import (AGENT_EMAIL, SMTP_USERNAME, SUPPORT_DESK, SURVEY_ACCOUNT, service_secrets,
                          service_signing_key, sms_account_sid)
from .generator import World
from .protocol import Request, Response
from .respondents import ResponseBook, Respondents
from .sms import TwilioApi
from .smtp_server import SmtpServer
from .support import ZendeskApi
from .support_data import build_support
from .survey_provider import SurveyProvider, html_page

ZENDESK_PATH = re.compile(r"/zendesk/(?P<desk>[a-z0-9-]+)/api/v2/(?P<endpoint>incremental/tickets/cursor\.json|"
                          r"incremental/chats)")
TWILIO_PATH = re.compile(r"/twilio/2010-04-01/Accounts/(?P<sid>[A-Za-z0-9]+)/Messages\.json")
SURVEY_API_PATH = re.compile(r"/surveys/(?P<account>[a-z0-9-]+)/api/v1/responses")
SURVEY_LANDING_PATH = re.compile(r"/surveys/(?P<account>[a-z0-9-]+)/r/(?P<survey>[a-z_]+)/(?P<token>[A-Za-z0-9_.-]+)")
FAULT_TARGETS = ("support", "sms", "surveys")

Route = tuple[str, str, Callable[[], Response], Callable[[str, float], Response]]


class SupportServices:
    def __init__(self, config: SandboxConfig, world: World, clock: SandboxClock, base_url: Callable[[], str],
                 smtp_host: str = "127.0.0.1", smtp_port: int = 0) -> None:
        secrets = service_secrets(config.seed)
        self.config = config
        self.clock = clock
        self._base_url = base_url
        self.desk = build_support(config, world)
        self.book = ResponseBook()
        self.respondents = Respondents(config, self.desk, self.survey_base, self.book)
        self.zendesk = ZendeskApi(self.desk, SUPPORT_DESK, clock, AGENT_EMAIL, secrets["desk"]["api_token"],
                                  secrets["desk"]["chat_token"], service_signing_key(config.seed, SUPPORT_DESK),
                                  config.support_export_requests_per_minute, base_url)
        self.twilio = TwilioApi(config.seed, clock, sms_account_sid(config.seed), secrets["sms"]["auth_token"],
                                config.sms_messages_per_second, self.respondents.sms_arrived)
        self.surveys = SurveyProvider(SURVEY_ACCOUNT, clock, secrets["surveys"]["api_token"],
                                      service_signing_key(config.seed, SURVEY_ACCOUNT),
                                      config.survey_api_requests_per_minute, self.respondents, self.book)
        self.smtp = SmtpServer(smtp_host, smtp_port, SMTP_USERNAME, secrets["smtp"]["password"], clock,
                               self._email_arrived, auth_without_tls=config.smtp_auth_without_tls)

    def survey_base(self) -> str:
        return f"{self._base_url()}/surveys/{SURVEY_ACCOUNT}"

    def _email_arrived(self, message: dict, moment: int) -> None:
        texts = [text for text in (message["text"], message["html"]) if text]
        self.respondents.email_arrived(message["rcpt_tos"], texts, moment)

    def route(self, request: Request) -> Route | None:
        """(fault target, endpoint, answer the request, answer with a fault) for one of the services' URLs."""
        match = ZENDESK_PATH.fullmatch(request.path)
        if match and match["desk"] == self.zendesk.name:
            endpoint = match["endpoint"]
            return "support", endpoint, partial(self.zendesk.serve, request, endpoint), self.zendesk.fault_response
        match = TWILIO_PATH.fullmatch(request.path)
        if match:
            return "sms", "Messages.json", partial(self.twilio.serve, request, match["sid"]), self.twilio.fault_response
        match = SURVEY_API_PATH.fullmatch(request.path)
        if match and match["account"] == self.surveys.account:
            return "surveys", "responses", partial(self.surveys.serve_api, request), self.surveys.fault_response
        match = SURVEY_LANDING_PATH.fullmatch(request.path)
        if match and match["account"] == self.surveys.account:
            serve = partial(self.surveys.serve_landing, request, match["survey"], match["token"])
            return "surveys", "landing", serve, _landing_fault
        return None


def _landing_fault(kind: str, retry_after: float) -> Response:
    status = 429 if kind == "429" else 500 if kind == "expired_cursor" else int(kind)
    response = html_page(status, "Something went wrong", "<p>Please try again in a moment.</p>")
    if kind == "429":
        response.headers.append(("Retry-After", str(max(1, round(retry_after)))))
    return response
