"""The support desk's data: tickets of one Zendesk-style desk shared by all stores, its end users,
and the stores' chats, as columns (numpy), generated from the stores' orders and customers.

Complaints (4% of orders, more where the order shipped late or was refunded for a reason a customer
complains about, far more where it holds one of a handful of "problem SKUs") name the order, one of
its SKUs and a cause; questions come from 1% of orders and from people who never bought. Each ticket
is a short sequence of events (created, assigned, first reply, solved, closed, or deleted), each a new
version with a later `updated_at`; the version shown at sandbox time t is the latest event <= t.

Draws come from streams keyed by (seed, _SUPPORT, stage[, store]), apart from every other stream of
the sandbox: the stores' data do not change because the desk exists.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np

from .catalogue import DAY, Catalogue
from .config import SandboxConfig
from .customers import Customers, draw_customers
from .generator import World
from .ids import sparse_ids
from .lifecycle import REFUND_NOTES
from .locales import market_countries
from .store import StoreData
from .wire import NEVER

HOUR, MINUTE = 3_600, 60
_SUPPORT = 50  # a top-level stream key of its own (the generator's are 1-4)
_TICKETS, _DESK, _CHATS, _PROSPECTS = range(4)

TICKET_TYPES = ("problem", "incident", "question")
PROBLEM, INCIDENT, QUESTION = range(3)
PRIORITIES = ("low", "normal", "high", "urgent")
LOW, NORMAL, HIGH, URGENT = range(4)
# First reply within (hours), by priority: general complaints 48 h, urgent 12 h, major 2 h.
FIRST_REPLY_SLA_HOURS = np.array([48, 48, 12, 2], dtype=np.int64)
CAUSES = ("delivery_delay", "description_mismatch", "quality", "damaged", "wrong_item", "other")
DELIVERY_DELAY, DESCRIPTION_MISMATCH, QUALITY, DAMAGED, WRONG_ITEM, OTHER = range(6)
NO_CAUSE = -1
BASE_CAUSE_SHARES = (0.12, 0.18, 0.22, 0.20, 0.16, 0.12)
QUESTION_TOPICS = ("shipping", "returns", "invoice", "product", "account")
VIA_CHANNELS = ("email", "web", "chat")
VIA_SHARES = (0.55, 0.35, 0.10)
TICKET_STATUSES = ("new", "open", "pending", "solved", "closed", "deleted")
NEW, OPEN, PENDING, SOLVED, CLOSED, DELETED = range(6)
SLOTS = 6  # created, assigned, first reply, solved, closed, deleted
SLOT_CREATED, SLOT_ASSIGNED, SLOT_REPLIED, SLOT_SOLVED, SLOT_CLOSED, SLOT_DELETED = range(SLOTS)
# (id, name): who handles what.
GROUPS = ((360000101011, "Customer Service"), (360000101012, "Returns & Refunds"), (360000101013, "Escalations"))
AGENTS = ((361500001101, "Maya Lindqvist"), (361500001102, "Jonas Becker"), (361500001103, "Chloé Martin"),
          (361500001104, "Sam Okafor"), (361500001105, "Priya Raman"), (361500001106, "Lukas Novak"),
          (361500001107, "Inès Dubois"), (361500001108, "Tom Reilly"))

COMPLAINT_SHARE = 0.04          # of orders
ORDER_QUESTION_SHARE = 0.01     # of orders
PROSPECT_QUESTION_SHARE = 0.003  # of orders: people who never bought (count per store)
LATE_SHIPMENT = int(2.75 * DAY)  # shipped later than this after the order: "late"
PROBLEM_SKUS = 10               # SKUs many complain about (quality / description)
DELETED_SHARE = 0.005
NEVER_SOLVED_SHARE = 0.006
PENDING_SHARE = 0.55            # first reply asks the customer something: pending until solved
ABOUT_TO_BREACH = 8 * HOUR
CLOSE_AFTER = 4 * DAY           # Zendesk's default automation closes solved tickets after 4 days

CHATS_PER_DAY = 20.0
CHAT_MISSED_SHARE = 0.03
# Local hour weights of chats (a shop's customers chat in the day and evening).
_CHAT_HOURS = np.array([1, 0.5, 0.3, 0.2, 0.2, 0.4, 1, 2, 4, 6, 7, 7, 7, 7, 6, 6, 6, 6, 6, 6, 5, 4, 3, 2], float)
CHAT_RATINGS = ("good", "bad")
_ID_ALPHABET = np.array(list("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"))
_NOTE = {note: index for index, note in enumerate(REFUND_NOTES)}


@dataclass
class Tickets:
    """One row per ticket, ids ascending with creation."""
    id: np.ndarray            # int64
    store: np.ndarray         # int16 index into config.stores
    order: np.ndarray         # int64 row of the store's orders, -1 = none
    customer: np.ndarray      # int64 row of the store's customers, -1 = not a buyer
    prospect: np.ndarray      # int64 row of the store's prospects (people who never bought), -1
    requester: np.ndarray     # int64 row of Users
    type: np.ndarray          # int8 TICKET_TYPES
    priority: np.ndarray      # int8 PRIORITIES
    cause: np.ndarray         # int8 CAUSES, NO_CAUSE for questions
    topic: np.ndarray         # int8 QUESTION_TOPICS (questions), template variant (complaints)
    sku: np.ndarray           # int32 catalogue index, -1 = none
    via: np.ndarray           # int8 VIA_CHANNELS
    group: np.ndarray         # int8 index into GROUPS
    assignee: np.ndarray      # int8 index into AGENTS
    replies: np.ndarray       # int16 agent replies once solved (1 at the first reply)
    event_time: np.ndarray    # (n, SLOTS) int64 instants, NEVER where the event does not happen
    slot_status: np.ndarray   # (n, SLOTS) int8 status after each slot's event

    @property
    def size(self) -> int:
        return len(self.id)

    @property
    def created(self) -> np.ndarray:
        return self.event_time[:, SLOT_CREATED]

    @property
    def first_reply(self) -> np.ndarray:
        return self.event_time[:, SLOT_REPLIED]

    @property
    def solved(self) -> np.ndarray:
        return self.event_time[:, SLOT_SOLVED]

    @property
    def deleted(self) -> np.ndarray:
        return self.event_time[:, SLOT_DELETED]

    @property
    def sla_seconds(self) -> np.ndarray:
        return FIRST_REPLY_SLA_HOURS[self.priority] * HOUR


@dataclass
class Users:
    """The desk's end users (requesters), one per e-mail address, ids ascending with first ticket."""
    id: np.ndarray
    store: np.ndarray     # the store of their first ticket
    customer: np.ndarray  # row of that store's customers, -1
    prospect: np.ndarray  # row of that store's prospects, -1
    email: list[str]
    created: np.ndarray
    updated: np.ndarray


@dataclass
class Chats:
    """One row per chat, sorted by (update_timestamp, id) — the export's order."""
    id: list[str]
    store: np.ndarray
    start: np.ndarray
    end: np.ndarray
    update: np.ndarray
    first: np.ndarray     # seconds to the first response, -1 = missed
    avg: np.ndarray
    max: np.ndarray
    missed: np.ndarray
    visitor: np.ndarray   # row of the store's customers, -1 = an anonymous visitor
    agent: np.ndarray     # index into AGENTS
    rating: np.ndarray    # -1 none, else CHAT_RATINGS

    @property
    def size(self) -> int:
        return len(self.id)


@dataclass
class SupportDesk:
    catalogue: Catalogue
    stores: list[StoreData]       # in config order (Tickets.store indexes it)
    prospects: list[Customers]    # per store: people who asked without buying
    problem_cause: np.ndarray     # per SKU: the cause many complain about, NO_CAUSE for most
    tickets: Tickets
    users: Users
    chats: Chats


def support_rng(config: SandboxConfig, *key: int) -> np.random.Generator:
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(config.seed, spawn_key=(_SUPPORT, *key))))


def business_seconds(moments: np.ndarray) -> np.ndarray:
    """Business seconds (Monday-Friday 09:00-17:00 UTC) from the epoch to each instant."""
    moments = np.asarray(moments, dtype=np.int64)
    day, second = np.divmod(moments, DAY)
    shifted = day + 3  # 1970-01-01 was a Thursday: shifted % 7 is the weekday, Monday 0
    full_days = (shifted // 7) * 5 + np.minimum(shifted % 7, 5)
    today = np.where(shifted % 7 < 5, np.clip(second - 9 * HOUR, 0, 8 * HOUR), 0)
    return full_days * 8 * HOUR + today


def _uniform(rng: np.random.Generator, low: float, high: float, size: int) -> np.ndarray:
    return rng.uniform(low, high, size).astype(np.int64)


def _problem_skus(rng: np.random.Generator, stores: list[StoreData], sku_count: int) -> np.ndarray:
    """A handful of much-bought SKUs with a real quality or description problem."""
    lines = np.zeros(sku_count, dtype=np.int64)
    for store in stores:
        gift = getattr(store.promotions, "gift", None)
        skus = store.basket.sku if gift is None else store.basket.sku[~gift]
        lines += np.bincount(skus, minlength=sku_count)
    candidates = np.argsort(-lines, kind="stable")[:max(PROBLEM_SKUS * 6, 1)]
    candidates = candidates[lines[candidates] > 0]
    chosen = rng.choice(candidates, size=min(PROBLEM_SKUS, len(candidates)), replace=False) if len(candidates) \
        else np.zeros(0, dtype=np.int64)
    cause = np.full(sku_count, NO_CAUSE, dtype=np.int8)
    cause[chosen] = np.where(rng.random(len(chosen)) < 0.55, QUALITY, DESCRIPTION_MISMATCH)
    return cause


def _store_tickets(rng: np.random.Generator, store: StoreData, problem_cause: np.ndarray, anchor: int) -> dict:
    """This store's tickets (unsorted): which order, customer, cause, SKU and when."""
    n, life, basket = store.order_count, store.life, store.basket
    offsets = basket.line_offsets
    counts = np.diff(offsets)
    gift = getattr(store.promotions, "gift", None)
    gift = np.zeros(len(basket.sku), dtype=bool) if gift is None else gift
    fulfilled = life.fulfilled_at != NEVER
    late = fulfilled & (life.fulfilled_at - store.created > LATE_SHIPMENT)
    refunded = life.refund_at != NEVER
    damaged_note = refunded & (life.refund_note == _NOTE["Damaged in transit"])
    mismatch_note = refunded & (life.refund_note == _NOTE["Item not as described"])
    late_note = refunded & (life.refund_note == _NOTE["Arrived too late"])
    # The first problem-SKU line of each order (-1 = none).
    line_order = np.repeat(np.arange(n), counts)
    problem_lines = np.flatnonzero((problem_cause[basket.sku] != NO_CAUSE) & ~gift)
    first_problem = np.full(n, -1, dtype=np.int64)
    first_problem[line_order[problem_lines[::-1]]] = problem_lines[::-1]
    has_problem = first_problem >= 0

    weight = (1 + 1.5 * late + 2.5 * (damaged_note | mismatch_note | late_note) + 7.0 * has_problem) * fulfilled
    total = weight.sum()
    p = np.clip(COMPLAINT_SHARE * n * weight / total, 0, 0.9) if total > 0 else np.zeros(n)
    complains = rng.random(n) < p
    u = rng.random((5, n))
    base = rng.choice(len(CAUSES), size=n, p=BASE_CAUSE_SHARES)
    from_problem = has_problem & (u[0] < 0.75)
    cause = np.select(
        [from_problem, late & (u[1] < 0.65), damaged_note & (u[2] < 0.7), mismatch_note & (u[3] < 0.7),
         late_note & (u[4] < 0.7)],
        [problem_cause[basket.sku[np.maximum(first_problem, 0)]], DELIVERY_DELAY, DAMAGED, DESCRIPTION_MISMATCH,
         DELIVERY_DELAY], base).astype(np.int8)
    random_line = offsets[:-1] + np.floor(rng.random(n) * counts).astype(np.int64)
    random_line = np.where(gift[np.minimum(random_line, len(gift) - 1)] if len(gift) else False,
                           offsets[:-1], random_line)
    line = np.where(from_problem, first_problem, random_line)
    sku = basket.sku[np.minimum(line, max(len(basket.sku) - 1, 0))] if len(basket.sku) else np.zeros(n, np.int32)
    after = np.select([cause == DELIVERY_DELAY, (cause == DAMAGED) | (cause == WRONG_ITEM)],
                      [_uniform(rng, 2 * DAY, 6 * DAY, n), _uniform(rng, 2 * DAY, 5 * DAY, n)],
                      _uniform(rng, 3 * DAY, 15 * DAY, n))
    complaint_at = np.where(fulfilled, life.fulfilled_at, 0) + after

    asks = rng.random(n) < ORDER_QUESTION_SHARE
    question_at = store.created + _uniform(rng, HOUR, 6 * DAY, n)
    complaint_rows = np.flatnonzero(complains & (complaint_at <= anchor))
    question_rows = np.flatnonzero(asks & (question_at <= anchor))

    prospects = int(rng.poisson(PROSPECT_QUESTION_SHARE * n)) if n else 0
    start = int(store.created[0]) if n else anchor - DAY
    prospect_at = np.sort(_uniform(rng, start, anchor, prospects))
    k_c, k_q = len(complaint_rows), len(question_rows)
    return {
        "order": np.concatenate([complaint_rows, question_rows, np.full(prospects, -1)]).astype(np.int64),
        "customer": np.concatenate([store.customer[complaint_rows], store.customer[question_rows],
                                    np.full(prospects, -1)]).astype(np.int64),
        "prospect": np.concatenate([np.full(k_c + k_q, -1), np.arange(prospects)]).astype(np.int64),
        "complaint": np.concatenate([np.ones(k_c, bool), np.zeros(k_q + prospects, bool)]),
        "cause": np.concatenate([cause[complaint_rows], np.full(k_q + prospects, NO_CAUSE, np.int8)]),
        "sku": np.concatenate([sku[complaint_rows], np.full(k_q + prospects, -1)]).astype(np.int32),
        "created": np.concatenate([complaint_at[complaint_rows], question_at[question_rows], prospect_at]),
        "prospects": prospects,
    }


def _events(rng: np.random.Generator, created: np.ndarray, priority: np.ndarray, kind: np.ndarray,
            anchor: int) -> tuple:
    """(event_time, slot_status, replies): the ticket's life, strictly increasing instants."""
    n = len(created)
    sla = FIRST_REPLY_SLA_HOURS[priority] * HOUR
    # log(reply / SLA) ~ N(-1.1, 0.8): about 8% of first replies breach.
    reply = np.maximum(MINUTE, (sla * np.exp(rng.normal(-1.1, 0.8, n)))).astype(np.int64)
    # About to breach: half the tickets due in the 8 hours after the anchor still wait for their first
    # reply there (which comes at 90-130% of the SLA).
    due_soon = (created + sla > anchor) & (created + sla <= anchor + ABOUT_TO_BREACH) & (created + reply <= anchor)
    late_reply = (sla * rng.uniform(0.9, 1.3, n)).astype(np.int64)
    reply = np.where(due_soon & (rng.random(n) < 0.5), late_reply, reply)
    assigned = np.maximum(30, (reply * rng.uniform(0.05, 0.7, n)).astype(np.int64))
    reply = np.maximum(reply, assigned + 1)
    work = np.exp(rng.normal(np.log(8 * HOUR), 1.0, n)) * np.where(kind == QUESTION, 0.6, 1.6)
    solved = created + reply + np.maximum(5 * MINUTE, work).astype(np.int64)
    never_solved = rng.random(n) < NEVER_SOLVED_SHARE
    solved = np.where(never_solved, NEVER, solved)
    closed = np.where(never_solved, NEVER, solved + CLOSE_AFTER)
    deleted = np.where(rng.random(n) < DELETED_SHARE, created + _uniform(rng, 10 * MINUTE, 5 * DAY, n), NEVER)
    times = np.stack([created, created + assigned, created + reply, solved, closed, deleted], axis=1)
    # Nothing happens to a deleted ticket after its deletion.
    times[:, :SLOT_DELETED] = np.where(times[:, :SLOT_DELETED] < deleted[:, None], times[:, :SLOT_DELETED], NEVER)
    goes_pending = rng.random(n) < PENDING_SHARE
    status = np.tile(np.array([NEW, OPEN, OPEN, SOLVED, CLOSED, DELETED], dtype=np.int8), (n, 1))
    status[goes_pending, SLOT_REPLIED] = PENDING
    replies = (1 + rng.poisson(0.7, n)).astype(np.int16)
    return times, status, replies


def _prospects(config: SandboxConfig, store: StoreData, size: int, created: np.ndarray) -> Customers:
    """People who asked a question without ever buying, in the store's market."""
    rng = support_rng(config, _PROSPECTS, zlib.crc32(store.name.encode()))
    people = draw_customers(rng, size, market_countries(store.config.timezone), 0)
    people.created = created - _uniform(rng, 0, 30 * DAY, size)
    return people


def _users(stores: list[StoreData], prospects: list[Customers], store: np.ndarray, customer: np.ndarray,
           prospect: np.ndarray, created: np.ndarray, rng: np.random.Generator) -> tuple[Users, np.ndarray]:
    """One user per e-mail address, numbered by first ticket (tickets come sorted by creation)."""
    emails: list[str] = [""] * len(store)
    for index, data in enumerate(stores):
        mine = store == index
        buyers, others = np.flatnonzero(mine & (customer >= 0)), np.flatnonzero(mine & (customer < 0))
        for rows, texts in ((buyers, data.customers.emails(customer[buyers])),
                            (others, prospects[index].emails(prospect[others]))):
            for row, text in zip(rows.tolist(), texts):
                emails[row] = text
    user_of: dict[str, int] = {}
    first_rows: list[int] = []  # each user's first ticket
    requester = np.empty(len(store), dtype=np.int64)
    for row, email in enumerate(emails):
        user = user_of.setdefault(email, len(user_of))
        if user == len(first_rows):
            first_rows.append(row)
        requester[row] = user
    firsts = np.array(first_rows, dtype=np.int64)
    user_store = store[firsts]
    since = np.array([stores[s].customers.created[c] if c >= 0 else prospects[s].created[p]
                      for s, c, p in zip(user_store.tolist(), customer[firsts].tolist(), prospect[firsts].tolist())],
                     dtype=np.int64)
    users = Users(
        id=sparse_ids(rng, len(firsts), 380_000_000_000, (1_000, 90_000)),
        store=user_store, customer=customer[firsts], prospect=prospect[firsts],
        email=list(user_of), created=np.minimum(since, created[firsts]), updated=created[firsts])
    return users, requester


def _tickets(config: SandboxConfig, stores: list[StoreData], problem_cause: np.ndarray) -> tuple:
    anchor = config.anchor_epoch
    parts = [_store_tickets(support_rng(config, _TICKETS, zlib.crc32(s.name.encode())), s, problem_cause, anchor)
             for s in stores]
    prospects = [_prospects(config, s, part["prospects"], part["created"][part["prospect"] >= 0])
                 for s, part in zip(stores, parts)]
    # Numbered past every buyer's address, each store's apart, so no two people share an e-mail address.
    first = max((int(s.customers.mail_number.max(initial=0)) for s in stores), default=0) + 1
    step = max((int(p.mail_number.max(initial=0)) for p in prospects), default=0) + 1
    for index, people in enumerate(prospects):
        people.mail_number = people.mail_number + first + index * step
    store = np.concatenate([np.full(len(p["order"]), i, dtype=np.int16) for i, p in enumerate(parts)]
                           or [np.zeros(0, np.int16)])
    empty = {"order": np.int64, "customer": np.int64, "prospect": np.int64, "complaint": bool, "cause": np.int8,
             "sku": np.int32, "created": np.int64}
    columns = {key: np.concatenate([p[key] for p in parts] or [np.zeros(0, dtype)]) for key, dtype in empty.items()}
    order = np.lexsort((columns["order"], store, columns["created"]))
    store = store[order]
    columns = {key: value[order] for key, value in columns.items()}
    n = len(store)

    rng = support_rng(config, _DESK)
    complaint = columns["complaint"]
    kind = np.where(complaint, np.where(rng.random(n) < 0.75, PROBLEM, INCIDENT), QUESTION).astype(np.int8)
    priority = np.where(complaint, rng.choice(4, size=n, p=(0.233, 0.55, 0.17, 0.047)),
                        rng.choice(4, size=n, p=(0.33, 0.55, 0.10, 0.02))).astype(np.int8)
    topic = np.where(complaint, rng.integers(0, 3, n), rng.integers(0, len(QUESTION_TOPICS), n)).astype(np.int8)
    via = rng.choice(len(VIA_CHANNELS), size=n, p=VIA_SHARES).astype(np.int8)
    cause = columns["cause"]
    group = np.select([priority == URGENT, np.isin(cause, (DAMAGED, WRONG_ITEM, QUALITY))], [2, 1], 0).astype(np.int8)
    assignee = rng.integers(0, len(AGENTS), n).astype(np.int8)
    times, status, replies = _events(rng, columns["created"], priority, kind, config.anchor_epoch)
    ids = sparse_ids(rng, n, 20_000, (1, 3))
    users, requester = _users(stores, prospects, store, columns["customer"], columns["prospect"],
                              columns["created"], rng)
    tickets = Tickets(id=ids, store=store, order=columns["order"], customer=columns["customer"],
                      prospect=columns["prospect"], requester=requester, type=kind, priority=priority, cause=cause,
                      topic=topic, sku=columns["sku"], via=via, group=group, assignee=assignee, replies=replies,
                      event_time=times, slot_status=status)
    return tickets, users, prospects


def _base62(rng: np.random.Generator, size: int, width: int) -> list[str]:
    codes = _ID_ALPHABET[rng.integers(0, len(_ID_ALPHABET), (size, width))]
    return ["".join(row) for row in codes.tolist()]


def _chats(config: SandboxConfig, stores: list[StoreData]) -> Chats:
    anchor = config.anchor_epoch
    first_day = (anchor - config.days * DAY) // DAY
    days = config.days + 1
    hour_share = _CHAT_HOURS / _CHAT_HOURS.sum()
    parts = []
    for index, store in enumerate(stores):
        rng = support_rng(config, _CHATS, zlib.crc32(store.name.encode()))
        day = first_day + np.arange(days)
        weekend = (day + 3) % 7 >= 5
        per_day = rng.poisson(CHATS_PER_DAY * np.where(weekend, 0.8, 1.0))
        busy = rng.random(days) < 0.12  # short-staffed days: the 30-second target slips
        chat_day = np.repeat(np.arange(days), per_day)
        k = len(chat_day)
        noon = (first_day + chat_day) * DAY + 12 * HOUR
        local_midnight = (first_day + chat_day) * DAY - store.zone.offsets_at(noon)
        start = local_midnight + rng.choice(24, size=k, p=hour_share) * HOUR + rng.integers(0, HOUR, k)
        missed = rng.random(k) < CHAT_MISSED_SHARE
        fast = rng.random(k) < np.where(busy[chat_day], 0.72, 0.945)
        first = np.where(fast, np.clip(np.exp(rng.normal(np.log(11), 0.5, k)), 2, 30),
                         np.clip(np.exp(rng.normal(np.log(55), 0.6, k)), 31, 540)).astype(np.int64)
        avg = np.maximum(1, first * rng.uniform(0.8, 1.6, k)).astype(np.int64)
        high = np.maximum(first, avg * rng.uniform(1.2, 3.0, k)).astype(np.int64)
        duration = np.where(missed, rng.integers(60, 300, k),
                            np.clip(np.exp(rng.normal(np.log(480), 0.6, k)), 90, 3600)).astype(np.int64)
        end = start + duration
        update = end + rng.integers(0, 180, k)
        customers = len(store.customers.id)
        visitor = np.where((rng.random(k) < 0.7) & (customers > 0),
                           rng.integers(0, max(customers, 1), k), -1).astype(np.int64)
        rated = ~missed & (rng.random(k) < 0.25)
        bad = rng.random(k) < np.where(first > 30, 0.45, 0.12)
        rating = np.where(rated, np.where(bad, 1, 0), -1).astype(np.int8)
        keep = (start >= anchor - config.days * DAY) & (start <= anchor)
        parts.append(dict(store=np.full(int(keep.sum()), index, dtype=np.int16), start=start[keep], end=end[keep],
                          update=update[keep], first=np.where(missed, -1, first)[keep],
                          avg=np.where(missed, -1, avg)[keep], max=np.where(missed, -1, high)[keep],
                          missed=missed[keep], visitor=visitor[keep],
                          agent=rng.integers(0, len(AGENTS), k).astype(np.int8)[keep], rating=rating[keep],
                          code=np.array(_base62(rng, k, 10), dtype=object)[keep]))
    if not parts:
        empty = np.zeros(0, dtype=np.int64)
        return Chats(id=[], store=empty.astype(np.int16), start=empty, end=empty, update=empty, first=empty, avg=empty,
                     max=empty, missed=empty.astype(bool), visitor=empty, agent=empty.astype(np.int8),
                     rating=empty.astype(np.int8))
    columns = {key: np.concatenate([part[key] for part in parts]) for key in parts[0]}
    by_start = np.argsort(columns["start"], kind="stable")
    columns = {key: value[by_start] for key, value in columns.items()}
    months = np.datetime_as_string(columns["start"].astype("datetime64[s]"), unit="M").tolist()
    ids = [f"{month[2:4]}{month[5:7]}.{seq:07d}.{code}"
           for seq, (month, code) in enumerate(zip(months, columns.pop("code").tolist()), start=1)]
    order = np.lexsort((np.array(ids), columns["update"]))
    return Chats(id=[ids[i] for i in order.tolist()], **{key: value[order] for key, value in columns.items()})


def build_support(config: SandboxConfig, world: World) -> SupportDesk:
    stores = [world.stores[store.name] for store in config.stores]
    problem_cause = _problem_skus(support_rng(config, _DESK, 1), stores, world.catalogue.size)
    tickets, users, prospects = _tickets(config, stores, problem_cause)
    return SupportDesk(catalogue=world.catalogue, stores=stores, prospects=prospects, problem_cause=problem_cause, tickets=tickets,
                       users=users, chats=_chats(config, stores))


@dataclass
class TicketState:
    """The tickets as the export shows them at one moment (rows: the visible ones)."""
    rows: np.ndarray
    updated: np.ndarray
    status: np.ndarray
    status_updated: np.ndarray
    happened: np.ndarray  # (len(rows), SLOTS): which events are in the shown version


def ticket_state(tickets: Tickets, moment: int, rows: np.ndarray | None = None) -> TicketState:
    if rows is None:
        rows = np.flatnonzero(tickets.created <= moment)
    times = tickets.event_time[rows]
    happened = times <= moment
    last = SLOTS - 1 - np.argmax(happened[:, ::-1], axis=1)
    picked = np.arange(len(rows))
    status = tickets.slot_status[rows]
    previous = np.concatenate([np.full((len(rows), 1), -1, np.int8), status[:, :-1]], axis=1)
    # The first reply of a ticket that stays open changes no status (only updated_at).
    changes = happened & (status != previous)
    return TicketState(rows=rows, updated=times[picked, last], status=status[picked, last],
                       status_updated=np.where(changes, times, -1).max(axis=1, initial=-1), happened=happened)
