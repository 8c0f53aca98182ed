"""The support desk, the SMS provider and the survey provider, read and written over their wire
protocols against the sandbox: nothing lost or doubled across pages, rate limits waited out,
refusals reported without the number."""

from datetime import timedelta

import pandas as pd
import pytest
import requests

from connectors.sandbox import Sandbox
from connectors.services import ServiceConfig
from connectors.survey_provider import SurveyProvider
from connectors.twilio import SmsRefused, TwilioSms
from connectors.zendesk import ZendeskConnector
from tasks.surveys.tickets import normalize_chats, normalize_tickets
from tests.contract.conftest import ANCHOR, FAST_RETRIES, small_config


@pytest.fixture(scope="module")
def sandbox():
    # The desk's real limit is 10 exports a minute; the pages here are small, so it is raised.
    with Sandbox(small_config(days=30, support_export_requests_per_minute=600)) as running:
        yield running


def service(sandbox, role, **options) -> ServiceConfig:
    entry = dict(sandbox.support_settings()[role])
    credentials = entry.pop("credentials")
    return ServiceConfig(role, {**entry, **options}, credentials)


def test_the_ticket_export_reads_every_visible_ticket_once_as_it_is_at_the_clock(fresh_sandbox):
    connector = ZendeskConnector(service(fresh_sandbox, "desk", page_size=25, exports_per_minute=600),
                                 policy=FAST_RETRIES)
    pages = list(connector.ticket_pages(ANCHOR - timedelta(days=60)))
    connector.close()
    assert len(pages) >= 3  # cursor pages followed to the end of the stream
    frame = pd.concat([normalize_tickets("support", *page, b"k") for page in pages], ignore_index=True)
    latest = frame.sort_values("updated_at").drop_duplicates("ticket_id", keep="last")
    truth = fresh_sandbox.support_truth().tickets()
    visible = truth[truth["visible"]]
    assert sorted(latest["ticket_id"]) == sorted(visible["ticket_id"].astype(str))
    merged = latest.merge(visible.assign(ticket_id=visible["ticket_id"].astype(str)), on="ticket_id",
                          suffixes=("", "_true"))
    assert (merged["status"] == merged["status_true"]).all()
    assert (merged["is_complaint"] == merged["type_true"].isin(["problem", "incident"])).all()
    # First replies come from the metric sets, to the second; one given after the clock is not there yet.
    replied = merged[pd.to_datetime(merged["first_reply_at_true"], utc=True) <= ANCHOR]
    assert (replied["first_reply_at"] - pd.to_datetime(replied["first_reply_at_true"], utc=True)).abs().max() \
        <= pd.Timedelta(seconds=1)
    assert merged.loc[pd.to_datetime(merged["first_reply_at_true"], utc=True) > ANCHOR, "first_reply_at"].isna().all()
    assert (merged["cause"].fillna("") == merged["cause_true"].fillna("")).all()
    assert (merged["sku"].fillna("") == merged["sku_true"].fillna("")).all()


def test_a_429_storm_on_the_desk_is_waited_out(fresh_sandbox):
    fresh_sandbox.faults.arm("support", "429", count=3, retry_after=0.05)
    connector = ZendeskConnector(service(fresh_sandbox, "desk", exports_per_minute=600), policy=FAST_RETRIES)
    pages = list(connector.ticket_pages(ANCHOR - timedelta(days=60)))
    stats = connector.http.stats
    connector.close()
    assert sum(len(page[0]) for page in pages) > 0
    assert stats.rate_limited == 3


def test_chats_are_paged_by_start_time_and_id_to_the_last(fresh_sandbox):
    connector = ZendeskConnector(service(fresh_sandbox, "desk", page_size=50, exports_per_minute=600),
                                 policy=FAST_RETRIES)
    chats = pd.concat([normalize_chats("support", page) for page in connector.chat_pages(ANCHOR - timedelta(days=60))])
    connector.close()
    truth = fresh_sandbox.support_truth().chats()
    assert chats["chat_id"].is_unique
    assert len(chats) == int(truth["visible"].sum()) > 50


def test_survey_responses_are_paged_to_the_end(fresh_sandbox):
    fresh_sandbox.clock.set(ANCHOR - timedelta(days=5))
    link_base = fresh_sandbox.support_settings()["surveys"]["link_base"]
    for n in range(120):  # answers posted through the landing page, as a person would
        response = requests.post(f"{link_base}/r/complaint/tok{n}.abc", data={"csat": str(1 + n % 5)}, timeout=5)
        assert response.status_code == 200
    fresh_sandbox.clock.set(ANCHOR)
    provider = SurveyProvider(service(fresh_sandbox, "surveys"), policy=FAST_RETRIES)
    pages = list(provider.response_pages(ANCHOR - timedelta(days=10), ANCHOR + timedelta(minutes=1)))
    provider.close()
    ids = [r["id"] for page in pages for r in page]
    assert len(pages) >= 2 and len(ids) == len(set(ids))
    assert {f"tok{n}.abc" for n in range(120)} <= {r["token"] for page in pages for r in page}


def test_an_sms_is_sent_once_through_a_429_and_an_invalid_number_is_refused_without_showing_it(fresh_sandbox):
    sms = TwilioSms(service(fresh_sandbox, "sms"), policy=FAST_RETRIES)
    before = len(fresh_sandbox.sms_messages())
    fresh_sandbox.faults.arm("sms", "429", count=2, retry_after=0.05)
    sid = sms.send("+4915123456789", "How was your order? https://example.org/r/x")
    assert sid.startswith("SM") and len(fresh_sandbox.sms_messages()) == before + 1
    with pytest.raises(SmsRefused) as refused:
        sms.send("12345", "hello")
    sms.close()
    assert "21211" in str(refused.value) and "12345" not in str(refused.value)
    assert len(fresh_sandbox.sms_messages()) == before + 1
