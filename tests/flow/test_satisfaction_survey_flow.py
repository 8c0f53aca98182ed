"""satisfaction-survey as real Prefect runs against the sandbox's desk, survey provider, SMTP server
and SMS endpoint, day after day over twelve days, with the sandbox clock following the dates."""

from datetime import datetime, time, timedelta, timezone

import logging
import os

import pandas as pd
import pytest
import yaml

from connectors.sandbox import Sandbox
from flows.satisfaction_survey import satisfaction_survey, survey_dispatch
from shopops.blocks import save_reminder_block
from shopops.settings import reset_settings_cache
from tests.contract.conftest import ANCHOR, small_config

DAYS = 12
FIRST = (ANCHOR - timedelta(days=DAYS)).date()


@pytest.fixture(scope="module")
def survey_sandbox():
    with Sandbox(small_config(days=40, anomalies={})) as running:
        yield running


def configure(sandbox, tmp_path, monkeypatch) -> None:
    """Sources and services of the sandbox, its credentials, a migrated SQLite warehouse."""
    from warehouse.engine import dispose_engines
    from warehouse.migrate import upgrade

    monkeypatch.setenv("SHOPOPS_WAREHOUSE_URL", f"sqlite:///{tmp_path / 'warehouse.db'}")
    monkeypatch.setenv("SHOPOPS_DATA_DIR", str(tmp_path))
    dispose_engines()
    upgrade(f"sqlite:///{tmp_path / 'warehouse.db'}")
    for name, value in sandbox.credentials().items():
        monkeypatch.setenv(name, value)
    sources = sandbox.sources()
    for source in sources:
        source["currency"] = "USD" if source["kind"] == "shopify" else "EUR"
    path = tmp_path / "sources.yaml"
    path.write_text(yaml.safe_dump({"sources": sources, "services": sandbox.support_settings()}))
    monkeypatch.setenv("SHOPOPS_SOURCES_FILE", str(path))
    monkeypatch.setenv("SHOPOPS_SURVEY_MIN_RESPONSES", "5")
    monkeypatch.setenv("SHOPOPS_SURVEY_SIGNING_KEY", "test-signing-key")
    reset_settings_cache()


def moment_of(day) -> pd.Timestamp:
    """A date's decision and scoring moment: 10:00 in the business time zone (UTC here)."""
    return pd.Timestamp(datetime.combine(day, time(10), tzinfo=timezone.utc))


def run_day(sandbox, day, **parameters):
    """The run of a business date at noon of it on the sandbox's clock (after the 10:00 decision), then
    the hourly dispatch at 14:00 UTC, 09:00 in New York: the shop-us customers deferred at 05:00 there."""
    sandbox.clock.set(datetime.combine(day, time(12), tzinfo=timezone.utc))
    summary = satisfaction_survey(as_of=day, **parameters)
    afternoon = datetime.combine(day, time(14), tzinfo=timezone.utc)
    sandbox.clock.set(afternoon)
    summary["afternoon dispatch"] = survey_dispatch(at=afternoon)
    return summary


MAJOR_TICKET = "990001"


def add_major_complaint(engine, created_at) -> None:
    """An urgent complaint nobody answered, opened three hours before the last run (its deadline is 2 h)."""
    from tasks.surveys.tickets import TICKET_COLUMNS
    from warehouse.engine import write_transaction
    from warehouse.io import insert_frame

    row = pd.DataFrame([{
        "desk": "support", "ticket_id": MAJOR_TICKET, "created_at": created_at, "updated_at": created_at,
        "type": "incident", "status": "new", "priority": "urgent", "level": "major", "is_complaint": True,
        "channel": "email", "cause": "damaged", "sku": None, "store": "shop-us", "order_number": None,
        "customer_key": None, "first_reply_at": pd.NaT, "solved_at": pd.NaT, "run_id": "test",
        "loaded_at": created_at}])
    with write_transaction(engine) as conn:
        insert_frame(conn, "tickets", row, TICKET_COLUMNS + ["run_id", "loaded_at"])


class _Records(logging.Handler):
    """Every log record of the runs, as the text a log file would hold."""

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record):
        self.lines.append(self.format(record))

    def text(self) -> str:
        return "\n".join(self.lines)


@pytest.fixture(scope="module")
def surveyed(survey_sandbox, tmp_path_factory):
    """Twelve days of runs, once for the whole module (the tests read what they left)."""
    from flows.ingest import ingest_orders
    from warehouse.engine import get_engine

    sandbox = survey_sandbox
    with pytest.MonkeyPatch.context() as monkeypatch:
        configure(sandbox, tmp_path_factory.mktemp("surveys"), monkeypatch)
        sandbox.clock.set(ANCHOR)
        ingest_orders(start=ANCHOR - timedelta(days=40), end=ANCHOR)
        emails_before, sms_before = len(sandbox.sent_emails()), len(sandbox.sms_messages())
        records = _Records()
        logging.getLogger().addHandler(records)
        escalation = save_reminder_block("support-escalation", sandbox.notification_url("support"))
        try:
            summaries = [run_day(sandbox, FIRST + timedelta(days=d), escalation_block=escalation) for d in range(DAYS)]
            add_major_complaint(get_engine(), moment_of(FIRST + timedelta(days=DAYS)) - pd.Timedelta(hours=3))
            summaries.append(run_day(sandbox, FIRST + timedelta(days=DAYS), escalation_block=escalation,
                                     service_review=True))
        finally:
            logging.getLogger().removeHandler(records)
        summaries.append(records.text())
        with get_engine().connect() as conn:
            tables = {name: pd.read_sql(f"SELECT * FROM {name}", conn) for name in (
                "survey_invitations", "survey_responses", "satisfaction_scores", "sla_breaches", "tickets", "chats",
                "complaint_causes")}
        environment = {name: value for name, value in os.environ.items() if name.startswith("SHOPOPS_")}
        yield (sandbox, summaries, tables, sandbox.sent_emails()[emails_before:], sandbox.sms_messages()[sms_before:],
               environment)
    sandbox.clock.set(ANCHOR)
    reset_settings_cache()


@pytest.fixture
def survey_settings(surveyed, monkeypatch):
    """The module's settings again (every test starts with its own), and its warehouse."""
    from warehouse.engine import get_engine

    for name, value in surveyed[-1].items():
        monkeypatch.setenv(name, value)
    reset_settings_cache()
    return get_engine()


def test_invitations_are_decided_once_sent_once_and_never_twice_to_a_customer(surveyed):
    sandbox, summaries, tables, emails, messages, _ = surveyed
    invitations = tables["survey_invitations"]
    sent = invitations[invitations["status"] == "sent"]
    assert len(sent) >= 30 and set(invitations["trigger"]) >= {"delivery", "complaint"}
    assert invitations["reason"].str.len().gt(0).all()
    assert set(invitations["status"]) <= {"sent", "suppressed", "deferred", "failed"}
    # The shop-us customers, at 05:00 in New York when the day is decided, got theirs at 09:00 there.
    us = sent[sent["source"] == "shop-us"]
    assert len(us) >= 10 and (pd.to_datetime(us["send_after"], utc=True).dt.hour == 14).all()
    # What the SMTP server and the SMS endpoint received is exactly what is recorded as sent.
    assert len(emails) == int((sent["channel"] == "email").sum())
    assert len(messages) == int((sent["channel"] == "sms").sum())
    assert sorted(m["sid"] for m in messages) == sorted(sent.loc[sent["channel"] == "sms", "provider_id"])
    # Nobody twice within 30 days.
    times = sent.assign(sent_at=pd.to_datetime(sent["sent_at"], utc=True)).sort_values("sent_at")
    gaps = times.groupby("customer_key")["sent_at"].diff().dropna()
    assert (gaps >= pd.Timedelta(days=30)).all()
    assert times["customer_key"].is_unique  # twelve days: nobody at all twice
    # Suppressions carry their reasons.
    reasons = invitations.loc[invitations["status"] == "suppressed", "reason"]
    assert reasons.str.contains("no consent").any()


def test_running_a_date_again_decides_and_sends_nothing_more_and_scores_the_same(surveyed, survey_settings):
    engine = survey_settings
    sandbox, summaries, tables, emails, messages, _ = surveyed
    day = FIRST + timedelta(days=DAYS)
    before = len(sandbox.sent_emails()), len(sandbox.sms_messages())
    again = run_day(sandbox, day)
    assert again["decided"] == {}
    assert (len(sandbox.sent_emails()), len(sandbox.sms_messages())) == before
    with engine.connect() as conn:
        scores = pd.read_sql(f"SELECT * FROM satisfaction_scores WHERE score_date = '{day}'", conn)
    first = tables["satisfaction_scores"]
    first = first[pd.to_datetime(first["score_date"]).dt.date == day]
    key = ["measure", "dimension", "cell"]
    pd.testing.assert_frame_equal(first.drop(columns=["run_id", "score_date"]).sort_values(key).reset_index(drop=True),
                                  scores.drop(columns=["run_id", "score_date"]).sort_values(key).reset_index(drop=True),
                                  check_dtype=False)


def test_responses_are_verified_and_scored_as_worked_out_from_the_answers(surveyed):
    sandbox, summaries, tables, emails, messages, _ = surveyed
    truth = sandbox.survey_truth().responses(sandbox.clock.now())
    truth = truth[truth["visible"]]
    responses = tables["survey_responses"].set_index("response_id")
    assert len(truth) >= 10 and set(truth["id"]) == set(responses.index)
    validity = responses.loc[truth["id"], "validity"].to_numpy()
    assert (validity[truth["tampered"].to_numpy()] == "tampered").all()
    assert (validity[truth["replay"].to_numpy() & ~truth["tampered"].to_numpy()] == "replayed").all()
    honest = ~truth["tampered"].to_numpy() & ~truth["replay"].to_numpy()
    assert (validity[honest] == "valid").all()
    # NPS of the last date over its 28 days, by hand: promoters minus detractors over the answers.
    day = FIRST + timedelta(days=DAYS)
    submitted = pd.to_datetime(truth["submitted_at"], utc=True)
    counted = truth[honest & (submitted <= moment_of(day)) & (submitted > moment_of(day) - pd.Timedelta(days=28))]
    nps = counted["nps"].dropna()
    expected = 100 * ((nps >= 9).mean() - (nps <= 6).mean())
    scores = tables["satisfaction_scores"]
    row = scores[(pd.to_datetime(scores["score_date"]).dt.date == day) & (scores["measure"] == "nps")
                 & (scores["dimension"] == "all")].iloc[0]
    assert row["responses"] == len(nps) and row["score"] == pytest.approx(expected)
    assert row["low"] <= row["score"] <= row["high"] or len(nps) < 10
    csat = counted["csat"].dropna()
    csat_row = scores[(pd.to_datetime(scores["score_date"]).dt.date == day) & (scores["measure"] == "csat")
                      & (scores["dimension"] == "all")].iloc[0]
    assert csat_row["score"] == pytest.approx(100 * (csat >= 4).mean())


def test_complaint_deadlines_match_the_desk_truth(surveyed):
    sandbox, summaries, tables, emails, messages, _ = surveyed
    day_end = moment_of(FIRST + timedelta(days=DAYS))
    truth = sandbox.support_truth().tickets(sandbox.clock.now())
    complaints = truth[truth["type"].isin(["problem", "incident"]) & ~truth["deleted"].astype(bool)
                       & (pd.to_datetime(truth["created_at"], utc=True) <= day_end)]
    due = pd.to_datetime(complaints["first_reply_due_at"], utc=True)
    replied = pd.to_datetime(complaints["first_reply_at"], utc=True)
    replied = replied.where(replied <= day_end)  # a reply after the moment was not there yet
    late = (replied > due) | (replied.isna() & (due < day_end))
    recent = due > day_end - pd.Timedelta(days=28)  # the window of the scores (window_days)
    expected = set(complaints.loc[late & (recent | replied.isna()), "ticket_id"].astype(str)) | {MAJOR_TICKET}
    breaches = tables["sla_breaches"]
    last = breaches[pd.to_datetime(breaches["score_date"]).dt.date == FIRST + timedelta(days=DAYS)]
    assert set(last.loc[last["state"] == "breached", "ticket_id"]) == expected
    assert len(tables["complaint_causes"]) > 0 and len(tables["chats"]) > 0


def test_major_complaints_past_or_near_their_deadline_are_escalated(surveyed):
    sandbox, summaries, tables, emails, messages, _ = surveyed
    breaches = tables["sla_breaches"]
    escalated = breaches[breaches["escalated"].astype(bool)]
    assert MAJOR_TICKET in set(escalated["ticket_id"]) and (escalated["level"] == "major").all()
    major = breaches[breaches["ticket_id"] == MAJOR_TICKET].iloc[0]
    assert major["state"] == "breached" and major["hours_late"] == pytest.approx(1.0)
    bodies = "\n".join(n["body"]["body"] for n in sandbox.notifications("support"))
    for row in escalated.itertuples():
        assert f"ticket {row.ticket_id} " in bodies
    runs_with_majors = sum(1 for s in summaries[:-1] if "escalated" in str(s.get("escalation")))
    assert len(sandbox.notifications("support")) == runs_with_majors


def test_the_monthly_service_review_is_written(surveyed):
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    sandbox, summaries, *_ = surveyed
    month = f"{FIRST + timedelta(days=DAYS):%Y-%m}"
    assert summaries[DAYS]["service_review"] == month
    with get_client(sync_client=True) as client:
        review = client.read_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[f"service-review-{month}"])))
    text = review[0].data
    for part in ("## Satisfaction", "| NPS | channel | shop-us", "## Service levels", "first_reply_sla",
                 "chat_first_response", "## Most frequent complaint causes"):
        assert part in text


def test_contact_details_never_reach_logs_or_artifacts(surveyed):
    sandbox, summaries, tables, emails, messages, _ = surveyed
    from prefect.client.orchestration import get_client

    addresses = {m["to"] for m in emails} | {m["to"] for m in messages}
    assert len(addresses) >= 30
    with get_client(sync_client=True) as client:
        artifacts = client.read_artifacts()
        logs = client.read_logs()
    assert {"satisfaction-scores", "sla-breaches", "complaint-causes"} <= {a.key for a in artifacts}
    text = "\n".join([str(a.data) for a in artifacts] + [log.message for log in logs] + [repr(s) for s in summaries])
    assert "satisfaction survey" in text  # the runs' own lines are in there
    leaked = [address for address in addresses if address in text]
    assert leaked == []
    # Nor do the warehouse's analytics tables hold them: tickets keep a hashed key.
    assert not tables["tickets"].astype(str).isin(addresses).any().any()
