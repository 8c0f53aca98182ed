"""Recording decisions and sending invitations so that nobody is asked twice.

- Decisions are made and written under one lock (a PostgreSQL advisory lock; SQLite's writer
  lock), after re-reading who was contacted, so overlapping runs — a schedule and a backfill —
  cannot both invite one customer. A decision already on record for the same trigger and subject
  stays as it was.
- Sending is at most once. A run claims what is due (one UPDATE … RETURNING, so two runs never
  claim the same row), then for each batch marks it `sending` and commits before the first
  message goes out, and records `sent` / `failed` after. A run that dies leaves `claimed` rows
  (never attempted: given back to `pending` later) or `sending` rows (perhaps sent: marked
  `interrupted` and never resent).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from email.message import EmailMessage
from email.utils import format_datetime

import pandas as pd
from sqlalchemy import Engine, bindparam, select, update

from connectors.smtp import MailRefused
from connectors.twilio import SmsRefused
from connectors.http import SourceError
from shopops.logs import get_logger
from tasks.surveys.eligibility import EligibilitySettings, decide
from tasks.surveys.signing import sign
from warehouse.engine import write_transaction
from warehouse.io import lock_source, read_frame, upsert_frame
from warehouse.models import Customer, SurveyInvitation

# Statuses that mean the customer has been, or is about to be, asked.
CONTACTING = ("pending", "deferred", "claimed", "sending", "sent", "interrupted")
SUBJECTS = {"post_purchase": "How was your order?", "complaint": "How did we handle your request?",
            "relationship": "Would you recommend us?"}
QUESTIONS = {"post_purchase": "How satisfied are you with your order, and how likely are you to recommend us?",
             "complaint": "How satisfied are you with how we handled your request?",
             "relationship": "How likely are you to recommend us to a friend?"}


@dataclass
class DispatchCounts:
    sent: dict[str, int] = field(default_factory=lambda: {"email": 0, "sms": 0})
    failed: int = 0
    interrupted: int = 0
    returned: int = 0
    failures: list[str] = field(default_factory=list)


def record_decisions(engine: Engine, candidates: pd.DataFrame, customers: pd.DataFrame, open_complaints: set[str],
                     moment: pd.Timestamp, decided_on: date, settings: EligibilitySettings, business_zone: str,
                     run_id: str) -> pd.DataFrame:
    """Decide and store under the survey lock; returns the decisions this run added."""
    now = pd.Timestamp(datetime.now(timezone.utc))
    with write_transaction(engine) as conn:
        lock_source(conn, "surveys")
        contacted = _last_contacts(conn, candidates["customer_key"].dropna().unique().tolist(), moment)
        decisions = decide(candidates, customers, contacted, open_complaints, moment, settings, business_zone)
        known = read_frame(conn, select(SurveyInvitation.invitation_id).where(
            SurveyInvitation.invitation_id.in_(bindparam("ids", expanding=True))),
            {"ids": decisions["invitation_id"].tolist() or [""]})
        new = decisions[~decisions["invitation_id"].isin(known["invitation_id"])]
        upsert_frame(conn, "survey_invitations", new.assign(
            customer_key=new["customer_key"].fillna(""), decided_on=decided_on, run_id=run_id, updated_at=now,
            send_after=pd.to_datetime(new["send_after"], utc=True)), ["invitation_id"], [])
    return new


def _last_contacts(conn, keys: list[str], moment: pd.Timestamp) -> pd.DataFrame:
    """Per customer: the decision time of the invitation nearest to `moment` that was or will be sent,
    and when one last really went out (see eligibility.decide)."""
    empty = pd.DataFrame(columns=["nearest", "last_sent"], index=pd.Index([], dtype=object))
    if not keys:
        return empty
    frame = read_frame(conn, select(SurveyInvitation.customer_key, SurveyInvitation.sent_at,
                                    SurveyInvitation.send_after).where(
        SurveyInvitation.status.in_(CONTACTING), SurveyInvitation.customer_key.in_(bindparam("keys", expanding=True))),
        {"keys": keys})
    if frame.empty:
        return empty
    planned = pd.to_datetime(frame["send_after"], utc=True)
    frame = frame.assign(planned=planned, distance=(planned - moment).abs(), sent_at=pd.to_datetime(frame["sent_at"], utc=True))
    nearest = frame.sort_values("distance").drop_duplicates("customer_key").set_index("customer_key")["planned"]
    return pd.DataFrame({"nearest": nearest, "last_sent": frame.groupby("customer_key")["sent_at"].max()})


def recover(engine: Engine, stale: timedelta = timedelta(minutes=30)) -> tuple[int, int]:
    """Rows a dead run left: `claimed` back to `pending`, `sending` to `interrupted`."""
    now = datetime.now(timezone.utc)
    old = SurveyInvitation.updated_at < now - stale
    with write_transaction(engine) as conn:
        returned = conn.execute(update(SurveyInvitation).where(SurveyInvitation.status == "claimed", old).values(
            status="pending", updated_at=now)).rowcount
        interrupted = conn.execute(update(SurveyInvitation).where(SurveyInvitation.status == "sending", old).values(
            status="interrupted", updated_at=now,
            reason=SurveyInvitation.reason + "; dispatch interrupted: not resent, it may have arrived")).rowcount
    return returned, interrupted


def dispatch(engine: Engine, moment: pd.Timestamp, run_id: str, *, mail=None, sms=None, link=None,
             signing_key: bytes, link_days: int = 14, batch_size: int = 20) -> DispatchCounts:
    """Send every invitation due by `moment`. `mail` / `sms`: senders (None: that channel is not set
    up, its invitations fail with that reason); `link(survey, token)` builds the survey URL."""
    log = get_logger("shopops.surveys")
    counts = DispatchCounts()
    counts.returned, counts.interrupted = recover(engine)
    now = datetime.now(timezone.utc)
    with write_transaction(engine) as conn:
        claimed = [row[0] for row in conn.execute(
            update(SurveyInvitation).where(SurveyInvitation.status.in_(("pending", "deferred")),
                                           SurveyInvitation.send_after <= moment.to_pydatetime())
            .values(status="claimed", run_id=run_id, updated_at=now).returning(SurveyInvitation.invitation_id))]
    if not claimed:
        return counts
    with engine.connect() as conn:
        due = read_frame(conn, select(SurveyInvitation.invitation_id, SurveyInvitation.survey,
                                      SurveyInvitation.channel, Customer.email, Customer.phone).join(
            Customer, Customer.customer_key == SurveyInvitation.customer_key, isouter=True).where(
            SurveyInvitation.invitation_id.in_(bindparam("ids", expanding=True))), {"ids": claimed})
    expires = moment + pd.Timedelta(days=link_days)
    log.info("survey dispatch: %d invitations due (%d by e-mail, %d by SMS)", len(due),
             int((due["channel"] == "email").sum()), int((due["channel"] == "sms").sum()))
    for start in range(0, len(due), batch_size):
        batch = due.iloc[start:start + batch_size]
        ids = batch["invitation_id"].tolist()
        with write_transaction(engine) as conn:
            conn.execute(update(SurveyInvitation).where(
                SurveyInvitation.invitation_id.in_(ids), SurveyInvitation.status == "claimed",
                SurveyInvitation.run_id == run_id).values(status="sending", updated_at=datetime.now(timezone.utc),
                                                           expires_at=expires.to_pydatetime()))
        outcomes = []
        for row in batch.itertuples(index=False):
            url = link(row.survey, sign(signing_key, row.invitation_id, row.survey, expires))
            try:
                provider_id = _send(row, url, mail, sms, moment)
                outcomes.append({"invitation_id": row.invitation_id, "status": "sent", "provider_id": provider_id,
                                 "sent_at": datetime.now(timezone.utc), "failure": None})
                counts.sent[row.channel] += 1
            except (MailRefused, SmsRefused, SourceError, OSError, _NotSetUp) as error:
                reason = _failure(error)
                outcomes.append({"invitation_id": row.invitation_id, "status": "failed", "provider_id": None,
                                 "sent_at": None, "failure": reason})
                counts.failed += 1
                counts.failures.append(reason)
        _record_outcomes(engine, outcomes)
        log.info("survey dispatch: %d of %d done", min(start + batch_size, len(due)), len(due))
    return counts


class _NotSetUp(Exception):
    pass


def _send(row, url: str, mail, sms, moment: pd.Timestamp) -> str:
    if row.channel == "email":
        if mail is None:
            raise _NotSetUp("no SMTP server is configured (services.smtp)")
        message = EmailMessage()
        message["To"] = row.email
        message["Subject"] = SUBJECTS[row.survey]
        message["Date"] = format_datetime(moment.to_pydatetime())
        message["Message-ID"] = f"<{row.invitation_id}@surveys.shopops>"
        message.set_content(f"{QUESTIONS[row.survey]}\n\nAnswer here (two clicks): {url}\n\n"
                            "The link works once and for 14 days.\n")
        message.add_alternative(f"<p>{QUESTIONS[row.survey]}</p><p><a href=\"{url}\">Answer the survey</a></p>",
                                subtype="html")
        mail.send(message)
        return message["Message-ID"]
    if sms is None:
        raise _NotSetUp("no SMS provider is configured (services.sms)")
    return sms.send(row.phone, f"{SUBJECTS[row.survey]} Tell us: {url}")


def _failure(error: Exception) -> str:
    """Why a send failed, without the address or number (exceptions of smtplib can carry them)."""
    if isinstance(error, (MailRefused, SmsRefused, _NotSetUp)):
        return str(error)
    if isinstance(error, SourceError):  # names the request (the URL), never the form with the number
        return str(error)
    return f"{type(error).__name__} talking to the mail server"


def _record_outcomes(engine: Engine, outcomes: list[dict]) -> None:
    now = datetime.now(timezone.utc)
    with write_transaction(engine) as conn:
        for outcome in outcomes:  # one batch (≤ batch_size rows): what each send did
            values = {"status": outcome["status"], "updated_at": now}
            if outcome["status"] == "sent":
                values.update(sent_at=outcome["sent_at"], provider_id=outcome["provider_id"])
            else:
                values["reason"] = SurveyInvitation.reason + f"; not sent: {outcome['failure']}"
            conn.execute(update(SurveyInvitation).where(SurveyInvitation.invitation_id == outcome["invitation_id"],
                                                        SurveyInvitation.status == "sending").values(**values))

