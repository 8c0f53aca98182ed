"""Who is invited and why not, quiet hours across time zones, signed links, service levels."""

import numpy as np
import pandas as pd
import pytest

from tasks.surveys.eligibility import (EligibilitySettings, complaint_candidates, decide, delivery_candidates,
                                       invitation_id, relationship_candidates)
from tasks.surveys.service import ServiceSettings, breaches, complaint_causes, first_reply_status, levels, service_scores
from tasks.surveys.signing import sign, verify

# 10:00 in Berlin on a winter day: 09:00 UTC, 04:00 in New York, 20:00 in Sydney.
MOMENT = pd.Timestamp("2026-11-20T09:00:00Z")
SETTINGS = EligibilitySettings()


def customers(**overrides):
    base = {"email": "a@example.com", "phone": "+4930123456", "accepts_marketing": True, "country": "DE"}
    rows = {key: {**base, **values} for key, values in overrides.items()}
    return pd.DataFrame.from_dict(rows, orient="index")


def candidate(key, trigger="delivery", subject=None):
    return {"trigger": trigger, "subject": subject or f"shop:{key}", "customer_key": key, "source": "shop",
            "external_order_id": key, "ticket_id": None, "reason": "delivered"}


NO_CONTACTS = pd.DataFrame(columns=["nearest", "last_sent"], index=pd.Index([], dtype=object))


def decided(rows, people, contacted=NO_CONTACTS, open_complaints=(), moment=MOMENT, now=MOMENT):
    return decide(pd.DataFrame(rows), people, contacted, set(open_complaints), moment, SETTINGS, "Europe/Berlin",
                  now=now).set_index("customer_key")


def test_every_suppression_rule_gives_its_reason():
    people = customers(ok={}, no_contact={"email": None, "phone": None}, no_consent={"accepts_marketing": False},
                       unknown_consent={"accepts_marketing": None}, recent={}, later={}, just_sent={}, complaining={},
                       sms={"email": None, "phone": "030 1234567"}, bad_phone={"email": None, "phone": "12"})
    day = pd.Timedelta(days=1)
    contacted = pd.DataFrame({  # decided 29 days before; 29 days after (a backfill); really sent yesterday
        "nearest": [MOMENT - 29 * day, MOMENT + 29 * day, MOMENT - 300 * day, MOMENT - 31 * day],
        "last_sent": [MOMENT - 29 * day, pd.NaT, MOMENT - day, MOMENT - 31 * day],
    }, index=["recent", "later", "just_sent", "ok"])
    rows = [candidate(k) for k in people.index] + [candidate(None, subject="shop:guest")]
    result = decided(rows, people, contacted, open_complaints={"complaining"})
    assert result.loc["ok", "status"] == "pending" and result.loc["ok", "channel"] == "email"
    assert result.loc["sms", "status"] == "pending" and result.loc["sms", "channel"] == "sms"
    assert "no e-mail address or valid phone number" in result.loc["no_contact", "reason"]
    assert "no e-mail address or valid phone number" in result.loc["bad_phone", "reason"]
    assert "no consent" in result.loc["no_consent", "reason"] and "no consent" in result.loc["unknown_consent", "reason"]
    for key in ("recent", "later", "just_sent"):
        assert "surveyed within 30 days" in result.loc[key, "reason"], key
    assert "open complaint" in result.loc["complaining", "reason"]
    guest = result[result.index.isna()]
    assert guest["status"].tolist() == ["suppressed"] and "anonymous" in guest["reason"].iloc[0]
    suppressed = result[result["status"] == "suppressed"]
    assert suppressed["channel"].isna().all() and suppressed["send_after"].isna().all()


def test_one_invitation_per_customer_per_decision_the_complaint_first():
    people = customers(x={})
    rows = [candidate("x", "relationship", "2026Q4:x"), candidate("x", "delivery", "shop:1"),
            candidate("x", "complaint", "desk:7")]
    result = decide(pd.DataFrame(rows), people, NO_CONTACTS, set(), MOMENT, SETTINGS, "Europe/Berlin", now=MOMENT)
    assert result.set_index("trigger")["status"].to_dict() == {
        "relationship": "suppressed", "delivery": "suppressed", "complaint": "pending"}


def test_quiet_hours_defer_to_the_end_of_the_night_where_the_customer_lives():
    people = customers(berlin={"country": "DE"}, new_york={"country": "US"}, sydney={"country": "AU"},
                       nowhere={"country": "ZZ"})
    result = decided([candidate(k) for k in people.index], people)
    assert result.loc["berlin", "status"] == "pending" and result.loc["berlin", "send_after"] == MOMENT
    assert result.loc["nowhere", "status"] == "pending"  # the business time zone: 10:00 in Berlin
    # 04:00 in New York → 09:00 there = 14:00 UTC the same day.
    assert result.loc["new_york", "status"] == "deferred"
    assert result.loc["new_york", "send_after"] == pd.Timestamp("2026-11-20T14:00:00Z")
    # 20:00 in Sydney is not quiet yet; at 22:00 (11:00 UTC) it is, until 09:00 the next day (22:00 UTC).
    assert result.loc["sydney", "status"] == "pending"
    later = decided([candidate("sydney")], people, moment=pd.Timestamp("2026-11-20T11:00:00Z"))
    assert later.loc["sydney", "send_after"] == pd.Timestamp("2026-11-20T22:00:00Z")


def test_quiet_hours_follow_daylight_saving_in_the_customer_zone():
    people = customers(new_york={"country": "US"})
    # 2026-11-01 is the end of daylight saving in New York: 09:00 local that day is 14:00 UTC, not 13:00.
    result = decided([candidate("new_york")], people, moment=pd.Timestamp("2026-11-01T07:00:00Z"))
    assert result.loc["new_york", "send_after"] == pd.Timestamp("2026-11-01T14:00:00Z")


def test_delivery_slices_of_consecutive_days_meet_without_gaps_or_overlaps():
    fulfilled = pd.date_range("2026-11-14", periods=24 * 6, freq="h", tz="UTC")
    orders = pd.DataFrame({"source": "shop", "external_id": [str(i) for i in range(len(fulfilled))],
                           "customer_key": "k", "fulfilled_at": fulfilled})
    moments = [MOMENT + pd.Timedelta(days=d) for d in range(-2, 2)]
    days = [delivery_candidates(orders, previous, moment, SETTINGS) for previous, moment in zip(moments, moments[1:])]
    subjects = pd.concat(days)["subject"]
    assert subjects.is_unique and len(subjects) == 3 * 24
    # Delivered = shipped + 3 days; today (09:00 on the 20th) takes deliveries that turned 24 h old
    # since yesterday's decision: delivered in (09:00 on the 18th, 09:00 on the 19th], shipped 3 days before.
    today = days[1]
    shipped = orders.set_index("external_id").loc[today["external_order_id"], "fulfilled_at"]
    assert shipped.min() == pd.Timestamp("2026-11-15T10:00:00Z") and shipped.max() == pd.Timestamp("2026-11-16T09:00:00Z")


def test_the_day_daylight_saving_ends_loses_no_delivery():
    # 10:00 in Berlin: 08:00 UTC on 24 October, 09:00 UTC on the 25th (the clocks went back): 25 hours.
    moments = [pd.Timestamp(f"2026-10-{day} 10:00", tz="Europe/Berlin").tz_convert("UTC") for day in (23, 24, 25, 26)]
    fulfilled = pd.date_range("2026-10-18", periods=6 * 24 * 60, freq="min", tz="UTC")
    orders = pd.DataFrame({"source": "shop", "external_id": [str(i) for i in range(len(fulfilled))],
                           "customer_key": "k", "fulfilled_at": fulfilled})
    days = [delivery_candidates(orders, previous, moment, SETTINGS) for previous, moment in zip(moments, moments[1:])]
    assert [len(day) for day in days] == [24 * 60, 25 * 60, 24 * 60]
    assert pd.concat(days)["subject"].is_unique


def test_complaint_and_relationship_candidates():
    tickets = pd.DataFrame({"desk": "support", "ticket_id": ["1", "2", "3"], "customer_key": ["a", "b", "c"],
                            "is_complaint": [True, True, False], "status": ["solved", "open", "solved"],
                            "solved_at": [MOMENT - pd.Timedelta(hours=3), None, MOMENT - pd.Timedelta(hours=1)],
                            "store": "shop"})
    assert complaint_candidates(tickets, MOMENT - pd.Timedelta(days=1), MOMENT)["ticket_id"].tolist() == ["1"]
    keys = pd.Series([f"{i:08x}" + "0" * 56 for i in range(920)])
    people = pd.DataFrame({"customer_key": keys})
    first = pd.Timestamp("2026-10-01").date()
    per_day = [len(relationship_candidates(people, first + pd.Timedelta(days=d))) for d in range(92)]
    assert sum(per_day) == 920 and max(per_day) == 10  # every customer once in Q4 (92 days), spread evenly
    assert relationship_candidates(people, first)["subject"].str.startswith("2026Q4:").all()


def test_the_same_trigger_and_subject_always_give_the_same_invitation():
    first = invitation_id(pd.Series(["delivery"]), pd.Series(["shop:1"]))
    assert first.equals(invitation_id(pd.Series(["delivery"]), pd.Series(["shop:1"])))
    assert first[0] != invitation_id(pd.Series(["complaint"]), pd.Series(["shop:1"]))[0]


# -- signed links -------------------------------------------------------------------------------
KEY = b"k" * 32
EXPIRES = pd.Timestamp("2026-12-04T09:00:00Z")


def test_a_signed_link_verifies_until_it_expires():
    token = sign(KEY, "ab" * 12, "post_purchase", EXPIRES)
    assert verify(KEY, token, "post_purchase", EXPIRES - pd.Timedelta(days=1)) == ("ab" * 12, "valid")
    assert verify(KEY, token, "post_purchase", EXPIRES + pd.Timedelta(seconds=1)) == ("ab" * 12, "expired")


@pytest.mark.parametrize("tamper", [
    lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),          # the MAC
    lambda t: ("cd" * 12) + t[24:],                             # another invitation
    lambda t: t.replace(t.split(".")[1], "ffffffff"),           # a later expiry
    lambda t: t + "x", lambda t: "", lambda t: None,
])
def test_a_tampered_link_is_refused(tamper):
    token = sign(KEY, "ab" * 12, "post_purchase", EXPIRES)
    assert verify(KEY, tamper(token), "post_purchase", EXPIRES - pd.Timedelta(days=1)) == (None, "tampered")


def test_a_link_cannot_answer_another_survey_or_be_signed_with_another_key():
    token = sign(KEY, "ab" * 12, "complaint", EXPIRES)
    assert verify(KEY, token, "relationship", EXPIRES - pd.Timedelta(days=1))[1] == "tampered"
    assert verify(b"other", token, "complaint", EXPIRES - pd.Timedelta(days=1))[1] == "tampered"


# -- service levels -----------------------------------------------------------------------------
def _ticket(ticket_id, priority, created_hours_ago, reply_hours=None, solved_hours=None, cause="quality", sku="A"):
    created = MOMENT - pd.Timedelta(hours=created_hours_ago)
    return {"desk": "support", "ticket_id": ticket_id, "priority": priority, "is_complaint": True,
            "status": "solved" if solved_hours is not None else "open", "created_at": created,
            "first_reply_at": created + pd.Timedelta(hours=reply_hours) if reply_hours is not None else pd.NaT,
            "solved_at": created + pd.Timedelta(hours=solved_hours) if solved_hours is not None else pd.NaT,
            "cause": cause, "sku": sku}


def test_first_reply_deadlines_by_level_breaches_and_tickets_about_to_breach():
    tickets = pd.DataFrame([
        _ticket("1", "urgent", 10, reply_hours=1.5, solved_hours=5),   # major, 2 h: met
        _ticket("2", "urgent", 10, reply_hours=3),                     # major: 1 h late
        _ticket("3", "high", 11),                                      # urgent, 12 h: 1 h left of 12 → at risk
        _ticket("4", "normal", 30),                                    # general, 48 h: 18 h left → open
        _ticket("5", "low", 50),                                       # general: unanswered, 2 h past
        _ticket("6", "urgent", 3),                                     # major: unanswered, 1 h past
        _ticket("7", "urgent", 4, solved_hours=1),                     # major, solved without a reply in 1 h: met
    ])
    tickets["level"] = levels(tickets["priority"])
    assert tickets["level"].tolist() == ["major", "major", "urgent", "general", "general", "major", "major"]
    states = first_reply_status(tickets, MOMENT, ServiceSettings()).set_index("ticket_id")
    assert states["state"].to_dict() == {"1": "met", "2": "breached", "3": "at risk", "4": "open", "5": "breached",
                                         "6": "breached", "7": "met"}
    assert states.loc["2", "hours_late"] == pytest.approx(1.0) and states.loc["5", "hours_late"] == pytest.approx(2.0)
    # Escalated: only a major complaint still unanswered (2 was answered, late: nothing left to chase).
    assert states["escalated"].to_dict() == {"1": False, "2": False, "3": False, "4": False, "5": False, "6": True,
                                             "7": False}
    assert sorted(breaches(states.reset_index(), MOMENT, ServiceSettings())["ticket_id"]) == ["2", "3", "5", "6"]


def test_compliance_counts_only_settled_complaints_and_chats_within_30_seconds():
    tickets = pd.DataFrame([_ticket(str(i), "normal", 30, reply_hours=1, solved_hours=20) for i in range(6)]
                           + [_ticket("late", "normal", 60, reply_hours=50, solved_hours=55),
                              _ticket("waiting", "normal", 5)])
    tickets["level"] = levels(tickets["priority"])
    chats = pd.DataFrame({"started_at": MOMENT - pd.Timedelta(hours=1),
                          "first_response_seconds": [5, 10, 30, 31, np.nan], "missed": [False] * 4 + [True]})
    scores, _ = service_scores(tickets, chats, MOMENT, ServiceSettings(min_responses=1))
    scores = scores.set_index(["measure", "cell"])
    # First replies: 6 met + 1 late of 7 settled ("waiting" is not due yet) → 6/7.
    assert scores.loc[("first_reply_sla", "all"), "responses"] == 7
    assert scores.loc[("first_reply_sla", "all"), "score"] == pytest.approx(600 / 7)
    # Solved within 24 h: 6 of 7 known (the late one took 55 h; "waiting" is 5 h old: not known yet).
    assert scores.loc[("solved_within_24h", "all"), "score"] == pytest.approx(600 / 7)
    # Chats: 5, 10 and 30 s of 5 (31 s and the missed one fail) → 60%.
    assert scores.loc[("chat_first_response", "all"), "score"] == pytest.approx(60.0)


def test_complaint_causes_ranked_per_sku():
    tickets = pd.DataFrame([_ticket("1", "normal", 5, cause="quality"), _ticket("2", "normal", 5, cause="quality"),
                            _ticket("3", "normal", 5, cause="damaged"), _ticket("4", "normal", 5, sku="B", cause=None),
                            _ticket("5", "normal", 24 * 100, cause="damaged")])  # older than the look-back
    causes = complaint_causes(tickets, pd.Series({"A": 40}), MOMENT, ServiceSettings())
    assert causes[["sku", "cause", "complaints", "rank", "units_sold"]].values.tolist() == [
        ["A", "quality", 2, 1, 40], ["A", "damaged", 1, 2, 40], ["B", "other", 1, 1, 0]]


def test_judging_responses_counts_the_first_answer_of_a_sent_invitation_only():
    from tasks.surveys.responses import judge

    at = pd.Timestamp("2026-11-21T10:00:00Z")
    frame = pd.DataFrame({
        "response_id": ["r1", "r2", "r3", "r4", "r5", "r6", "r7"],
        "invitation_id": ["a", "a", "b", "c", "d", None, "e"],
        "survey": ["post_purchase", "post_purchase", "complaint", "post_purchase", "post_purchase", "complaint",
                   "relationship"],
        "submitted_at": [at, at + pd.Timedelta(hours=5), at, at, at, at, at],
        "validity": ["valid", "valid", "valid", "valid", "valid", "tampered", "expired"],
    })
    sent = pd.Series({"a": "post_purchase", "b": "post_purchase", "d": "post_purchase", "e": "relationship"})
    counted = pd.Series({"d": "r0"})  # d was answered in an earlier pull
    assert judge(frame, sent, counted).tolist() == [
        "valid",      # a's first answer
        "replayed",   # a again, hours later
        "tampered",   # b was sent as another survey
        "unknown",    # c was never sent
        "replayed",   # d was answered before
        "tampered", "expired"]  # as the signature check found them
