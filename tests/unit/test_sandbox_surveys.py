"""The sandbox's survey side over real sockets: the SMTP server (STARTTLS, AUTH, recording), the
Twilio-style SMS endpoint, the survey provider's API and landing page, and the respondents who answer
the invitations that reach real customers — after the sandbox clock has moved, deterministically."""

from __future__ import annotations

import hashlib
import smtplib
import ssl
from datetime import datetime, timedelta, timezone
from email.message import EmailMessage
from email.utils import parsedate_to_datetime

import pandas as pd
import pytest
import requests

from connectors.sandbox import Sandbox, SandboxConfig, StoreConfig

ANCHOR = datetime(2026, 11, 15, tzinfo=timezone.utc)
RESPONSES = "/api/v1/responses"


def small_config(**changes) -> SandboxConfig:
    settings = dict(anchor=ANCHOR, days=30, skus=300, competitors=[], survey_api_requests_per_minute=10_000,
                    sms_messages_per_second=10_000.0)
    settings.update(changes)
    return SandboxConfig(**settings)


def tiny_config(**changes) -> SandboxConfig:
    return small_config(days=3, skus=50, stores=[StoreConfig("shop-us", "shopify", "America/New_York", "USD", 30)],
                        **changes)


@pytest.fixture(scope="module")
def sandbox():
    with Sandbox(small_config()) as sb:
        yield sb


@pytest.fixture()
def sb(sandbox):
    sandbox.clock.set(ANCHOR)
    sandbox.faults.clear()
    yield sandbox
    sandbox.clock.set(ANCHOR)
    sandbox.faults.clear()


def secret(sb, service: str, field: str) -> str:
    return sb.credentials()[sb.support_settings()[service]["credentials"][field]["env"]]


def tls_context(sb) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=sb.smtp_settings()["ca_file"])


def smtp_session(sb) -> smtplib.SMTP:
    """Connected, STARTTLS with the sandbox's CA trusted, logged in."""
    settings = sb.smtp_settings()
    client = smtplib.SMTP(settings["host"], settings["port"], timeout=10)
    client.starttls(context=tls_context(sb))
    client.login(settings["username"], secret(sb, "smtp", "password"))
    return client


def invitation(sb, to: str, links: list[str]) -> EmailMessage:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = sb.smtp_settings()["from"], to, "How did we do?"
    message.set_content("Tell us how we did:\n" + "\n".join(links) + "\nThank you.")
    message.add_alternative("<p>Tell us how we did:</p>" +
                            "".join(f'<p><a href="{link}">Answer the survey</a></p>' for link in links), subtype="html")
    return message


def token_for(label: str, i: int) -> str:
    return f"{label}{i}.{hashlib.sha256(f'{label}{i}'.encode()).hexdigest()[:12]}"


def survey_client(sb) -> tuple[requests.Session, str]:
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {secret(sb, 'surveys', 'api_token')}"
    return session, sb.support_settings()["surveys"]["base_url"]


def list_responses(sb, per_page=100, **params) -> list[dict]:
    session, base = survey_client(sb)
    responses, query = [], {"per_page": per_page, **params}
    while True:
        response = session.get(base + RESPONSES, params=query)
        assert response.status_code == 200, response.text
        body = response.json()
        assert len(body["responses"]) <= per_page
        responses += body["responses"]
        if body["next_page_token"] is None:
            return responses
        query = {"page_token": body["next_page_token"], "per_page": per_page}


def customers(sb, store="shop-us", count=100) -> list[str]:
    emails = sb.truth(store).orders()["customer_email"].drop_duplicates()
    return list(emails.iloc[:count])


def send_links(sb, emails: list[str], survey: str, label: str, per_mail: int = 1) -> dict[str, str]:
    """One e-mail per address with `per_mail` links; token -> address."""
    base = sb.support_settings()["surveys"]["link_base"]
    sent = {}
    with smtp_session(sb) as client:
        for i, email in enumerate(emails):
            tokens = [token_for(label, i * per_mail + k) for k in range(per_mail)]
            client.send_message(invitation(sb, email, [f"{base}/r/{survey}/{token}" for token in tokens]))
            sent.update({token: email for token in tokens})
    return sent


# -- SMTP -----------------------------------------------------------------------------------------
def test_smtp_offers_starttls_and_auth_only_after_it(sb):
    settings = sb.smtp_settings()
    with smtplib.SMTP(settings["host"], settings["port"], timeout=10) as client:
        client.ehlo()
        assert client.has_extn("starttls") and not client.has_extn("auth")
        with pytest.raises(smtplib.SMTPNotSupportedError):
            client.login(settings["username"], secret(sb, "smtp", "password"))
        with pytest.raises(smtplib.SMTPSenderRefused) as refused:  # a plain connection, but no AUTH: 530
            client.sendmail(settings["from"], ["someone@example.com"], "Subject: hi\r\n\r\nhello")
        assert refused.value.smtp_code == 530
        client.starttls(context=tls_context(sb))  # verifies the certificate and 127.0.0.1 against the CA
        client.ehlo()
        assert {"PLAIN", "LOGIN"} <= set(client.esmtp_features["auth"].split())
        with pytest.raises(smtplib.SMTPAuthenticationError):
            client.login(settings["username"], "wrong")
        client.user, client.password = settings["username"], secret(sb, "smtp", "password")
        code, _ = client.auth("LOGIN", client.auth_login, initial_response_ok=False)
        assert code == 235


def test_smtp_records_every_message(sb):
    before = len(sb.sent_emails())
    with smtp_session(sb) as client:
        client.send_message(invitation(sb, "Anna Example <anna@example.com>", ["http://example.com/x"]),
                            to_addrs=["anna@example.com", "bob@example.com"])
    message = sb.sent_emails()[before]
    assert message["rcpt_tos"] == ["anna@example.com", "bob@example.com"]
    assert message["mail_from"] == sb.smtp_settings()["from"] and message["subject"] == "How did we do?"
    assert message["tls"] is True and message["auth_user"] == sb.smtp_settings()["username"]
    assert "http://example.com/x" in message["text"] and '<a href="http://example.com/x">' in message["html"]
    assert ["To", "Anna Example <anna@example.com>"] in message["headers"]
    assert message["received_at"] == "2026-11-15T00:00:00Z"


def test_smtp_auth_without_tls_when_configured():
    with Sandbox(tiny_config(smtp_auth_without_tls=True)) as sb:
        settings = sb.smtp_settings()
        with smtplib.SMTP(settings["host"], settings["port"], timeout=10) as client:
            client.login(settings["username"], secret(sb, "smtp", "password"))
            client.sendmail(settings["from"], ["x@example.com"], "Subject: plain\r\n\r\nno TLS")
        assert sb.sent_emails()[-1]["tls"] is False


# -- SMS ------------------------------------------------------------------------------------------
def sms_post(sb, **form):
    settings = sb.support_settings()["sms"]
    url = f"{settings['base_url']}/2010-04-01/Accounts/{settings['account_sid']}/Messages.json"
    return requests.post(url, data=form, auth=(settings["account_sid"], secret(sb, "sms", "auth_token")))


def test_sms_accepted_and_recorded(sb):
    settings = sb.support_settings()["sms"]
    before = len(sb.sms_messages())
    response = sms_post(sb, To="+12125550123", From=settings["from"], Body="Hello from the shop")
    assert response.status_code == 201
    body = response.json()
    assert body["sid"].startswith("SM") and len(body["sid"]) == 34 and int(body["sid"][2:], 16) >= 0
    assert body["account_sid"] == settings["account_sid"] and body["to"] == "+12125550123"
    assert body["from"] == settings["from"] and body["status"] == "queued" and body["num_segments"] == "1"
    assert body["direction"] == "outbound-api" and body["date_sent"] is None and body["price"] is None
    assert body["error_code"] is None and body["error_message"] is None
    assert parsedate_to_datetime(body["date_created"]) == ANCHOR
    assert body["uri"] == f"/2010-04-01/Accounts/{settings['account_sid']}/Messages/{body['sid']}.json"
    recorded = sb.sms_messages()[before]
    assert recorded["sid"] == body["sid"] and recorded["body"] == "Hello from the shop"
    long = sms_post(sb, To="+12125550123", MessagingServiceSid="MG" + "0" * 32, Body="ł" * 71).json()
    assert long["num_segments"] == "2" and long["from"] is None


def test_sms_refusals(sb):
    settings = sb.support_settings()["sms"]
    response = sms_post(sb, To="555-0123", From=settings["from"], Body="x")
    assert response.status_code == 400
    assert response.json() | {"more_info": None} == {
        "code": 21211, "message": "The 'To' number 555-0123 is not a valid phone number.",
        "more_info": None, "status": 400}
    assert response.json()["more_info"] == "https://www.twilio.com/docs/errors/21211"
    assert sms_post(sb, From=settings["from"], Body="x").json()["code"] == 21604
    assert sms_post(sb, To="+12125550123", From=settings["from"]).json()["code"] == 21602
    url = f"{settings['base_url']}/2010-04-01/Accounts/{settings['account_sid']}/Messages.json"
    for auth in (None, (settings["account_sid"], "wrong"), ("AC" + "1" * 32, secret(sb, "sms", "auth_token"))):
        refused = requests.post(url, data={"To": "+12125550123", "From": settings["from"], "Body": "x"}, auth=auth)
        assert refused.status_code == 401
        assert {k: refused.json()[k] for k in ("code", "message", "status")} == \
            {"code": 20003, "message": "Authenticate", "status": 401}
    sb.faults.arm("sms", "503", count=1)
    assert sms_post(sb, To="+12125550123", From=settings["from"], Body="x").status_code == 503
    sb.faults.arm("sms", "429", count=1)
    throttled = sms_post(sb, To="+12125550123", From=settings["from"], Body="x")
    assert throttled.status_code == 429 and throttled.json()["code"] == 20429


def test_sms_rate_limit():
    with Sandbox(tiny_config(sms_messages_per_second=2.0)) as sb:
        settings = sb.support_settings()["sms"]
        answers = [sms_post(sb, To="+12125550123", From=settings["from"], Body=f"n{i}") for i in range(5)]
        statuses = [a.status_code for a in answers]
        assert statuses[:2] == [201, 201] and 429 in statuses
        throttled = next(a for a in answers if a.status_code == 429)
        assert {k: throttled.json()[k] for k in ("code", "message", "status")} == \
            {"code": 20429, "message": "Too Many Requests", "status": 429}
        assert throttled.headers["Retry-After"] == "1"
        assert len(sb.sms_messages()) == statuses.count(201)


# -- the respondents ------------------------------------------------------------------------------
def test_invited_customers_answer_later(sb):
    emails = customers(sb, "shop-us", 90) + customers(sb, "woo-eu", 30)
    sent = send_links(sb, emails, "post_purchase", "loop", per_mail=8)
    assert not [r for r in list_responses(sb) if r["token"] in sent]  # nobody answers within ten minutes
    invitations = sb.survey_truth().invitations()
    assert set(invitations["token"]) == set(sent) and invitations["customer_id"].notna().all()
    sb.clock.advance(timedelta(days=4))
    listed = list_responses(sb, per_page=37)
    truth = sb.survey_truth().responses()
    truth = truth[truth["token"].isin(sent) | truth["invitation_token"].isin(sent)]
    assert [r["id"] for r in listed if r["id"] in set(truth["id"])] == list(truth["id"])
    assert truth["visible"].all()
    ids = [r["id"] for r in listed]
    assert len(ids) == len(set(ids))
    keys = [(r["updated_at"], r["id"]) for r in listed]
    assert keys == sorted(keys)
    first = truth[~truth["replay"]]
    assert 0.28 <= first["invitation_token"].nunique() / len(sent) <= 0.42
    by_id = {r["id"]: r for r in listed}
    for row in truth.itertuples():
        shown = by_id[row.id]
        assert shown["survey"] == "post_purchase" and shown["channel"] == "email"
        assert shown["token"] == row.token and shown["answers"] == row.answers
        assert 0 <= shown["answers"]["nps"] <= 10 and 1 <= shown["answers"]["csat"] <= 5
        assert shown["submitted_at"] == shown["updated_at"]
        submitted = datetime.fromisoformat(shown["submitted_at"].replace("Z", "+00:00"))
        if not row.replay:
            assert ANCHOR + timedelta(minutes=10) <= submitted <= ANCHOR + timedelta(hours=72)
        assert row.customer_email == sent[row.invitation_token]
        if row.tampered:
            assert len(row.token) == len(row.invitation_token)
            assert sum(a != b for a, b in zip(row.token, row.invitation_token)) == 1
        else:
            assert row.token == row.invitation_token
    replays = truth[truth["replay"]]
    assert len(replays) >= 1 and truth["tampered"].sum() >= 1
    for replay in replays.itertuples():
        original = first[first["invitation_token"] == replay.invitation_token].iloc[0]
        gap = replay.submitted_at - original["submitted_at"]
        assert pd_hours(gap) >= 1 and replay.answers == original["answers"]
    comments = first["comment"].notna().mean()
    assert 0.3 <= comments <= 0.5
    # A second invitation with the same link is not answered again.
    again = send_links(sb, emails[:20], "post_purchase", "loop", per_mail=5)
    assert set(again) <= set(sent)
    sb.clock.advance(timedelta(days=4))
    assert [r["id"] for r in list_responses(sb) if r["id"] in by_id] == ids


def pd_hours(delta) -> float:
    return delta.total_seconds() / 3600


def test_sms_invitations_to_phones_on_the_orders(sb):
    token = sb.credentials()["SHOPOPS_SANDBOX_SHOP_US_TOKEN"]
    orders = requests.get(f"{sb.url}/shopify/shop-us/admin/api/2025-07/orders.json",
                          params={"status": "any", "limit": 250}, headers={"X-Shopify-Access-Token": token}).json()
    phones = list(dict.fromkeys(o["phone"] for o in orders["orders"] if o["phone"]))[:120]
    base = sb.support_settings()["surveys"]["link_base"]
    settings = sb.support_settings()["sms"]
    tokens = {}
    for i, phone in enumerate(phones):
        to = "+" + "".join(ch for ch in phone if ch.isdigit())
        tokens[token_for("sms", i)] = to
        body = f"How are we doing? {base}/r/relationship/{token_for('sms', i)}"
        assert sms_post(sb, To=to, From=settings["from"], Body=body).status_code == 201
    sb.clock.advance(timedelta(days=4))
    truth = sb.survey_truth().responses()
    mine = truth[truth["invitation_token"].isin(tokens) & ~truth["replay"]]
    assert 0.12 <= len(mine) / len(tokens) <= 0.38
    listed = {r["id"]: r for r in list_responses(sb)}
    for row in mine.itertuples():
        assert listed[row.id]["channel"] == "sms" and listed[row.id]["survey"] == "relationship"
        assert listed[row.id]["answers"]["csat"] is None and 0 <= listed[row.id]["answers"]["nps"] <= 10


def test_only_customers_answer(sb):
    base = sb.support_settings()["surveys"]["link_base"]
    with smtp_session(sb) as client:
        for i in range(60):
            client.send_message(invitation(sb, f"stranger{i}@example.net", [f"{base}/r/post_purchase/{token_for('x', i)}",
                                                                           f"http://elsewhere.test/r/post_purchase/y{i}"]))
    invitations = sb.survey_truth().invitations()
    strangers = invitations[invitations["token"].str.startswith("x")]
    assert len(strangers) == 60 and strangers["customer_id"].isna().all() and not strangers["responds"].any()
    assert not invitations["token"].str.startswith("y").any()
    sb.clock.advance(timedelta(days=4))
    assert not sb.survey_truth().responses()["invitation_token"].str.startswith("x").any()


def test_experience_lowers_the_scores(sb):
    tickets = sb.support_truth().tickets()
    unhappy = list(tickets[tickets["cause"].notna()]["customer_email"].drop_duplicates())[:100]
    orders = pd_orders(sb)
    bad = set(unhappy) | set(orders[orders["refunded_total"] > 0]["customer_email"]) | set(tickets["customer_email"])
    happy = [e for e in orders["customer_email"].drop_duplicates() if e not in bad][:100]
    sent_unhappy = send_links(sb, unhappy, "relationship", "sad", per_mail=3)
    sent_happy = send_links(sb, happy, "relationship", "glad", per_mail=3)
    sb.clock.advance(timedelta(days=4))
    truth = sb.survey_truth().responses()
    truth = truth[~truth["replay"]]
    low = truth[truth["invitation_token"].isin(sent_unhappy)]["nps"].astype(float)
    high = truth[truth["invitation_token"].isin(sent_happy)]["nps"].astype(float)
    assert len(low) >= 40 and len(high) >= 40
    assert high.mean() - low.mean() >= 2.0
    assert truth[truth["invitation_token"].isin(sent_happy)]["csat"].isna().all()  # relationship: NPS only
    sad_comments = truth[truth["invitation_token"].isin(sent_unhappy) & truth["comment"].notna() & (truth["nps"] <= 6)]
    words = ("late", "slow", "photos", "described", "quality", "broke", "damaged", "broken", "wrong", "support",
             "complaint", "disappointing", "not what", "apart", "cheap", "did not order")
    assert sad_comments["comment"].str.lower().apply(lambda text: any(w in text for w in words)).all()


def pd_orders(sb):
    return pd.concat([sb.truth(store).orders() for store in ("shop-us", "shop-eu", "woo-eu")])


def test_same_seed_same_responses():
    results = []
    for _ in range(2):
        with Sandbox(small_config(days=10)) as sb:
            send_links(sb, customers(sb, "shop-eu", 80), "post_purchase", "det", per_mail=3)
            sb.clock.advance(timedelta(days=4))
            listed = list_responses(sb)
            results.append([{k: v for k, v in r.items()} for r in listed])
    assert results[0] == results[1] and len(results[0]) > 20


# -- the provider's API ---------------------------------------------------------------------------
def test_survey_api_auth_and_parameters(sb):
    session, base = survey_client(sb)
    assert requests.get(base + RESPONSES).status_code == 401
    refused = requests.get(base + RESPONSES, headers={"Authorization": "Bearer nope"})
    assert refused.status_code == 401 and refused.json() == {"error": "unauthorized"}
    assert session.get(base + RESPONSES, params={"per_page": 101}).status_code == 400
    assert session.get(base + RESPONSES, params={"per_page": 100}).status_code == 200
    assert session.get(base + RESPONSES, params={"page_token": "garbage"}).status_code == 400
    assert session.get(base + RESPONSES, params={"updated_since": "last week"}).status_code == 400
    body = session.get(base + RESPONSES).json()
    assert set(body) == {"responses", "next_page_token"}


def test_survey_api_window_bounds(sb):
    send_links(sb, customers(sb, "shop-eu", 60), "complaint", "win", per_mail=2)
    sb.clock.advance(timedelta(days=4))
    listed = list_responses(sb)
    assert len(listed) >= 10
    middle = listed[len(listed) // 2]
    since = list_responses(sb, updated_since=middle["updated_at"])
    until = list_responses(sb, updated_until=middle["updated_at"])
    assert since[0]["updated_at"] == middle["updated_at"] and middle in since  # inclusive
    assert all(r["updated_at"] < middle["updated_at"] for r in until)  # exclusive
    assert len(since) + len(until) == len(listed)
    complaint = [r for r in listed if r["survey"] == "complaint"]
    assert complaint and all(r["answers"]["nps"] is None and 1 <= r["answers"]["csat"] <= 5 for r in complaint)
    # A response becomes visible when the clock reaches its submitted_at.
    sb.clock.set(datetime.fromisoformat(middle["submitted_at"].replace("Z", "+00:00")) - timedelta(seconds=1))
    assert middle not in list_responses(sb)
    sb.clock.advance(timedelta(seconds=1))
    assert middle in list_responses(sb)


def test_survey_api_rate_limit_and_faults():
    with Sandbox(tiny_config(survey_api_requests_per_minute=3)) as sb:
        session, base = survey_client(sb)
        answers = [session.get(base + RESPONSES) for _ in range(4)]
        assert [a.status_code for a in answers] == [200, 200, 200, 429]
        assert 1 <= int(answers[-1].headers["Retry-After"]) <= 60
    with Sandbox(tiny_config()) as sb:
        session, base = survey_client(sb)
        sb.faults.arm("surveys", "500", count=1)
        assert session.get(base + RESPONSES).status_code == 500
        sb.faults.arm("surveys", "429", count=1, retry_after=3)
        throttled = session.get(base + RESPONSES)
        assert throttled.status_code == 429 and throttled.headers["Retry-After"] == "3"
        assert session.get(base + RESPONSES).status_code == 200


def test_landing_page_stores_what_is_sent(sb):
    base = sb.support_settings()["surveys"]["link_base"]
    page = requests.get(f"{base}/r/post_purchase/some.token-1")
    assert page.status_code == 200 and page.headers["Content-Type"].startswith("text/html")
    assert 'name="nps"' in page.text and 'name="csat"' in page.text and "<form" in page.text
    complaint = requests.get(f"{base}/r/complaint/some.token-1").text
    assert 'name="csat"' in complaint and 'name="nps"' not in complaint
    assert requests.get(f"{base}/r/unknown/some.token-1").status_code == 404
    assert requests.post(f"{base}/r/post_purchase/some.token-1", data={"nps": "11", "csat": "4"}).status_code == 400
    thanks = requests.post(f"{base}/r/post_purchase/some.token-1", data={"nps": "9", "csat": "4", "comment": "Nice"})
    assert thanks.status_code == 200 and "Thank you" in thanks.text
    stored = [r for r in list_responses(sb) if r["token"] == "some.token-1"]
    assert len(stored) == 1
    assert stored[0]["answers"] == {"nps": 9, "csat": 4} and stored[0]["comment"] == "Nice"
    assert stored[0]["submitted_at"] == "2026-11-15T00:00:00Z" and stored[0]["channel"] is None
    row = sb.survey_truth().responses().set_index("id").loc[stored[0]["id"]]
    assert row["source"] == "landing_page" and not row["replay"]
