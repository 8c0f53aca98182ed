"""Recording decisions and sending invitations so that nobody is asked twice.

- Decisions are made and written under one lock (a PostgreSQL advisory lock; SQLite's writer
  lock), after re-reading who was contacted, so overlapping runs — a schedule and a backfill —
  cannot both invite one customer. A decision already on record for the same trigger and subject
  stays as it was.
- Sending is at most once. Batch by batch, one UPDATE … RETURNING takes due rows to `sending`
  and commits before the first message goes out (two runs never take the same row), and `sent` /
  `failed` is recorded after. A run that dies leaves `sending` rows (perhaps sent): after
  STALE_SENDING they are `interrupted`, which counts as contact and is never resent; so is a send
  whose outcome is unknown (a connection lost after the message went).
- Quiet hours are checked again when a row is sent, and a row left waiting too long expires.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from email.message import EmailMessage
from email.utils import format_datetime

import pandas as pd
from sqlalchemy import Engine, select, update

from connectors.base import MaybeSent
from connectors.smtp import MailRefused
from connectors.twilio import SmsRefused
from connectors.http import SourceError
from shopops.logs import get_logger
from tasks.surveys.eligibility import EligibilitySettings, after_quiet_hours, decide, e164
from tasks.surveys.signing import sign
from warehouse.engine import write_transaction
from warehouse.io import lock_source, read_frame, upsert_frame
from warehouse.models import Customer, SurveyInvitation

# Statuses that mean the customer has been, or is about to be, asked.
CONTACTING = ("pending", "deferred", "sending", "sent", "interrupted")
SENDABLE = ("pending", "deferred")
CHUNK = 5000  # keys per IN list
STALE_SENDING = timedelta(minutes=30)  # a batch takes seconds; a row `sending` this long was left by a dead run
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
    expired: int = 0
    deferred: int = 0
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
        ids = decisions["invitation_id"].tolist()
        known = set()
        for first in range(0, len(ids), CHUNK):
            known |= {row[0] for row in conn.execute(select(SurveyInvitation.invitation_id).where(
                SurveyInvitation.invitation_id.in_(ids[first:first + CHUNK])))}
        new = decisions[~decisions["invitation_id"].isin(known)]
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
    frame = pd.concat([read_frame(conn, select(SurveyInvitation.customer_key, SurveyInvitation.sent_at,
                                               SurveyInvitation.send_after).where(
        SurveyInvitation.status.in_(CONTACTING), SurveyInvitation.customer_key.in_(keys[first:first + CHUNK])))
        for first in range(0, len(keys), CHUNK)], ignore_index=True)
    if frame.empty:
        return empty
    planned = pd.to_datetime(frame["send_after"], utc=True)
    frame = frame.assign(planned=planned, distance=(planned - moment).abs(), sent_at=pd.to_datetime(frame["sent_at"], utc=True))
    nearest = frame.sort_values("distance").drop_duplicates("customer_key").set_index("customer_key")["planned"]
    return pd.DataFrame({"nearest": nearest, "last_sent": frame.groupby("customer_key")["sent_at"].max()})


def recover(engine: Engine, stale: timedelta = STALE_SENDING) -> int:
    """Rows a dead run left `sending` (perhaps sent) become `interrupted`: never resent."""
    now = datetime.now(timezone.utc)
    with write_transaction(engine) as conn:
        return conn.execute(update(SurveyInvitation).where(
            SurveyInvitation.status == "sending", SurveyInvitation.updated_at < now - stale).values(
            status="interrupted", updated_at=now,
            reason=SurveyInvitation.reason + "; dispatch interrupted: not resent, it may have arrived")).rowcount


def dispatch(engine: Engine, moment: pd.Timestamp, run_id: str, *, mail=None, sms=None, link=None,
             signing_key: bytes, link_days: int = 14, batch_size: int = 20,
             quiet_hours: tuple[int, int] = (21, 9), business_zone: str = "UTC",
             max_delay: timedelta = timedelta(days=2)) -> DispatchCounts:
    """Send every invitation due by `moment` (the run's time).

    Before anything is sent: rows due for longer than `max_delay` expire (an invitation about a
    delivery weeks ago is not sent), and rows whose customer is in quiet hours at `moment` wait for
    the end of them. Then, batch by batch, one statement takes due rows to `sending` and returns
    them, so two runs never take the same row; only what it returned is sent.
    `mail` / `sms`: senders (None: that channel is not set up, its invitations fail with that reason);
    `link(survey, token)` builds the survey URL.
    """
    log = get_logger("shopops.surveys")
    counts = DispatchCounts()
    counts.interrupted = recover(engine)
    counts.expired, counts.deferred = _expire_and_defer(engine, moment, quiet_hours, business_zone, max_delay)
    expires = moment + pd.Timedelta(days=link_days)
    while True:
        batch = _take_batch(engine, moment, run_id, batch_size, expires)
        if batch.empty:
            break
        outcomes = []
        for row in batch.itertuples(index=False):
            url = link(row.survey, sign(signing_key, row.invitation_id, row.survey, expires))
            outcome = {"invitation_id": row.invitation_id, "provider_id": None, "sent_at": None, "failure": None}
            try:
                outcome.update(status="sent", provider_id=_send(row, url, mail, sms, moment, link_days),
                               sent_at=datetime.now(timezone.utc))
                counts.sent[row.channel] += 1
            except MaybeSent as error:  # it may have arrived: counts as contact, never resent
                outcome.update(status="interrupted", failure=str(error))
                counts.interrupted += 1
            except Exception as error:  # this invitation fails; the others go on
                outcome.update(status="failed", failure=_failure(error))
                counts.failed += 1
                counts.failures.append(outcome["failure"])
            outcomes.append(outcome)
        _record_outcomes(engine, outcomes)
        done = sum(counts.sent.values()) + counts.failed + counts.interrupted
        log.info("survey dispatch: %d sent by e-mail, %d by SMS, %d failed so far", counts.sent["email"],
                 counts.sent["sms"], counts.failed)
        if done and done % 1000 < batch_size:
            log.info("survey dispatch: %d invitations handled", done)
    return counts


def _expire_and_defer(engine, moment, quiet_hours, business_zone, max_delay) -> tuple[int, int]:
    now = datetime.now(timezone.utc)
    due = (SurveyInvitation.status.in_(SENDABLE), SurveyInvitation.send_after <= moment.to_pydatetime())
    with write_transaction(engine) as conn:
        expired = conn.execute(update(SurveyInvitation).where(
            *due, SurveyInvitation.send_after < (moment - max_delay).to_pydatetime()).values(
            status="expired", updated_at=now,
            reason=SurveyInvitation.reason + f"; not sent: still waiting {max_delay.days} days after it was due"
        )).rowcount
        waiting = read_frame(conn, select(SurveyInvitation.invitation_id, Customer.country).join(
            Customer, Customer.customer_key == SurveyInvitation.customer_key, isouter=True).where(*due))
        wake = after_quiet_hours(waiting["country"].to_numpy(), moment, quiet_hours, business_zone)
        quiet = waiting.assign(send_after=wake.to_numpy())[wake.to_numpy() > moment]
        for send_after, group in quiet.groupby("send_after"):  # a handful of zones
            conn.execute(update(SurveyInvitation).where(
                SurveyInvitation.invitation_id.in_(group["invitation_id"].tolist())).values(
                status="deferred", send_after=pd.Timestamp(send_after).to_pydatetime(), updated_at=now))
    return expired, len(quiet)


def _take_batch(engine, moment, run_id, size, expires) -> pd.DataFrame:
    """Due rows to `sending`, committed before any of them is sent; with their contact details."""
    now = datetime.now(timezone.utc)
    due = select(SurveyInvitation.invitation_id).where(
        SurveyInvitation.status.in_(SENDABLE), SurveyInvitation.send_after <= moment.to_pydatetime()).order_by(
        SurveyInvitation.send_after, SurveyInvitation.invitation_id).limit(size).scalar_subquery()
    with write_transaction(engine) as conn:
        # The status is tested again on the row itself: a row another run took meanwhile is skipped.
        taken = [row[0] for row in conn.execute(update(SurveyInvitation).where(
            SurveyInvitation.invitation_id.in_(due), SurveyInvitation.status.in_(SENDABLE)).values(
            status="sending", run_id=run_id, updated_at=now, expires_at=expires.to_pydatetime()).returning(
            SurveyInvitation.invitation_id))]
        if not taken:
            return pd.DataFrame()
        return read_frame(conn, select(SurveyInvitation.invitation_id, SurveyInvitation.survey,
                                       SurveyInvitation.channel, Customer.email, Customer.phone, Customer.country).join(
            Customer, Customer.customer_key == SurveyInvitation.customer_key, isouter=True).where(
            SurveyInvitation.invitation_id.in_(taken)))


class _NotSetUp(Exception):
    pass


def _send(row, url: str, mail, sms, moment: pd.Timestamp, link_days: int) -> str:
    if row.channel == "email":
        if mail is None:
            raise _NotSetUp("no SMTP server is configured (services.smtp)")
        message = EmailMessage()
        message["To"] = row.email
        message["Subject"] = SUBJECTS[row.survey]
        message["Date"] = format_datetime(moment.to_pydatetime())
        message["Message-ID"] = f"<{row.invitation_id}@surveys.shopops>"
        message.set_content(f"{QUESTIONS[row.survey]}\n\nAnswer here (two clicks): {url}\n\n"
                            f"The link works once and for {link_days} days.\n")
        message.add_alternative(f"<p>{QUESTIONS[row.survey]}</p><p><a href=\"{url}\">Answer the survey</a></p>",
                                subtype="html")
        mail.send(message)
        return message["Message-ID"]
    if sms is None:
        raise _NotSetUp("no SMS provider is configured (services.sms)")
    number = e164(row.phone, row.country)
    if number is None:
        raise _NotSetUp("the phone number is not a valid international number")
    return sms.send(number, f"{SUBJECTS[row.survey]} Tell us: {url}")


def _failure(error: Exception) -> str:
    """Why a send failed, without the address or number (other exceptions may carry them)."""
    if isinstance(error, (MailRefused, SmsRefused, _NotSetUp, SourceError)):
        return str(error)  # ours: they name codes and the request URL, never a recipient
    return f"{type(error).__name__} while sending"


def _record_outcomes(engine: Engine, outcomes: list[dict]) -> None:
    now = datetime.now(timezone.utc)
    with write_transaction(engine) as conn:
        for outcome in outcomes:  # one batch (≤ batch_size rows): what each send did
            values = {"status": outcome["status"], "updated_at": now}
            if outcome["status"] == "sent":
                values.update(sent_at=outcome["sent_at"], provider_id=outcome["provider_id"])
            elif outcome["status"] == "interrupted":
                values["reason"] = SurveyInvitation.reason + f"; outcome unknown, not resent: {outcome['failure']}"
            else:
                values["reason"] = SurveyInvitation.reason + f"; not sent: {outcome['failure']}"
            conn.execute(update(SurveyInvitation).where(SurveyInvitation.invitation_id == outcome["invitation_id"],
                                                        SurveyInvitation.status == "sending").values(**values))

