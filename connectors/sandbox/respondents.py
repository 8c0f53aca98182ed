"""The people who get survey invitations: when an e-mail (SMTP) or an SMS reaches the sandbox for one
of the stores' customers, each survey link in it may be answered some time later, as that customer
would, and the answer waits in the survey provider until the sandbox clock reaches it.

Everything about a response is drawn from (seed, token) — whether the customer answers (35% of
e-mailed links, 25% of texted ones), after how long (10 minutes to 72 hours from the sandbox time the
message arrived), the scores, the comment, a replay or a tampered token — and from the customer's
experience as the data tell it at that time: a complaint ticket or a refund lowers the scores, a late
shipment too. The same seed, messages and arrival times give the same responses.
"""

from __future__ import annotations

import hashlib
import html
import re
import threading
from bisect import insort
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from .catalogue import DAY
from .config import SandboxConfig
from .lifecycle import REFUND_NOTES
from .support_data import (DAMAGED, DELIVERY_DELAY, DESCRIPTION_MISMATCH, HOUR, LATE_SHIPMENT, MINUTE,
                           NO_CAUSE, OTHER, QUALITY, QUESTION, WRONG_ITEM, SupportDesk)
from .support_render import sku_title
from .wire import NEVER

SURVEYS = ("post_purchase", "complaint", "relationship")
# Which answers each survey asks for.
SURVEY_QUESTIONS = {"post_purchase": ("nps", "csat"), "complaint": ("csat",), "relationship": ("nps",)}
CHANNELS = ("email", "sms")
RESPONSE_RATES = {"email": 0.35, "sms": 0.25}
MIN_DELAY, MAX_DELAY = 10 * MINUTE, 72 * HOUR
COMMENT_SHARE = 0.40
REPLAY_SHARE, TAMPERED_SHARE = 0.02, 0.01
TOKEN = r"[A-Za-z0-9_.-]+"
_TOKEN_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
_NOTE_CAUSE = {"Damaged in transit": DAMAGED, "Item not as described": DESCRIPTION_MISMATCH,
               "Arrived too late": DELIVERY_DELAY}
_UNHAPPY = {
    DELIVERY_DELAY: ("Delivery took far too long, the parcel arrived over a week late.",
                     "My order was late and nobody told me why.", "Shipping was very slow."),
    DESCRIPTION_MISMATCH: ("The {title} looked nothing like the photos, the description is misleading.",
                           "Item not as described: the size was wrong.", "Not what the product page promised."),
    QUALITY: ("The {title} broke after two weeks. Poor quality.", "Quality is really bad for the price.",
              "Cheap materials, it fell apart."),
    DAMAGED: ("The {title} arrived damaged, the box was crushed.", "Arrived broken.",
              "Packaging was poor and the item was damaged."),
    WRONG_ITEM: ("I received the wrong item and had to send it back.", "Wrong product in the parcel.",
                 "They sent me something I did not order."),
    OTHER: ("Support took ages to answer.", "Not happy with how my complaint was handled.",
            "Disappointing experience overall."),
}
_NEUTRAL = ("OK overall, delivery could be faster.", "Fine, nothing special.", "Good product, a bit expensive.",
            "Decent, but the packaging could be better.")
_HAPPY = ("Great service, fast delivery!", "Lovely product, exactly as described.", "Very happy, will order again.",
          "Quick and friendly support, thank you!", "Excellent quality.", "Arrived early and well packed.")


def link_pattern(link_base: str) -> re.Pattern:
    return re.compile(re.escape(link_base.rstrip("/")) + rf"/r/({'|'.join(SURVEYS)})/({TOKEN})")


def find_links(pattern: re.Pattern, texts: list[str]) -> list[tuple[str, str]]:
    """(survey, token) of every link, first occurrence order, once each; HTML entities are read as
    characters and a trailing '.' (the end of a sentence) is not part of the token."""
    found: dict[tuple[str, str], None] = {}
    for text in texts:
        for match in pattern.finditer(html.unescape(text)):
            token = match.group(2).rstrip(".")
            if token:
                found.setdefault((match.group(1), token), None)
    return list(found)


def e164(phone: str) -> str:
    """'+1 212-555-0123' -> '+12125550123' (a served phone, or an SMS `To`)."""
    return "+" + re.sub(r"\D", "", phone)


def _rng(seed: int, token: str) -> np.random.Generator:
    digest = hashlib.sha256(f"shopops-sandbox:{seed}:respondent:{token}".encode()).digest()
    return np.random.Generator(np.random.PCG64(int.from_bytes(digest[:16], "big")))


def response_id(seed: int, survey: str, token: str, submission: int) -> str:
    return "rsp_" + hashlib.sha256(f"shopops-sandbox:{seed}:response:{survey}:{token}:{submission}".encode()).hexdigest()[:20]


@dataclass
class Experience:
    orders: int = 0
    complaint_cause: int = NO_CAUSE   # of the latest complaint ticket, NO_CAUSE = none
    complaint_sku: int = -1
    complaint_handled_well: bool = True  # first reply within its SLA and solved within 24 h
    refund_cause: int = NO_CAUSE       # OTHER for a refund of another reason, NO_CAUSE = no refund
    late: bool = False                 # an order shipped late


@dataclass(order=True)
class SurveyResponse:
    submitted_at: int
    id: str
    survey: str = field(compare=False)
    token: str = field(compare=False)            # as submitted
    invitation_token: str = field(compare=False)  # as sent (differs when tampered)
    nps: int | None = field(compare=False)
    csat: int | None = field(compare=False)
    comment: str | None = field(compare=False)
    channel: str | None = field(compare=False)
    store: str | None = field(compare=False)
    customer_id: int | None = field(compare=False)
    customer_email: str | None = field(compare=False)
    replay: bool = field(compare=False, default=False)
    tampered: bool = field(compare=False, default=False)
    source: str = field(compare=False, default="respondent")  # or "landing_page"

    @property
    def updated_at(self) -> int:
        return self.submitted_at  # a response is never edited

    @property
    def key(self) -> tuple[int, str]:
        return self.submitted_at, self.id


class ResponseBook:
    """The survey provider's responses, kept in (updated_at, id) order; shared by every thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._responses: list[SurveyResponse] = []

    def add(self, response: SurveyResponse) -> None:
        with self._lock:
            insort(self._responses, response)

    def page(self, moment: int, since: int, until: int, after: tuple[int, str] | None, limit: int) -> list[SurveyResponse]:
        """Up to `limit` responses with since <= updated_at < until, updated_at <= moment, after `after`."""
        with self._lock:
            return [r for r in self._responses
                    if since <= r.submitted_at < until and r.submitted_at <= moment and (after is None or r.key > after)
                    ][:limit]

    def all(self) -> list[SurveyResponse]:
        with self._lock:
            return list(self._responses)

    def has_token(self, survey: str, token: str) -> bool:
        with self._lock:
            return any(r.survey == survey and r.invitation_token == token for r in self._responses)


class Respondents:
    def __init__(self, config: SandboxConfig, desk: SupportDesk, link_base: Callable[[], str],
                 book: ResponseBook) -> None:
        self.seed = config.seed
        self.desk = desk
        self.book = book
        self._link_base = link_base
        self._lock = threading.Lock()
        self._directory: tuple[dict, dict] | None = None
        self._orders_of: list[tuple[np.ndarray, np.ndarray]] | None = None
        self._complaints_of: dict[tuple[int, int], list[int]] | None = None
        self._answered: set[tuple[str, str]] = set()
        self.invitations: list[dict] = []

    # -- who is who ---------------------------------------------------------------------------
    def _build(self) -> None:
        """E-mail address and E.164 phone -> (store, customer row), on the first message (not at start)."""
        by_email: dict[str, tuple[int, int]] = {}
        by_phone: dict[str, tuple[int, int]] = {}
        orders_of = []
        for index, store in enumerate(self.desk.stores):
            customers = store.customers
            rows = np.arange(len(customers.id))
            for row, email in zip(rows.tolist(), customers.emails(rows)):
                by_email.setdefault(email.lower(), (index, row))
            with_phone = np.flatnonzero(customers.has_phone)
            for row, address in zip(with_phone.tolist(), customers.addresses(with_phone)):
                by_phone.setdefault(e164(address["phone"]), (index, row))
            order = np.argsort(store.customer, kind="stable")
            offsets = np.concatenate([[0], np.cumsum(np.bincount(store.customer, minlength=len(rows)))])
            orders_of.append((order, offsets))
        complaints: dict[tuple[int, int], list[int]] = {}
        tickets = self.desk.tickets
        for row in np.flatnonzero((tickets.type != QUESTION) & (tickets.customer >= 0)).tolist():
            complaints.setdefault((int(tickets.store[row]), int(tickets.customer[row])), []).append(row)
        self._directory, self._orders_of, self._complaints_of = (by_email, by_phone), orders_of, complaints

    def _lookup(self, channel: str, address: str) -> tuple[int, int] | None:
        with self._lock:
            if self._directory is None:
                self._build()
        by_email, by_phone = self._directory
        return by_email.get(address.strip().lower()) if channel == "email" else by_phone.get(e164(address))

    def experience(self, store: int, customer: int, moment: int) -> Experience:
        data = self.desk.stores[store]
        order, offsets = self._orders_of[store]
        rows = order[offsets[customer]:offsets[customer + 1]]
        rows = rows[data.created[rows] <= moment]
        life = data.life
        seen = Experience(orders=len(rows))
        refunded = rows[life.refund_at[rows] <= moment]
        if len(refunded):
            note = REFUND_NOTES[int(life.refund_note[refunded[-1]])]
            seen.refund_cause = _NOTE_CAUSE.get(note, OTHER)
        shipped = rows[life.fulfilled_at[rows] <= moment]
        seen.late = bool(np.any(life.fulfilled_at[shipped] - data.created[shipped] > LATE_SHIPMENT))
        tickets = self.desk.tickets
        complaints = [row for row in self._complaints_of.get((store, customer), []) if tickets.created[row] <= moment]
        if complaints:
            row = complaints[-1]
            seen.complaint_cause, seen.complaint_sku = int(tickets.cause[row]), int(tickets.sku[row])
            reply, solved = tickets.first_reply[row], tickets.solved[row]
            seen.complaint_handled_well = bool(reply - tickets.created[row] <= tickets.sla_seconds[row]
                                               and solved != NEVER and solved - tickets.created[row] <= DAY)
        return seen

    # -- messages -----------------------------------------------------------------------------
    def email_arrived(self, recipients: list[str], texts: list[str], moment: int) -> list[tuple[str, str]]:
        return self._arrived("email", recipients, texts, moment)

    def sms_arrived(self, to: str, body: str, moment: int) -> list[tuple[str, str]]:
        return self._arrived("sms", [to], [body], moment)

    def _arrived(self, channel: str, recipients: list[str], texts: list[str], moment: int) -> list[tuple[str, str]]:
        """Schedule the answers to the links of one message; the (survey, token) links found."""
        links = find_links(link_pattern(self._link_base()), texts)
        if not links:
            return links
        person = next((found for found in (self._lookup(channel, r) for r in recipients) if found), None)
        for survey, token in links:
            with self._lock:
                first = (survey, token) not in self._answered
                self._answered.add((survey, token))
            responses = self._respond(channel, survey, token, person, moment) if first and person else []
            store = self.desk.stores[person[0]] if person else None
            with self._lock:
                self.invitations.append({
                    "channel": channel, "survey": survey, "token": token, "received_at": moment,
                    "store": store.name if store else None,
                    "customer_id": int(store.customers.id[person[1]]) if store else None,
                    "recipients": list(recipients), "responds": bool(responses)})
            for response in responses:
                self.book.add(response)
        return links

    def _respond(self, channel: str, survey: str, token: str, person: tuple[int, int], moment: int) -> list[SurveyResponse]:
        rng = _rng(self.seed, token)
        draws = rng.random(4)  # answers?, replay or tampered, comment?, comment text
        delay = int(np.clip(np.exp(rng.normal(np.log(6 * HOUR), 1.1)), MIN_DELAY, MAX_DELAY))
        if draws[0] >= RESPONSE_RATES[channel]:
            return []
        store, customer = person
        seen = self.experience(store, customer, moment)
        nps, csat = self._scores(rng, survey, seen)
        comment = self._comment(rng, seen, nps, csat) if draws[2] < COMMENT_SHARE else None
        data = self.desk.stores[store]
        email = data.customers.emails(np.array([customer]))[0]
        base = dict(survey=survey, invitation_token=token, nps=nps, csat=csat, comment=comment, channel=channel,
                    store=data.name, customer_id=int(data.customers.id[customer]), customer_email=email)
        replay, tampered = draws[1] < REPLAY_SHARE, REPLAY_SHARE <= draws[1] < REPLAY_SHARE + TAMPERED_SHARE
        submitted = moment + delay
        first = SurveyResponse(submitted_at=submitted, id=response_id(self.seed, survey, token, 0),
                               token=_tampered(rng, token) if tampered else token, tampered=tampered, **base)
        responses = [first]
        if replay:
            again = submitted + int(rng.integers(1 * HOUR, 12 * HOUR))
            responses.append(SurveyResponse(submitted_at=again, id=response_id(self.seed, survey, token, 1),
                                            token=token, replay=True, **base))
        return responses

    @staticmethod
    def _scores(rng: np.random.Generator, survey: str, seen: Experience) -> tuple[int | None, int | None]:
        if survey == "complaint":
            a, b = (4.0, 2.0) if seen.complaint_handled_well else (2.0, 3.2)
        elif seen.complaint_cause != NO_CAUSE:
            a, b = 2.2, 2.6
        elif seen.refund_cause != NO_CAUSE:
            a, b = 2.8, 2.2
        elif seen.late:
            a, b = 3.5, 1.8
        else:
            a, b = 6.0, 1.5
        mood = float(rng.beta(a, b))
        nps = min(10, int(mood * 11))
        csat = min(5, 1 + int(np.clip(mood + rng.normal(0, 0.07), 0, 0.999) * 5))
        asked = SURVEY_QUESTIONS[survey]
        return (nps if "nps" in asked else None), (csat if "csat" in asked else None)

    def _comment(self, rng: np.random.Generator, seen: Experience, nps: int | None, csat: int | None) -> str:
        pick = int(rng.integers(0, 1 << 30))
        unhappy = (nps is not None and nps <= 6) or (csat is not None and csat <= 2)
        happy = (nps is None or nps >= 9) and (csat is None or csat >= 4)
        if unhappy:
            cause = next((c for c in (seen.complaint_cause, seen.refund_cause,
                                      DELIVERY_DELAY if seen.late else NO_CAUSE) if c != NO_CAUSE), OTHER)
            options = _UNHAPPY[cause]
            title = sku_title(self.desk, seen.complaint_sku) if seen.complaint_sku >= 0 else None
            usable = [text for text in options if title or "{title}" not in text]
            return usable[pick % len(usable)].format(title=title)
        return (_HAPPY if happy else _NEUTRAL)[pick % len(_HAPPY if happy else _NEUTRAL)]

    def invited(self) -> list[dict]:
        """Every survey link that reached the sandbox, oldest first (copies)."""
        with self._lock:
            return [dict(invitation) for invitation in self.invitations]

    # -- the landing page ---------------------------------------------------------------------
    def submitted(self, survey: str, token: str, nps: int | None, csat: int | None, comment: str | None,
                  moment: int) -> SurveyResponse:
        """A person answered on the landing page: stored as sent (the provider does not check the token)."""
        with self._lock:
            invited = next((i for i in reversed(self.invitations) if i["survey"] == survey and i["token"] == token), None)
            count = sum(1 for r in self.book.all() if r.survey == survey and r.invitation_token == token)
        response = SurveyResponse(
            submitted_at=moment, id=response_id(self.seed, survey, token, 100 + count), survey=survey, token=token,
            invitation_token=token, nps=nps, csat=csat, comment=comment,
            channel=invited["channel"] if invited else None, store=invited["store"] if invited else None,
            customer_id=invited["customer_id"] if invited else None, customer_email=None, replay=count > 0,
            source="landing_page")
        self.book.add(response)
        return response


def _tampered(rng: np.random.Generator, token: str) -> str:
    """The token with one character changed (to a letter or digit it was not)."""
    position = int(rng.integers(0, len(token)))
    choices = [c for c in _TOKEN_CHARS if c != token[position]]
    return token[:position] + choices[int(rng.integers(0, len(choices)))] + token[position + 1:]

