"""The sandbox's support desk over real HTTP: the Zendesk incremental ticket export (auth, parameters,
cursor pages to the end, side-loads, the sandbox clock, rate limit, faults), the Zendesk Chat export,
and the generated tickets and chats against the rates the README gives."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import numpy as np
import pandas as pd
import pytest
import requests

from connectors.sandbox import Sandbox, SandboxConfig, StoreConfig
from connectors.sandbox.clock import SandboxClock
from connectors.sandbox.generator import build_world
from connectors.sandbox.support_data import LATE_SHIPMENT, build_support
from connectors.sandbox.support_truth import SupportTruth

ANCHOR = datetime(2026, 11, 15, tzinfo=timezone.utc)
TICKETS = "/api/v2/incremental/tickets/cursor.json"
CHATS = "/api/v2/incremental/chats"


def small_config(**changes) -> SandboxConfig:
    settings = dict(anchor=ANCHOR, days=30, skus=300, competitors=[], support_export_requests_per_minute=10_000)
    settings.update(changes)
    return SandboxConfig(**settings)


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


def desk_client(sb) -> tuple[requests.Session, str]:
    settings, secrets = sb.support_settings()["desk"], sb.credentials()
    session = requests.Session()
    session.auth = (f"{settings['agent_email']}/token", secrets[settings["credentials"]["api_token"]["env"]])
    return session, settings["base_url"]


def chat_client(sb) -> tuple[requests.Session, str]:
    settings, secrets = sb.support_settings()["desk"], sb.credentials()
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {secrets[settings['credentials']['chat_token']['env']]}"
    return session, settings["base_url"]


def export_all(session, base, per_page=100, start_time=0, include="metric_sets,users"):
    """Every page from start_time to end_of_stream: (tickets, metric sets, users, last body)."""
    tickets, metrics, users = [], [], {}
    response = session.get(base + TICKETS, params={"start_time": start_time, "per_page": per_page, "include": include})
    while True:
        assert response.status_code == 200, response.text
        body = response.json()
        assert len(body["tickets"]) <= per_page
        tickets += body["tickets"]
        metrics += body.get("metric_sets", [])
        users.update({user["id"]: user for user in body.get("users", [])})
        if body["end_of_stream"]:
            return tickets, metrics, users, body
        response = session.get(body["after_url"])


def iso(moment) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


# -- auth and parameters ------------------------------------------------------------------------
def test_settings_and_credentials_name_every_secret(sb):
    settings, secrets = sb.support_settings(), sb.credentials()
    assert settings["desk"]["base_url"] == f"{sb.url}/zendesk/support"
    assert settings["sms"]["base_url"] == f"{sb.url}/twilio" and settings["sms"]["from"].startswith("+1555")
    assert settings["surveys"]["base_url"] == settings["surveys"]["link_base"] == f"{sb.url}/surveys/shopops"
    assert settings["smtp"]["host"] == "127.0.0.1" and settings["smtp"]["starttls"] is True
    envs = [field["env"] for service in settings.values() for field in service["credentials"].values()]
    assert len(envs) == 5 and all(secrets[env] for env in envs)


def test_ticket_export_needs_the_agent_token(sb):
    session, base = desk_client(sb)
    for auth in (None, ("someone@example.com/token", session.auth[1]), (session.auth[0], "wrong"),
                 (session.auth[0].removesuffix("/token"), session.auth[1])):
        response = requests.get(base + TICKETS, params={"start_time": 0}, auth=auth)
        assert response.status_code == 401 and response.json() == {"error": "Couldn't authenticate you"}
    assert session.get(base + TICKETS, params={"start_time": 0, "per_page": 1}).status_code == 200


def test_ticket_export_parameters(sb):
    session, base = desk_client(sb)
    now = int(ANCHOR.timestamp())
    for start_time in (now - 30, now, now + 3600):
        response = session.get(base + TICKETS, params={"start_time": start_time})
        assert response.status_code == 400
        assert response.json() == {"error": "InvalidValue",
                                   "description": "start_time must be more than one minute in the past"}
    assert session.get(base + TICKETS, params={"start_time": now - 61, "per_page": 1}).status_code == 200
    assert session.get(base + TICKETS, params={"start_time": 0, "per_page": 1001}).status_code == 400
    assert session.get(base + TICKETS, params={"start_time": 0, "per_page": 0}).status_code == 400
    assert session.get(base + TICKETS, params={"start_time": "yesterday"}).status_code == 400
    assert session.get(base + TICKETS).status_code == 400
    first = session.get(base + TICKETS, params={"start_time": 0, "per_page": 5}).json()
    cursor = first["after_cursor"]
    forged = cursor[:-2] + ("AA" if cursor[-2:] != "AA" else "BB")
    for bad in (forged, "not-a-cursor"):
        response = session.get(base + TICKETS, params={"cursor": bad})
        assert response.status_code == 400 and response.json()["error"] == "InvalidPaginationParameter"
    assert len(session.get(base + TICKETS, params={"cursor": cursor, "per_page": 5}).json()["tickets"]) == 5


# -- pages ----------------------------------------------------------------------------------------
def test_export_to_the_end_loses_and_doubles_nothing(sb):
    session, base = desk_client(sb)
    tickets, metrics, users, last = export_all(session, base, per_page=70)
    truth = sb.support_truth().tickets()
    visible = truth[truth["visible"]].set_index("ticket_id")
    ids = [t["id"] for t in tickets]
    assert len(ids) == len(set(ids)) == len(visible)
    assert set(ids) == set(visible.index)
    keys = [(t["updated_at"], t["id"]) for t in tickets]
    assert keys == sorted(keys)
    assert last["before_url"] is None and last["after_cursor"] and last["after_url"]
    # Side-loads: a metric set per ticket, every requester.
    assert [m["ticket_id"] for m in metrics] == ids
    assert {t["requester_id"] for t in tickets} == set(users)
    for ticket in tickets:
        row = visible.loc[ticket["id"]]
        fields = {f["id"]: f["value"] for f in ticket["custom_fields"]}
        assert ticket["status"] == row["status"]
        assert ticket["updated_at"] == iso(row["updated_at"])
        assert ticket["created_at"] == iso(row["created_at"])
        assert ticket["type"] == row["type"] and ticket["priority"] == row["priority"]
        assert fields == {360001: row["order_number"], 360002: row["cause"], 360003: row["sku"], 360004: row["store"]}
        assert ticket["requester_id"] == row["requester_id"] and ticket["external_id"] is None
        assert ticket["generated_timestamp"] == int(row["updated_at"].timestamp())
        assert ticket["via"]["channel"] in ("email", "web", "chat")
        assert ticket["url"].endswith(f"/api/v2/tickets/{ticket['id']}.json")
        assert users[ticket["requester_id"]]["email"] == row["customer_email"]
    # Order numbers as the orders show them: "#1001" on Shopify, "1234" on WooCommerce.
    numbered = visible.dropna(subset=["order_number"])
    assert numbered[numbered["store"] != "woo-eu"]["order_number"].str.match(r"#\d+$").all()
    assert numbered[numbered["store"] == "woo-eu"]["order_number"].str.match(r"\d+$").all()
    user = next(iter(users.values()))
    assert set(user) >= {"id", "name", "email", "phone", "role", "time_zone", "created_at", "updated_at"}
    assert user["role"] == "end-user" and "/" in user["time_zone"]
    assert all(u["created_at"] <= u["updated_at"] for u in users.values())


def test_requesters_are_the_customers_the_orders_show(sb):
    session, base = desk_client(sb)
    tickets, _, users, _ = export_all(session, base, per_page=1000)
    token = sb.credentials()["SHOPOPS_SANDBOX_SHOP_US_TOKEN"]
    people, url = {}, f"{sb.url}/shopify/shop-us/admin/api/2025-07/orders.json?status=any&limit=250"
    while url:
        response = requests.get(url, headers={"X-Shopify-Access-Token": token})
        for order in response.json()["orders"]:
            customer = order["customer"]
            people[customer["email"]] = (f"{customer['first_name']} {customer['last_name']}", customer["phone"])
        url = response.links.get("next", {}).get("url")
    mine = [u for u in users.values() if u["email"] in people and u["time_zone"] == "America/New_York"]
    assert len(mine) >= 20
    assert all((u["name"], u["phone"]) == people[u["email"]] for u in mine)
    first_ticket = {}
    for ticket in tickets:
        first_ticket.setdefault(ticket["requester_id"], ticket["created_at"])
    assert all(users[i]["updated_at"] == created for i, created in first_ticket.items())


def test_metric_sets_tell_reply_and_resolution_times(sb):
    session, base = desk_client(sb)
    tickets, metrics, _, _ = export_all(session, base, per_page=1000)
    truth = sb.support_truth().tickets().set_index("ticket_id")
    for metric in metrics:
        row = truth.loc[metric["ticket_id"]]
        replied = row["first_reply_at"] <= pd.Timestamp(ANCHOR)
        if replied:
            seconds = (row["first_reply_at"] - row["created_at"]).total_seconds()
            assert metric["reply_time_in_seconds"]["calendar"] == seconds
            assert metric["reply_time_in_minutes"]["calendar"] == round(seconds / 60)
            assert 0 <= metric["reply_time_in_minutes"]["business"] <= metric["reply_time_in_minutes"]["calendar"]
        else:
            assert metric["reply_time_in_minutes"] == {"calendar": None, "business": None}
        solved = pd.notna(row["solved_at"]) and row["solved_at"] <= pd.Timestamp(ANCHOR)
        assert (metric["solved_at"] is not None) == solved
        if solved:
            assert metric["solved_at"] == iso(row["solved_at"])
            minutes = round((row["solved_at"] - row["created_at"]).total_seconds() / 60)
            assert metric["full_resolution_time_in_minutes"]["calendar"] == minutes
    assert {m["replies"] for m in metrics} >= {1, 2}


def test_the_cursor_resumes_after_the_clock_moves(sb):
    session, base = desk_client(sb)
    sb.clock.set(ANCHOR - timedelta(days=3))
    first, _, _, last = export_all(session, base, per_page=200, include="")
    sb.clock.set(ANCHOR)
    response = session.get(base + TICKETS, params={"cursor": last["after_cursor"], "per_page": 1000})
    body = response.json()
    assert body["end_of_stream"] is True
    later = body["tickets"]
    assert all(t["updated_at"] > first[-1]["updated_at"] or
               (t["updated_at"] == first[-1]["updated_at"] and t["id"] > first[-1]["id"]) for t in later)
    # The latest version of each ticket, from both runs, is what the export shows at the anchor.
    latest = {t["id"]: t for t in first + later}
    truth = sb.support_truth().tickets()
    visible = truth[truth["visible"]].set_index("ticket_id")
    assert set(latest) == set(visible.index)
    assert all(latest[i]["status"] == visible.loc[i, "status"] for i in latest)
    # An exhausted stream still hands out a cursor: the next run resumes from it.
    again = session.get(body["after_url"]).json()
    assert again["tickets"] == [] and again["end_of_stream"] is True and again["after_cursor"]


# -- the sandbox clock --------------------------------------------------------------------------
def test_a_ticket_shows_as_it_was_at_the_clock(sb):
    session, base = desk_client(sb)
    truth = sb.support_truth().tickets()
    solved = truth[truth["solved_at"].notna() & ~truth["deleted"] &
                   (truth["solved_at"] - truth["first_reply_at"] > pd.Timedelta(hours=2))]
    ticket = solved.iloc[len(solved) // 2]
    moment = ticket["first_reply_at"] - (ticket["first_reply_at"] - ticket["created_at"]) / 4  # assigned, no reply
    sb.clock.set(moment.to_pydatetime().replace(microsecond=0))
    tickets, metrics, _, _ = export_all(session, base, per_page=1000)
    shown = {t["id"]: t for t in tickets}
    metric = {m["ticket_id"]: m for m in metrics}[ticket["ticket_id"]]
    assert shown[ticket["ticket_id"]]["status"] in ("new", "open")
    if shown[ticket["ticket_id"]]["status"] == "open":
        assert shown[ticket["ticket_id"]]["assignee_id"] is not None
    assert metric["solved_at"] is None and metric["reply_time_in_minutes"]["calendar"] is None
    # Solved after the clock: open (or pending on the customer), never solved.
    between = truth[(truth["first_reply_at"] <= pd.Timestamp(moment)) & (truth["solved_at"] > pd.Timestamp(moment))
                    & ~truth["deleted"]]
    assert len(between) > 0
    assert {shown[i]["status"] for i in between["ticket_id"]} <= {"open", "pending"}
    assert "open" in {shown[i]["status"] for i in between["ticket_id"]}
    # Created after the clock: invisible.
    assert not set(truth[truth["created_at"] > pd.Timestamp(moment)]["ticket_id"]) & set(shown)
    at_moment = sb.support_truth().tickets()
    assert set(at_moment[at_moment["visible"]]["ticket_id"]) == set(shown)
    # Advancing solves it, and then closes it.
    sb.clock.set(ticket["solved_at"].to_pydatetime() + timedelta(minutes=1))
    status = {t["id"]: t["status"] for t in export_all(session, base, per_page=1000, include="")[0]}
    assert status[ticket["ticket_id"]] == "solved"
    sb.clock.set(ticket["solved_at"].to_pydatetime() + timedelta(days=5))
    status = {t["id"]: t["status"] for t in export_all(session, base, per_page=1000, include="")[0]}
    assert status[ticket["ticket_id"]] == "closed"


def test_deleted_tickets_are_exported_as_deleted(sb):
    truth = sb.support_truth().tickets()
    deleted = truth[truth["deleted"]]
    session, base = desk_client(sb)
    status = {t["id"]: t["status"] for t in export_all(session, base, per_page=1000, include="")[0]}
    assert len(deleted) >= 1
    assert all(status[i] == "deleted" for i in deleted["ticket_id"])


# -- rate limit and faults --------------------------------------------------------------------------
def test_incremental_exports_allow_ten_requests_a_minute_by_default():
    config = small_config(days=2, skus=50, stores=[StoreConfig("shop-us", "shopify", "America/New_York", "USD", 20)])
    config.support_export_requests_per_minute = 10
    with Sandbox(config) as sb:
        session, base = desk_client(sb)
        answers = [session.get(base + TICKETS, params={"start_time": 0}) for _ in range(11)]
        assert [a.status_code for a in answers] == [200] * 10 + [429]
        assert answers[-1].json() == {"error": "APIRateLimitExceeded", "description":
                                      "Number of allowed incremental export API requests per minute exceeded"}
        assert 1 <= int(answers[-1].headers["Retry-After"]) <= 60
        # The chat export counts on its own.
        chats, _ = chat_client(sb)
        assert chats.get(base + CHATS).status_code == 200


@pytest.mark.parametrize("kind", ["429", "500", "503"])
def test_faults_hit_the_desk(sb, kind):
    session, base = desk_client(sb)
    sb.faults.arm("support", kind, count=2, **({"retry_after": 7} if kind == "429" else {}))
    answers = [session.get(base + TICKETS, params={"start_time": 0, "per_page": 1}) for _ in range(3)]
    assert [a.status_code for a in answers] == [int(kind)] * 2 + [200]
    if kind == "429":
        assert answers[0].headers["Retry-After"] == "7"
        assert answers[0].json()["error"] == "APIRateLimitExceeded"
    assert sb.stats()["support"]["incremental/tickets/cursor.json"]["statuses"][kind] >= 2


def test_expired_cursor_fault_and_other_targets_untouched(sb):
    session, base = desk_client(sb)
    cursor = session.get(base + TICKETS, params={"start_time": 0, "per_page": 1}).json()["after_cursor"]
    sb.faults.arm("support", "expired_cursor", count=1)
    assert session.get(base + TICKETS, params={"start_time": 0, "per_page": 1}).status_code == 200
    assert session.get(base + TICKETS, params={"cursor": cursor}).status_code == 400
    assert session.get(base + TICKETS, params={"cursor": cursor}).status_code == 200
    sb.faults.arm("sms", "503", count=1)
    assert session.get(base + TICKETS, params={"start_time": 0, "per_page": 1}).status_code == 200


# -- chats ----------------------------------------------------------------------------------------
def test_chat_export_auth_and_parameters(sb):
    session, base = chat_client(sb)
    assert requests.get(base + CHATS).status_code == 401
    assert requests.get(base + CHATS, headers={"Authorization": "Bearer nope"}).status_code == 401
    assert session.get(base + CHATS, params={"limit": 1001}).status_code == 400
    assert session.get(base + CHATS, params={"start_time": "x"}).status_code == 400
    body = session.get(base + CHATS, params={"limit": 3}).json()
    assert body["count"] == 3 and body["next_page"] and isinstance(body["end_time"], int)
    assert body["end_id"] == body["chats"][-1]["id"]


def test_chat_export_to_the_end(sb):
    session, base = chat_client(sb)
    chats = []
    url, params = base + CHATS, {"start_time": 0, "limit": 250}
    while url:
        body = session.get(url, params=params).json()
        params = None
        chats += body["chats"]
        assert body["count"] == len(body["chats"])
        url = body["next_page"]
        assert (url is not None) == (body["count"] == 250)
    truth = sb.support_truth().chats()
    visible = truth[truth["visible"]]
    ids = [c["id"] for c in chats]
    assert ids == list(visible["id"]) and len(set(ids)) == len(ids)
    keys = [(c["update_timestamp"], c["id"]) for c in chats]
    assert keys == sorted(keys)
    chat = chats[0]
    assert set(chat) >= {"id", "type", "timestamp", "end_timestamp", "update_timestamp", "response_time", "missed",
                         "department_name"}
    assert chat["type"] == "chat" and chat["department_name"] in {"shop-us", "shop-eu", "woo-eu"}
    answered = [c for c in chats if not c["missed"]]
    missed = [c for c in chats if c["missed"]]
    assert all(c["response_time"] == {"first": None, "avg": None, "max": None} for c in missed)
    fast = np.mean([c["response_time"]["first"] <= 30 for c in answered])
    assert 0.85 <= fast <= 0.97
    assert 0.01 <= len(missed) / len(chats) <= 0.06
    assert max(c["response_time"]["first"] for c in answered) > 120
    per_store_day = len(chats) / (3 * 30)
    assert 15 <= per_store_day <= 25
    assert any("visitor" in c for c in chats) and any("visitor" not in c for c in chats)


def test_chat_ties_resume_with_start_id(sb):
    session, base = chat_client(sb)
    all_chats = session.get(base + CHATS, params={"limit": 1000}).json()["chats"]
    middle = all_chats[500]
    end_time = int(datetime.fromisoformat(middle["update_timestamp"].replace("Z", "+00:00")).timestamp())
    body = session.get(base + CHATS, params={"start_time": end_time, "start_id": middle["id"], "limit": 5}).json()
    assert body["chats"][0]["id"] == all_chats[501]["id"]


def test_chats_follow_the_clock(sb):
    session, base = chat_client(sb)
    sb.clock.set(ANCHOR - timedelta(days=10))
    body = session.get(base + CHATS, params={"limit": 1000}).json()
    latest = max(c["update_timestamp"] for c in body["chats"])
    assert latest <= iso(ANCHOR - timedelta(days=10))


# -- the generated tickets ----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def desk_data():
    config = SandboxConfig(anchor=ANCHOR, days=90, skus=1000, competitors=[])
    world = build_world(config)
    return config, world, build_support(config, world)


@pytest.fixture(scope="module")
def tickets(desk_data):
    config, _, desk = desk_data
    return SupportTruth(desk, SandboxClock(config.anchor)).tickets()


def test_ticket_rates(desk_data, tickets):
    config, world, _ = desk_data
    orders = sum(store.order_count for store in world.stores.values())
    complaints = tickets[tickets["type"] != "question"]
    questions = tickets[tickets["type"] == "question"]
    assert 0.03 <= len(complaints) / orders <= 0.05
    assert set(complaints["type"]) == {"problem", "incident"}
    assert complaints["cause"].notna().all() and complaints["sku"].notna().all()
    assert complaints["order_number"].notna().all()
    assert 0.01 <= len(questions) / orders <= 0.02 and questions["cause"].isna().all()
    assert questions["customer_id"].isna().any()  # some never bought
    shares = tickets["priority"].value_counts(normalize=True)
    assert 0.11 <= shares["high"] <= 0.19 and 0.02 <= shares["urgent"] <= 0.06
    assert shares["low"] + shares["normal"] > 0.75
    assert set(tickets["cause"].dropna()) == {"delivery_delay", "description_mismatch", "quality", "damaged",
                                              "wrong_item", "other"}


def test_slas_mostly_met_some_breached_some_about_to(tickets):
    anchor = pd.Timestamp(ANCHOR)
    breached = tickets["first_reply_breached"].mean()
    assert 0.05 <= breached <= 0.15
    hours = (tickets["first_reply_at"] - tickets["created_at"]).dt.total_seconds() / 3600
    assert (hours[tickets["priority"] == "urgent"] <= 2).mean() > 0.8
    still_open = tickets[tickets["visible"] & tickets["status"].isin(["new", "open", "pending"])]
    assert len(still_open) >= 10
    unreplied = tickets[tickets["visible"] & (tickets["first_reply_at"] > anchor) & ~tickets["deleted"]]
    due_soon = unreplied[(unreplied["first_reply_due_at"] > anchor) &
                         (unreplied["first_reply_due_at"] <= anchor + pd.Timedelta(hours=12))]
    assert len(due_soon) >= 1
    assert set(tickets["status"].dropna()) >= {"new", "open", "pending", "solved", "closed", "deleted"}


def test_causes_concentrate_on_some_skus_and_delays_on_late_orders(desk_data, tickets):
    _, world, desk = desk_data
    complaints = tickets[tickets["type"] != "question"]
    per_sku = complaints.groupby(["sku", "cause"]).size().sort_values(ascending=False)
    top = per_sku.head(5)
    assert top.iloc[0] >= 15 and set(top.index.get_level_values("cause")) <= {"quality", "description_mismatch"}
    t = desk.tickets
    late = np.zeros(t.size, dtype=bool)
    for index, store in enumerate(desk.stores):
        rows = np.flatnonzero((t.store == index) & (t.order >= 0))
        orders = t.order[rows]
        late[rows] = store.life.fulfilled_at[orders] - store.created[orders] > LATE_SHIPMENT
    delay = (t.cause == 0)
    complaint = t.cause >= 0
    assert delay[complaint & late].mean() > 2 * delay[complaint & ~late].mean()


def test_the_desk_is_deterministic(desk_data):
    config, world, desk = desk_data
    again = build_support(config, world)
    assert np.array_equal(desk.tickets.event_time, again.tickets.event_time)
    assert np.array_equal(desk.tickets.id, again.tickets.id) and desk.chats.id == again.chats.id
    assert desk.users.email == again.users.email
