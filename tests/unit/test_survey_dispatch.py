"""At most one invitation per customer: overlapping runs and a crash in the middle of a dispatch,
against the real warehouse (SQLite and PostgreSQL) and the sandbox's SMTP server."""

import threading
from collections import Counter
from datetime import datetime, timezone

import pandas as pd
import pytest
from sqlalchemy import text

from connectors.sandbox import Sandbox
from connectors.services import ServiceConfig
from connectors.smtp import SmtpSender
from tasks.surveys.dispatch import dispatch, record_decisions
from tasks.surveys.eligibility import EligibilitySettings
from tests.contract.conftest import small_config
from warehouse.engine import write_transaction
from warehouse.io import insert_frame

MOMENT = pd.Timestamp("2026-11-18T10:00:00Z")
KEY = b"dispatch-test-key"
CUSTOMERS = [f"{i:064x}" for i in range(1, 7)]


@pytest.fixture(scope="module")
def smtp_sandbox():
    with Sandbox(small_config(days=3, skus=50)) as running:
        yield running


@pytest.fixture
def mail(smtp_sandbox, monkeypatch):
    for name, value in smtp_sandbox.credentials().items():
        monkeypatch.setenv(name, value)
    settings = smtp_sandbox.smtp_settings()
    config = ServiceConfig("smtp", {k: v for k, v in settings.items() if k != "credentials"}, settings["credentials"])
    return lambda: SmtpSender(config)


def received(sandbox, since: int) -> Counter:
    return Counter(rcpt for message in sandbox.sent_emails()[since:] for rcpt in message["rcpt_tos"])


def customers(engine, keys=CUSTOMERS):
    now = pd.Timestamp(datetime.now(timezone.utc))
    with write_transaction(engine) as conn:
        insert_frame(conn, "customers", pd.DataFrame({
            "customer_key": keys, "email": [f"person{i}@example.org" for i in range(len(keys))], "phone": None,
            "accepts_marketing": True, "country": "DE", "first_order_at": now, "last_order_at": now,
            "first_source": "shop", "updated_at": now}),
            ["customer_key", "email", "phone", "accepts_marketing", "country", "first_order_at", "last_order_at",
             "first_source", "updated_at"])
    return pd.DataFrame({"email": [f"person{i}@example.org" for i in range(len(keys))], "phone": None,
                         "accepts_marketing": True, "country": "DE"}, index=keys)


def deliveries(keys, order_prefix):
    return pd.DataFrame({"trigger": "delivery", "subject": [f"shop:{order_prefix}{k[-4:]}" for k in keys],
                         "customer_key": keys, "source": "shop",
                         "external_order_id": [f"{order_prefix}{k[-4:]}" for k in keys], "ticket_id": None,
                         "reason": "delivered"})


def decide_for(engine, people, keys, moment, prefix, run_id):
    return record_decisions(engine, deliveries(keys, prefix), people, set(), moment, moment.date(),
                            EligibilitySettings(), "Europe/Berlin", run_id)


def link(survey, token):
    return f"http://127.0.0.1/r/{survey}/{token}"


class Crash(BaseException):
    """A process killed: nothing after it runs, no except clause catches it."""


class CrashingMail:
    """The real sender, killed before its `crash_at`-th message."""

    def __init__(self, sender, crash_at):
        self.sender, self.crash_at, self.count = sender, crash_at, 0

    def send(self, message):
        self.count += 1
        if self.count == self.crash_at:
            raise Crash()
        self.sender.send(message)

    def close(self):
        self.sender.close()


def statuses(engine) -> dict:
    with engine.connect() as conn:
        return dict(conn.execute(text("SELECT status, COUNT(*) FROM survey_invitations GROUP BY status")).all())


def test_a_crash_mid_dispatch_never_sends_anybody_a_second_invitation(engine, smtp_sandbox, mail):
    people = customers(engine, CUSTOMERS[:5])
    decide_for(engine, people, CUSTOMERS[:5], MOMENT, "o", "run-1")
    before = len(smtp_sandbox.sent_emails())
    # Batches of two: the first goes out, the second is taken (`sending`) and the process dies after
    # its first message; the fifth invitation was never taken.
    with pytest.raises(Crash):
        dispatch(engine, MOMENT, "run-1", mail=CrashingMail(mail(), crash_at=4), link=link, signing_key=KEY,
                 batch_size=2)
    assert statuses(engine) == {"sent": 2, "sending": 2, "pending": 1}
    assert sum(received(smtp_sandbox, before).values()) == 3
    # A new run right away sends the one never taken and leaves the dead run's batch alone (it may be alive) …
    second = dispatch(engine, MOMENT, "run-2", mail=mail(), link=link, signing_key=KEY)
    assert (second.sent["email"], second.interrupted) == (1, 0) and statuses(engine)["sending"] == 2
    # … and half an hour later that batch may have arrived: `interrupted`, never sent again.
    with write_transaction(engine) as conn:
        conn.execute(text("UPDATE survey_invitations SET updated_at = :old WHERE status = 'sending'"),
                     {"old": datetime(2026, 1, 1, tzinfo=timezone.utc)})
    third = dispatch(engine, MOMENT, "run-3", mail=mail(), link=link, signing_key=KEY)
    assert (third.interrupted, third.sent["email"]) == (2, 0)
    assert statuses(engine) == {"sent": 3, "interrupted": 2}
    assert max(received(smtp_sandbox, before).values()) == 1  # nobody twice
    assert sum(received(smtp_sandbox, before).values()) == 4


def test_quiet_hours_are_checked_again_when_sending_and_old_invitations_expire(engine, smtp_sandbox, mail):
    people = customers(engine, CUSTOMERS[:3])
    decide_for(engine, people, CUSTOMERS[:2], MOMENT, "o", "decide")
    decide_for(engine, people, CUSTOMERS[2:3], MOMENT - pd.Timedelta(days=3), "old", "decide")
    # 22:00 in Berlin: both due ones wait for 09:00 there; the one three days old expires.
    night = pd.Timestamp("2026-11-18T21:00:00Z")
    counts = dispatch(engine, night, "night", mail=mail(), link=link, signing_key=KEY, business_zone="Europe/Berlin")
    assert (counts.sent["email"], counts.deferred, counts.expired) == (0, 2, 1)
    with engine.connect() as conn:
        rows = pd.read_sql("SELECT status, send_after FROM survey_invitations ORDER BY status", conn)
    assert rows["status"].tolist() == ["deferred", "deferred", "expired"]
    assert (pd.to_datetime(rows["send_after"][:2], utc=True) == pd.Timestamp("2026-11-19T08:00:00Z")).all()
    morning = dispatch(engine, pd.Timestamp("2026-11-19T08:00:00Z"), "morning", mail=mail(), link=link,
                       signing_key=KEY)
    assert morning.sent["email"] == 2


def test_overlapping_runs_of_two_dates_invite_each_customer_once(engine, smtp_sandbox, mail):
    people = customers(engine)
    before = len(smtp_sandbox.sent_emails())
    barrier = threading.Barrier(2)
    errors = []

    def run(moment, prefix, run_id):
        try:
            barrier.wait()
            decide_for(engine, people, CUSTOMERS, moment, prefix, run_id)
            dispatch(engine, moment + pd.Timedelta(days=1), run_id, mail=mail(), link=link, signing_key=KEY)
        except Exception as error:  # pragma: no cover - shown by the assertion below
            errors.append(error)

    threads = [threading.Thread(target=run, args=(MOMENT, "a", "scheduled")),
               threading.Thread(target=run, args=(MOMENT + pd.Timedelta(days=1), "b", "backfill"))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    with engine.connect() as conn:
        rows = pd.read_sql("SELECT customer_key, status, reason FROM survey_invitations", conn)
    assert len(rows) == 12
    sent = rows[rows["status"] == "sent"]
    assert sorted(sent["customer_key"]) == sorted(CUSTOMERS)  # one each …
    suppressed = rows[rows["status"] == "suppressed"]
    assert len(suppressed) == 6 and suppressed["reason"].str.contains("surveyed within 30 days").all()  # … the other not
    assert sorted(received(smtp_sandbox, before).values()) == [1] * 6


def test_two_dispatches_at_once_claim_each_invitation_once(engine, smtp_sandbox, mail):
    people = customers(engine)
    decide_for(engine, people, CUSTOMERS, MOMENT, "o", "decide")
    before = len(smtp_sandbox.sent_emails())
    barrier = threading.Barrier(2)
    results = []

    def run(run_id):
        barrier.wait()
        results.append(dispatch(engine, MOMENT, run_id, mail=mail(), link=link, signing_key=KEY, batch_size=1))

    threads = [threading.Thread(target=run, args=(f"run-{i}",)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(r.sent["email"] for r in results) == 6
    assert sorted(received(smtp_sandbox, before).values()) == [1] * 6


def test_links_in_the_messages_carry_a_signed_token_for_their_invitation(engine, smtp_sandbox, mail):
    from tasks.surveys.signing import verify

    people = customers(engine, CUSTOMERS[:1])
    decide_for(engine, people, CUSTOMERS[:1], MOMENT, "o", "run")
    before = len(smtp_sandbox.sent_emails())
    dispatch(engine, MOMENT, "run", mail=mail(), link=link, signing_key=KEY)
    message = smtp_sandbox.sent_emails()[before]
    token = message["text"].split("/r/post_purchase/")[1].split()[0]
    with engine.connect() as conn:
        invitation = conn.execute(text("SELECT invitation_id FROM survey_invitations")).scalar_one()
    assert verify(KEY, token, "post_purchase", MOMENT + pd.Timedelta(days=13)) == (invitation, "valid")
    assert verify(KEY, token, "post_purchase", MOMENT + pd.Timedelta(days=15)) == (invitation, "expired")
    assert message["tls"] and message["auth_user"]  # STARTTLS, then AUTH
