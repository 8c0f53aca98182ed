"""The synthetic warehouse of the satisfaction-survey benchmark: deterministic (seeded numpy), vectorised
(one loop over the decision days, for the quarter's relationship slots and the quiet hours).

`generate(customers, responses, chats, seed, as_of, rules)` returns one frame per warehouse table,
shaped the way the pipeline writes them (money as integer ten-thousandths, UTC timestamps), covering
the 365 days up to and including `as_of` (`rules`: the flow's settings the history follows — the
decision hour and time zone, transit days, quiet hours, link days):

- customers: `customers` of them, customer_key a 64-hex SHA-256, in US 40%, DE 18%, FR 12%, GB 12%,
  NL 8%, ES 10%; ~93% with a (fake) e-mail address, ~65% with a mobile number in E.164 that is valid
  in their country (3% of them a few digits short: invalid), ~2.5% with neither;
  accepts_marketing true for ~60% (~3% unknown); every one ordered in the year (last_order_at),
  ~45% of them before it too (first_order_at).
- products: 5,000 SKUs in 40 categories of uneven size, log-normal popularity.
- orders / order_lines: 1 + Poisson(0.6) orders a customer over the year (weekday and growth
  weights, a diurnal curve) plus 2% guest orders (no customer_key), on the customer's home shop
  (shop-us for the US, shop-eu for Europe) 85% of the time, else another; 1 + Poisson(1.5) lines
  each; shipped 4 h – 3 days after the order (so a slice of a few thousand deliveries is due on the
  date), ~1.5% cancelled, 0.1% deleted, the last days' orders still paid.
- tickets: ~2% of the customers' orders (ten times as likely for an order with one of the 2% "bad"
  SKUs), opened 1–5 days after shipping: 45% problem and 25% incident (the complaints), the rest
  questions and tasks; priority low / normal / high / urgent (15/55/22/8%) → level; a first reply
  after a log-normal share of the level's deadline (a few percent late, 2% never), solved about a
  day later (4% never), a cause and, for most complaints, the SKU of one of the order's lines.
- chats: `chats` over the 120 days before the end of the date, first response log-normal (median
  12 s), 3% missed.
- survey_invitations / survey_responses: `responses` responses submitted in the 13 weeks up to the
  date's decision moment, each base one answering its own invitation (status sent): post-purchase
  (~55%: an order decided at the first moment 24 h after its delivery — shipping + transit days —,
  the flow's slices, so its lines resolve the categories), complaint (~3%, capped by half the
  complaints solved and decided in the window) and relationship (the rest: a customer on their day
  of the business date's quarter, as the flow spreads them); only consenting customers with an
  address or a valid number are invited, by e-mail when they have one; an invitation decided in the
  customer's quiet hours is sent by the next day's run. Answers: post-purchase CSAT and NPS,
  complaint CSAT, relationship NPS, with effects by shop, category, channel and survey (NPS near
  its target of 30); ~10% carry a comment. Validity: 2% replayed (a second answer to a counted invitation), 1.5% tampered (no
  invitation id), 0.5% unknown, 0.5% expired (submitted after the link's expiry); the rest valid.
  Nothing is decided or sent for the date itself: that is the flow's work.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

import numpy as np
import pandas as pd

from bench.synthetic import epoch, money, utc
from tasks.surveys.eligibility import COUNTRY_ZONES, invitation_id
from tasks.surveys.service import LEVEL_OF_PRIORITY, ServiceSettings

DAYS = 365
WEEKS = 13
SCORE_WINDOW_DAYS = 28          # the flow's default window_days
CHANNELS = ("shop-us", "shop-eu", "marketplace")
CHANNEL_SHARE = np.array([0.45, 0.35, 0.20])  # of the guest orders
CURRENCY = ("USD", "EUR", "USD")
PRICE_FACTOR = np.array([1.0, 0.95, 1.05])
TAX_RATE = np.array([0.07, 0.19, 0.07])
COUNTRIES = ("US", "DE", "FR", "GB", "NL", "ES")
COUNTRY_SHARE = np.array([0.40, 0.18, 0.12, 0.12, 0.08, 0.10])
# Mobile numbers that parse as valid in their country: code, prefixes, digits after the prefix.
PHONES = (("+1", ("201555", "212555", "305555", "415555", "617555", "702555"), 4),
          ("+49", ("151", "160", "170", "176"), 8),
          ("+33", ("60", "61", "62", "64", "65", "66", "67", "68", "73", "74", "75", "76", "77", "78"), 7),
          ("+44", ("7400", "7500", "7712", "7800", "7900"), 6),
          ("+31", ("61", "62", "63", "64", "65", "68"), 7),
          ("+34", ("60", "61", "62", "63", "64", "65", "66", "67", "68", "69"), 7))
INVALID_PHONES = 0.03           # of the numbers: too short to be anybody's
PRODUCTS = 5_000
CATEGORIES = 40
EXTRA_ORDERS = 0.6              # orders a customer over the year: 1 + Poisson(0.6)
GUEST_SHARE = 0.02              # guest orders (no customer_key), on top
HOME_SHARE = 0.85               # of a customer's orders on their home shop
EXTRA_LINES = 1.5               # lines an order: 1 + Poisson(1.5)
TICKET_SHARE = 0.02
BAD_SKUS = 0.02                 # SKUs whose orders get 10× the tickets
CHAT_DAYS = 120
DESK = "support"
RUN_ID = "bench-satisfaction"
TICKET_TYPES = ("problem", "incident", "question", "task")
TICKET_TYPE_SHARE = (0.45, 0.25, 0.22, 0.08)
PRIORITIES = ("low", "normal", "high", "urgent")
PRIORITY_SHARE = (0.15, 0.55, 0.22, 0.08)
CAUSES = ("delivery_delay", "damaged", "quality", "description_mismatch", "wrong_item", "missing_item", "sizing")
CAUSE_SHARE = (0.22, 0.18, 0.20, 0.14, 0.10, 0.08, 0.08)
SURVEY_SHARE = {"delivery": 0.55, "complaint": 0.03}  # relationship: the rest
SURVEY_OF = {"delivery": "post_purchase", "complaint": "complaint", "relationship": "relationship"}
REASON = {"delivery": "delivered a day or two ago", "complaint": "complaint solved since the day before"}
REPLAYED, TAMPERED, UNKNOWN, EXPIRED = 0.02, 0.015, 0.005, 0.005
COMMENT_SHARE = 0.10
COMMENTS = np.array(["Fast delivery, thanks!", "The parcel was late.", "Great quality.", "Not as described.",
                     "Support was very helpful.", "Took too long to get an answer.", "Would buy again.",
                     "Packaging was damaged.", "Sizes run small.", "All good."], dtype=object)
WEEKDAY = np.array([1.08, 1.04, 1.00, 0.98, 0.96, 0.90, 1.04])  # Monday … Sunday
DIURNAL = np.array([1, .6, .4, .3, .3, .4, .7, 1.2, 1.7, 2, 2.2, 2.3, 2.4, 2.3, 2.2, 2.2, 2.3, 2.5, 2.8, 3,
                    2.9, 2.6, 2, 1.5])
HOUR = 3600
DAY = 86400


@dataclass(frozen=True)
class Rules:
    """The flow's settings the history follows (shopops.settings gives them in the benchmark)."""

    send_hour: int = 10
    business_zone: str = "UTC"
    transit_days: float = 3.0
    quiet_hours: tuple[int, int] = (21, 9)
    link_days: int = 14


@dataclass
class Dataset:
    as_of: date
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    facts: dict[str, str] = field(default_factory=dict)   # what the data look like, for the printout


def generate(customers: int, responses: int, chats: int, seed: int, as_of: date, rules: Rules = Rules()) -> Dataset:
    rng = np.random.default_rng(seed)
    day0 = as_of - timedelta(days=DAYS - 1)
    t0 = epoch(day0)
    history_end = t0 + DAYS * DAY  # the end of as_of (exclusive)
    clock = _decision_clock(as_of, rules)
    cat = _catalogue(rng)
    people = _customers(rng, customers, seed)
    o, ln = _orders(rng, cat, people, t0, history_end, _day_weights(day0))
    _customer_orders(rng, people, o, t0)
    tk = _tickets(rng, cat, o, ln, history_end)
    ch = _chats(rng, chats, history_end)
    inv, rs, survey_facts = _surveys(rng, responses, people, o, ln, cat, tk, clock, rules)
    data = Dataset(as_of=as_of)
    data.tables = {
        "products": _products_frame(cat, t0),
        "customers": _customers_frame(people),
        "orders": _orders_frame(rng, o, ln, people, history_end),
        "order_lines": _lines_frame(o, ln, cat),
        "tickets": _tickets_frame(tk, o, people, cat, history_end),
        "chats": _chats_frame(ch),
        "survey_invitations": _invitations_frame(inv, people, o, tk, clock),
        "survey_responses": _responses_frame(rs),
    }
    data.facts = _facts(people, o, ln, tk, ch, inv, rs, survey_facts, clock, rules, as_of)
    return data


# --- the decision clock: the moment of every past date, and when quiet hours end there ---------------

def _decision_clock(as_of: date, rules: Rules) -> dict:
    """Each date's decision moment (its send hour in the business time zone, in UTC seconds), from
    `DAYS` days back to `as_of` (the last), and per date and country the end of the customer's quiet
    hours when the moment falls in them (else the moment), by the rule the flow's decision follows;
    each date's quarter, its number of days and the date's place in it (the relationship slot)."""
    days = [as_of - timedelta(days=DAYS - i) for i in range(DAYS + 1)]
    moments = pd.DatetimeIndex([pd.Timestamp(datetime.combine(d, time(rules.send_hour))) for d in days]) \
        .tz_localize(rules.business_zone).tz_convert("UTC")
    zones = [COUNTRY_ZONES.get(country, rules.business_zone) for country in COUNTRIES]
    wake = np.array([[_quiet_until(moment, zone, rules.quiet_hours) for zone in zones] for moment in moments])
    quarters = [pd.Period(d, freq="Q") for d in days]
    return {"days": np.array(days, dtype=object), "moments": moments.as_unit("s").asi8, "wake": wake,
            "stamps": moments, "quarters": quarters,
            "slot": np.array([(pd.Timestamp(d) - q.start_time).days for d, q in zip(days, quarters)]),
            "quarter_days": np.array([(q.end_time.normalize() - q.start_time).days + 1 for q in quarters])}


def _quiet_until(moment: pd.Timestamp, zone: str, quiet: tuple[int, int]) -> int:
    """The moment (UTC seconds), or when the quiet hours it falls in end in `zone` (wall-clock hour)."""
    start, end = quiet
    local = moment.tz_convert(zone)
    if not (local.hour >= start or local.hour < end if start > end else start <= local.hour < end):
        return int(moment.timestamp())
    wake = local.normalize().replace(hour=end)
    if wake <= local:
        wake = (local + pd.Timedelta(days=1)).normalize().replace(hour=end)
    return int(wake.timestamp())


# --- catalogue, customers, orders --------------------------------------------------------------------

def _catalogue(rng: np.random.Generator) -> dict:
    size = rng.lognormal(0.0, 0.5, CATEGORIES)
    category = rng.choice(CATEGORIES, PRODUCTS, p=size / size.sum())
    popularity = rng.lognormal(0.0, 1.2, PRODUCTS)
    cost = np.round(rng.lognormal(np.log(900), 0.8, PRODUCTS)).astype(np.int64) + 50                 # cents
    price = (np.round(cost * rng.uniform(1.4, 2.8, PRODUCTS) / 10) * 10 - 1).astype(np.int64)
    return {
        "n": PRODUCTS, "code": np.char.add("SKU-", np.char.zfill(np.arange(1, PRODUCTS + 1).astype(str), 6)).astype(object),
        "category": category, "popularity": popularity / popularity.sum(), "cost": cost, "price": price,
        "bad": rng.random(PRODUCTS) < BAD_SKUS, "effect": rng.normal(0.0, 0.45, CATEGORIES),
        "category_names": np.array([f"Category {i + 1:02d}" for i in range(CATEGORIES)], dtype=object),
    }


def _customers(rng: np.random.Generator, n: int, seed: int) -> dict:
    keys = [hashlib.sha256(f"bench-satisfaction:{seed}:{i}".encode()).hexdigest() for i in range(n)]
    number = np.char.zfill(np.arange(n).astype(str), 7)
    country = rng.choice(len(COUNTRIES), n, p=COUNTRY_SHARE)
    has_email = rng.random(n) < 0.93
    has_phone = rng.random(n) < 0.65
    valid_phone = has_phone & (rng.random(n) >= INVALID_PHONES)
    u = rng.random(n)
    consent = np.where(u < 0.60, 1, np.where(u < 0.97, 0, -1))  # -1: unknown
    home = np.where(country == 0, 0, 1)
    home = np.where(rng.random(n) < 0.12, 2, home)  # a marketplace shopper
    return {
        "n": n, "key": np.array(keys, dtype=object), "slot_hash": np.array([int(k[:8], 16) for k in keys], dtype=np.int64),
        "country": country, "has_email": has_email, "has_phone": has_phone, "consent": consent, "home": home,
        "email": np.where(has_email, np.char.add(np.char.add("customer", number), "@example.com"), None).astype(object),
        "phone": np.where(has_phone, _phones(rng, country, valid_phone), None).astype(object),
        "valid_phone": valid_phone, "invitable": (consent == 1) & (has_email | valid_phone),
    }


def _phones(rng: np.random.Generator, country: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """A mobile number in E.164 for each customer's country; the invalid ones a few digits short."""
    phones = np.empty(len(country), dtype=object)
    for c, (code, prefixes, digits) in enumerate(PHONES):
        mine = np.nonzero(country == c)[0]
        prefix = np.array(prefixes)[rng.integers(0, len(prefixes), len(mine))]
        tail = np.char.zfill(rng.integers(0, 10 ** digits, len(mine)).astype(str), digits)
        phones[mine] = np.char.add(np.char.add(code, prefix), tail)
    short = np.char.add("+", np.char.zfill(rng.integers(0, 10 ** 5, len(country)).astype(str), 5)).astype(object)
    return np.where(valid, phones, short)


def _day_weights(day0: date) -> np.ndarray:
    days = np.arange(DAYS)
    return WEEKDAY[(day0.weekday() + days) % 7] * (1 + 0.3 * days / DAYS)


def _orders(rng: np.random.Generator, cat: dict, people: dict, t0: int, history_end: int, weight: np.ndarray):
    per_customer = 1 + rng.poisson(EXTRA_ORDERS, people["n"])
    customer = np.repeat(np.arange(people["n"]), per_customer)
    customer = np.r_[customer, np.full(int(round(len(customer) * GUEST_SHARE)), -1)]
    n = len(customer)
    day = rng.choice(DAYS, n, p=weight / weight.sum())
    hour = rng.choice(24, n, p=DIURNAL / DIURNAL.sum())
    created = t0 + day * DAY + hour * HOUR + rng.integers(0, HOUR, n)
    by_time = np.argsort(created, kind="stable")
    created, customer = created[by_time], customer[by_time]
    known = customer >= 0
    channel = rng.choice(3, n, p=CHANNEL_SHARE)
    home = people["home"][np.where(known, customer, 0)]
    other = (home + rng.integers(1, 3, n)) % 3
    channel = np.where(known, np.where(rng.random(n) < HOME_SHARE, home, other), channel)

    fulfilled = created + rng.integers(4 * HOUR, 3 * DAY, n)
    cancelled_at = created + ((fulfilled - created) * rng.uniform(0.05, 0.9, n)).astype(np.int64)
    cancelled = (rng.random(n) < 0.015) & (cancelled_at < history_end)
    deleted = ~cancelled & (rng.random(n) < 0.001)
    shipped = (fulfilled < history_end) & ~cancelled & ~deleted

    lines = 1 + rng.poisson(EXTRA_LINES, n)
    order_of = np.repeat(np.arange(n), lines)
    m = len(order_of)
    sku = rng.choice(cat["n"], m, p=cat["popularity"])
    quantity = 1 + (rng.random(m) < 0.2) * rng.integers(1, 3, m)
    unit = np.round(cat["price"][sku] * PRICE_FACTOR[channel[order_of]]).astype(np.int64)
    discount = np.where(rng.random(m) < 0.06, np.round(unit * quantity * 0.10), 0).astype(np.int64)
    o = {"n": n, "created": created, "customer": customer, "channel": channel, "fulfilled": fulfilled,
         "shipped": shipped, "cancelled": cancelled, "cancelled_at": cancelled_at, "deleted": deleted,
         "first_line": np.r_[0, np.cumsum(lines)[:-1]], "lines": lines}
    ln = {"order": order_of, "sku": sku, "quantity": quantity, "unit": unit, "discount": discount,
          "total": unit * quantity - discount}
    number = np.zeros(n, dtype=np.int64)
    for c in range(len(CHANNELS)):  # numbered per shop, in time
        mine = channel == c
        number[mine] = np.arange(int(mine.sum()))
    o["number"] = number
    o["external_id"] = (5_000_000_000 + channel * 1_000_000_000 + number).astype(str).astype(object)
    return o, ln


def _customer_orders(rng: np.random.Generator, people: dict, o: dict, t0: int) -> None:
    """First and last order of every customer (the orders are in time), and the shop of the first."""
    known = o["customer"] >= 0
    customer, created = o["customer"][known], o["created"][known]
    last = np.zeros(people["n"], dtype=np.int64)
    np.maximum.at(last, customer, created)
    first_seen, first_index = np.unique(customer, return_index=True)
    first = np.zeros(people["n"], dtype=np.int64)
    first[first_seen] = created[first_index]
    source = np.zeros(people["n"], dtype=np.int64)
    source[first_seen] = o["channel"][known][first_index]
    older = rng.random(people["n"]) < 0.45  # customers since before the year
    first = np.where(older, t0 - rng.integers(1, 1000, people["n"]) * DAY, first)
    people.update(first_order=first, last_order=last, first_source=source)


# --- the support desk ---------------------------------------------------------------------------------

def _tickets(rng: np.random.Generator, cat: dict, o: dict, ln: dict, history_end: int) -> dict:
    bad_line = cat["bad"][ln["sku"]]
    bad_order = np.bincount(ln["order"], weights=bad_line, minlength=o["n"]) > 0
    weight = np.where(bad_order, 10.0, 1.0)
    chance = TICKET_SHARE * weight / weight[o["customer"] >= 0].mean()
    about = np.nonzero((o["customer"] >= 0) & ~o["deleted"] & (rng.random(o["n"]) < chance))[0]
    base = np.where(o["shipped"][about], o["fulfilled"][about], o["created"][about])
    created = base + (DAY * np.clip(rng.lognormal(np.log(2.0), 0.7, len(about)), 0.05, 30)).astype(np.int64)
    keep = created < history_end
    about, created = about[keep], created[keep]
    by_time = np.argsort(created, kind="stable")
    about, created = about[by_time], created[by_time]
    n = len(about)
    kind = rng.choice(len(TICKET_TYPES), n, p=TICKET_TYPE_SHARE)
    complaint = kind < 2
    priority = rng.choice(len(PRIORITIES), n, p=PRIORITY_SHARE)
    level = np.array([LEVEL_OF_PRIORITY[p] for p in PRIORITIES], dtype=object)[priority]
    deadline = pd.Series(level).map(ServiceSettings().deadline_hours).to_numpy(dtype=float) * HOUR
    reply_delay = (deadline * rng.lognormal(np.log(0.22), 0.85, n)).astype(np.int64)
    never_replied = rng.random(n) < 0.02
    replied = created + reply_delay
    replied_known = ~never_replied & (replied < history_end)
    solve_delay = np.maximum(reply_delay, 0) + (18 * HOUR * rng.lognormal(0.0, 1.0, n)).astype(np.int64)
    solved = created + solve_delay
    solved_known = (rng.random(n) >= 0.04) & (solved < history_end)
    status = np.where(solved_known, np.where((solved < history_end - 4 * DAY) & (rng.random(n) < 0.6), "closed",
                                             "solved"),
                      np.where(~replied_known, "new", np.array(["open", "pending", "hold"])[rng.integers(0, 3, n)]))
    status = np.where(rng.random(n) < 0.005, "deleted", status).astype(object)
    # The SKU: a line of the order, a bad SKU's line most likely; delivery delays often name none.
    cause = np.where(complaint, rng.choice(len(CAUSES), n, p=CAUSE_SHARE), -1)
    cause = np.where(complaint & (rng.random(n) < 0.05), -1, cause)
    first, count = o["first_line"][about], o["lines"][about]
    pick = first + (rng.random(n) * count).astype(np.int64)
    bad_lines = np.nonzero(bad_line)[0]
    first_bad = bad_lines[np.minimum(np.searchsorted(bad_lines, first), max(len(bad_lines) - 1, 0))] \
        if len(bad_lines) else first
    pick = np.where(bad_order[about] & (first_bad >= first) & (first_bad < first + count), first_bad, pick)
    sku = np.where(complaint & ~((cause == 0) & (rng.random(n) < 0.6)), ln["sku"][pick], -1)
    cause = np.where(complaint & (sku >= 0) & cat["bad"][np.maximum(sku, 0)] & (rng.random(n) < 0.5),
                     CAUSES.index("quality"), cause)
    updated = np.minimum(np.maximum.reduce([created, np.where(replied_known, replied, 0),
                                            np.where(solved_known, solved, 0)]) + 60, history_end - 1)
    return {"n": n, "order": about, "created": created, "kind": kind, "complaint": complaint, "priority": priority,
            "level": level, "replied": replied, "replied_known": replied_known, "solved": solved,
            "solved_known": solved_known, "status": status, "cause": cause, "sku": sku, "updated": updated,
            "late": replied_known & (reply_delay > deadline) | never_replied,
            "channel": np.array(["email", "web", "chat", "api"], dtype=object)[rng.choice(4, n, p=[.5, .3, .15, .05])],
            "id": (4_000_000 + np.arange(n)).astype(str).astype(object)}


def _chats(rng: np.random.Generator, n: int, history_end: int) -> dict:
    day = rng.integers(0, CHAT_DAYS, n)
    hour = rng.choice(24, n, p=DIURNAL / DIURNAL.sum())
    started = np.sort(history_end - CHAT_DAYS * DAY + day * DAY + hour * HOUR + rng.integers(0, HOUR, n))
    missed = rng.random(n) < 0.03
    first = np.where(missed, np.nan, np.round(rng.lognormal(np.log(12.0), 0.75, n), 1))
    ended = np.minimum(started + (rng.lognormal(np.log(360), 0.8, n)).astype(np.int64), history_end - 1)
    return {"n": n, "started": started, "ended": ended, "first": first, "missed": missed,
            "department": np.array(["Sales", "Support", "Returns"], dtype=object)[rng.choice(3, n, p=[.3, .5, .2])]}


# --- survey invitations and responses ---------------------------------------------------------------

def _surveys(rng: np.random.Generator, responses: int, people: dict, o: dict, ln: dict, cat: dict, tk: dict,
             clock: dict, rules: Rules):
    """Invitations of past dates with their answers; the validity mix on top."""
    moments = clock["moments"]
    today = len(moments) - 1
    moment = int(moments[today])
    window_start = moment - WEEKS * 7 * DAY
    first_day = int(np.searchsorted(moments, window_start - 3 * DAY))  # decided a little before: answered inside
    replay_n, tampered_n, unknown_n = (int(round(responses * share)) for share in (REPLAYED, TAMPERED, UNKNOWN))
    base_n = responses - replay_n - tampered_n - unknown_n

    def dispatched(day_index: np.ndarray, customer: np.ndarray) -> dict:
        """When each invitation went out: the date's moment, or (quiet hours) the next date's run."""
        at = moments[day_index]
        wake = clock["wake"][day_index, people["country"][customer]]
        deferred = wake > at
        run = np.where(deferred, moments[np.minimum(day_index + 1, today)], at)
        sent = run + rng.integers(5, 600, len(day_index))
        delay = np.clip(rng.lognormal(np.log(6 * HOUR), 1.1, len(day_index)), 300, 12 * DAY).astype(np.int64)
        submitted = sent + delay
        inside = (submitted > window_start) & (submitted <= moment)  # sent by today's run: after the moment
        return {"day": day_index, "customer": customer, "send_after": np.where(deferred, wake, at),
                "deferred": deferred, "sent": sent, "expires": run + rules.link_days * DAY, "submitted": submitted,
                "inside": inside}

    # Deliveries: decided at the first moment 24 h after delivery (shipping + transit): the flow's slices.
    transit = int(rules.transit_days * DAY)
    eligible = o["shipped"] & (o["customer"] >= 0)
    eligible &= people["invitable"][np.maximum(o["customer"], 0)]
    orders = np.nonzero(eligible)[0]
    due = o["fulfilled"][orders] + transit + DAY
    day = np.searchsorted(moments, due, side="left")
    ok = (day >= first_day) & (day < today)
    orders, day = orders[ok], day[ok]
    delivery = dispatched(day, o["customer"][orders])
    delivery["order"] = orders

    # Complaints: decided at the first moment after they were solved.
    done = tk["complaint"] & tk["solved_known"] & np.isin(tk["status"], ["solved", "closed"])
    done &= people["invitable"][o["customer"][tk["order"]]]
    tickets = np.nonzero(done)[0]
    day = np.searchsorted(moments, tk["solved"][tickets], side="left")
    ok = (day >= first_day) & (day < today)
    tickets, day = tickets[ok], day[ok]
    complaint = dispatched(day, o["customer"][tk["order"][tickets]])
    complaint["ticket"] = tickets

    want = {"complaint": min(int(round(base_n * SURVEY_SHARE["complaint"])), int(complaint["inside"].sum() * 0.5)),
            "delivery": min(int(round(base_n * SURVEY_SHARE["delivery"])), int(delivery["inside"].sum() * 0.9))}
    want["relationship"] = base_n - want["complaint"] - want["delivery"]

    # Relationship: a customer on their day of the business date's quarter (the key's first 8 hex
    # digits modulo its days).
    days_in_window = np.arange(first_day, today)
    per_day = rng.multinomial(int(want["relationship"] * 1.15) + 1, np.full(len(days_in_window),
                                                                             1 / len(days_in_window)))
    invitable = np.nonzero(people["invitable"])[0]
    buckets: dict = {}
    chosen_day, chosen_customer = [], []
    for d, k in zip(days_in_window, per_day):
        quarter, length = clock["quarters"][d], int(clock["quarter_days"][d])
        if quarter not in buckets:
            slot = people["slot_hash"][invitable] % length
            order = np.argsort(slot, kind="stable")
            buckets[quarter] = (invitable[order], np.searchsorted(slot[order], np.arange(length + 1)))
        members, starts = buckets[quarter]
        offset = int(clock["slot"][d])
        bucket = members[starts[offset]:starts[offset + 1]]
        take = min(int(k), len(bucket))
        chosen_customer.append(rng.choice(bucket, take, replace=False))
        chosen_day.append(np.full(take, d))
    relationship = dispatched(np.concatenate(chosen_day), np.concatenate(chosen_customer))

    parts = []
    for trigger, pool in (("delivery", delivery), ("complaint", complaint), ("relationship", relationship)):
        inside = np.nonzero(pool["inside"])[0]
        pick = np.sort(rng.choice(inside, min(want[trigger], len(inside)), replace=False))
        part = {k: v[pick] for k, v in pool.items()}
        part["trigger"] = np.full(len(pick), trigger, dtype=object)
        part["order"] = part["order"] if "order" in part else np.full(len(pick), -1)
        part["ticket"] = part["ticket"] if "ticket" in part else np.full(len(pick), -1)
        parts.append(part)
    inv = {k: np.concatenate([p[k] for p in parts]) for k in parts[0] if k != "inside"}
    n = len(inv["day"])
    inv["n"] = n
    inv["email"] = people["has_email"][inv["customer"]]
    inv["survey"] = pd.Series(inv["trigger"]).map(SURVEY_OF).to_numpy(dtype=object)

    # Answers: latent scores with effects by shop, category (the order's first line, the ticket's SKU),
    # channel and survey.
    channel = np.where(inv["order"] >= 0, o["channel"][np.maximum(inv["order"], 0)],
                       people["home"][inv["customer"]])
    sku = np.where(inv["order"] >= 0, ln["sku"][o["first_line"][np.maximum(inv["order"], 0)]],
                   np.where(inv["ticket"] >= 0, tk["sku"][np.maximum(inv["ticket"], 0)], -1))
    effect = np.where(sku >= 0, cat["effect"][cat["category"][np.maximum(sku, 0)]], 0.0)
    shop = np.array([0.0, 0.15, -0.5])[channel] - 0.2 * ~inv["email"]
    kind = inv["survey"]
    nps = np.clip(np.round(rng.normal(np.where(kind == "post_purchase", 8.4, 8.2) + shop + effect, 2.1)), 0, 10)
    csat = np.clip(np.round(rng.normal(np.where(kind == "complaint", 3.5, 4.4) + 0.3 * (shop + effect), 0.95)), 1, 5)
    u = rng.random(n)
    has_nps = (kind == "relationship") | ((kind == "post_purchase") & (u >= 0.03))
    has_csat = (kind == "complaint") | ((kind == "post_purchase") & ((u < 0.03) | (u >= 0.05)))
    inv["subject"] = _subjects(inv, o, tk, clock, people)
    ids = invitation_id(pd.Series(inv["trigger"]), pd.Series(inv["subject"])).to_numpy()
    inv["id"] = ids

    submitted = inv["submitted"].copy()
    validity = np.full(n, "valid", dtype=object)
    late_enough = np.nonzero(inv["expires"] + 2 * HOUR < moment)[0]
    expired = rng.choice(late_enough, min(int(round(responses * EXPIRED)), len(late_enough)), replace=False)
    submitted[expired] = inv["expires"][expired] + rng.integers(HOUR, 3 * DAY, len(expired))
    submitted[expired] = np.minimum(submitted[expired], moment)
    validity[expired] = "expired"
    base = {"invitation": ids.astype(object), "survey": kind, "via": np.where(inv["email"], "email", "sms").astype(object),
            "nps": np.where(has_nps, nps, np.nan), "csat": np.where(has_csat, csat, np.nan),
            "submitted": submitted, "validity": validity}
    counted = np.nonzero(validity == "valid")[0]
    replay = rng.choice(counted, min(replay_n, len(counted)), replace=False)
    extra = [_variant(rng, base, replay, "replayed", np.minimum(submitted[replay] + rng.integers(1800, 3 * DAY,
                                                                                                 len(replay)), moment)),
             _variant(rng, base, rng.choice(n, tampered_n), "tampered",
                      rng.integers(window_start + 1, moment + 1, tampered_n), invitation=None),
             _variant(rng, base, rng.choice(n, unknown_n), "unknown",
                      rng.integers(window_start + 1, moment + 1, unknown_n),
                      invitation=np.array([f"{v:024x}" for v in rng.integers(0, 2 ** 62, unknown_n)], dtype=object))]
    rs = {k: np.concatenate([base[k]] + [e[k] for e in extra]) for k in base}
    rs["n"] = len(rs["submitted"])
    rs["comment"] = np.where(rng.random(rs["n"]) < COMMENT_SHARE, COMMENTS[rng.integers(0, len(COMMENTS), rs["n"])],
                             None).astype(object)
    order = np.argsort(rs["submitted"], kind="stable")
    rs = {k: (v[order] if isinstance(v, np.ndarray) else v) for k, v in rs.items()}
    rs["id"] = np.char.add("resp-", np.char.zfill(np.arange(rs["n"]).astype(str), 10)).astype(object)
    pools = {"delivery": int(delivery["inside"].sum()), "complaint": int(complaint["inside"].sum()),
             "relationship_days": len(days_in_window)}
    return inv, rs, pools


def _variant(rng: np.random.Generator, base: dict, rows: np.ndarray, validity: str, submitted: np.ndarray,
             invitation=...) -> dict:
    """Other answers to (copies of) `rows`: a replay of the same invitation, or a link gone wrong."""
    nps = np.where(np.isnan(base["nps"][rows]), np.nan, rng.integers(0, 11, len(rows)))
    csat = np.where(np.isnan(base["csat"][rows]), np.nan, rng.integers(1, 6, len(rows)))
    invitations = base["invitation"][rows] if invitation is ... else \
        (np.full(len(rows), None, dtype=object) if invitation is None else invitation)
    return {"invitation": invitations, "survey": base["survey"][rows], "via": base["via"][rows], "nps": nps,
            "csat": csat, "submitted": submitted, "validity": np.full(len(rows), validity, dtype=object)}


def _subjects(inv: dict, o: dict, tk: dict, clock: dict, people: dict) -> np.ndarray:
    """The decision's subject, as the flow's candidates name it: source:order, desk:ticket, quarter:customer."""
    trigger = inv["trigger"]
    subject = np.empty(inv["n"], dtype=object)
    d = trigger == "delivery"
    orders = inv["order"][d]
    subject[d] = np.char.add(np.char.add(np.array(CHANNELS)[o["channel"][orders]], ":"),
                             o["external_id"][orders].astype(str)).astype(object)
    c = trigger == "complaint"
    subject[c] = np.char.add(f"{DESK}:", tk["id"][inv["ticket"][c]].astype(str)).astype(object)
    r = trigger == "relationship"
    quarters = np.array([str(q) for q in clock["quarters"]], dtype=object)
    subject[r] = np.char.add(np.char.add(quarters[inv["day"][r]].astype(str), ":"),
                             people["key"][inv["customer"][r]].astype(str)).astype(object)
    return subject


# --- frames ------------------------------------------------------------------------------------------

def _products_frame(cat: dict, t0: int) -> pd.DataFrame:
    n = cat["n"]
    stamp = utc(np.full(n, t0))
    return pd.DataFrame({
        "sku": cat["code"], "title": np.char.add("Product ", np.arange(1, n + 1).astype(str)).astype(object),
        "category": cat["category_names"][cat["category"]], "vendor": None, "status": "active", "is_presale": False,
        "unit_cost": money(cat["cost"]), "list_price": money(cat["price"]), "currency": "USD", "pack_size": 1,
        "moq": 1, "listed_at": utc(np.full(n, t0 - 400 * DAY)), "source": "shop-us", "source_updated_at": stamp,
        "run_id": RUN_ID, "updated_at": stamp,
    })


def _customers_frame(people: dict) -> pd.DataFrame:
    consent = pd.array(np.where(people["consent"] == 1, True, False), dtype="boolean")
    consent[people["consent"] < 0] = pd.NA
    return pd.DataFrame({
        "customer_key": people["key"], "email": people["email"], "phone": people["phone"],
        "accepts_marketing": consent, "country": np.array(COUNTRIES, dtype=object)[people["country"]],
        "first_order_at": utc(people["first_order"]), "last_order_at": utc(people["last_order"]),
        "first_source": np.array(CHANNELS, dtype=object)[people["first_source"]],
        "updated_at": utc(people["last_order"]),
    })


def _orders_frame(rng: np.random.Generator, o: dict, ln: dict, people: dict, history_end: int) -> pd.DataFrame:
    n = o["n"]
    channel = o["channel"]
    status = np.where(o["shipped"], "fulfilled", np.where(rng.random(n) < 0.9, "paid", "pending")).astype(object)
    status[o["cancelled"]] = "cancelled"
    status[o["deleted"]] = "deleted"
    closed_at = np.where(o["cancelled"], o["cancelled_at"], o["fulfilled"] + rng.integers(HOUR, 6 * DAY, n))
    closed = (o["cancelled"] | o["shipped"]) & (closed_at < history_end)
    subtotal = np.bincount(ln["order"], weights=ln["total"], minlength=n).astype(np.int64)
    discounts = np.bincount(ln["order"], weights=ln["discount"], minlength=n).astype(np.int64)
    items = np.bincount(ln["order"], weights=ln["quantity"], minlength=n).astype(np.int64)
    shipping = np.where(subtotal < 5000, 499, 0)
    tax = np.round(subtotal * TAX_RATE[channel]).astype(np.int64)
    updated = np.maximum.reduce([o["created"] + 60, np.where(o["shipped"], o["fulfilled"], 0),
                                 np.where(closed, closed_at, 0)])
    updated = np.minimum(updated, history_end - 1)
    known = o["customer"] >= 0
    country = np.array(COUNTRIES, dtype=object)[people["country"][np.maximum(o["customer"], 0)]]
    country = np.where(known, country, np.where(channel == 0, "US", "DE")).astype(object)
    return pd.DataFrame({
        "source": np.array(CHANNELS, dtype=object)[channel], "external_id": o["external_id"],
        "order_number": np.char.add("#", (1001 + o["number"]).astype(str)).astype(object),
        "status": status, "source_status": status, "currency": np.array(CURRENCY, dtype=object)[channel],
        "created_at": utc(o["created"]), "updated_at": utc(updated), "processed_at": utc(o["created"]),
        "cancelled_at": utc(o["cancelled_at"]).where(pd.Series(o["cancelled"])),
        "closed_at": utc(closed_at).where(pd.Series(closed)),
        "fulfilled_at": utc(o["fulfilled"]).where(pd.Series(o["shipped"])),
        "subtotal": money(subtotal), "discount_total": money(discounts), "shipping_total": money(shipping),
        "tax_total": money(tax), "total": money(subtotal + shipping + tax), "refunded_total": money(np.zeros(n)),
        "customer_key": np.where(known, people["key"][np.maximum(o["customer"], 0)], None).astype(object),
        "payment_method": np.array(["card", "card", "card", "paypal", "shop_pay"], dtype=object)[rng.integers(0, 5, n)],
        "billing_country": country, "shipping_country": country, "discount_codes": None,
        "line_count": o["lines"], "item_count": items, "risk_level": "none", "risk_reasons": None,
        "is_deleted": o["deleted"], "run_id": RUN_ID, "loaded_at": utc(np.minimum(updated + 300, history_end - 1)),
    })


def _lines_frame(o: dict, ln: dict, cat: dict) -> pd.DataFrame:
    order = ln["order"]
    return pd.DataFrame({
        "source": np.array(CHANNELS, dtype=object)[o["channel"][order]], "external_order_id": o["external_id"][order],
        "line_id": (20_000_000_000 + np.arange(len(order))).astype(str).astype(object),
        "sku": cat["code"][ln["sku"]], "title": None, "quantity": ln["quantity"],
        "unit_price": money(ln["unit"]), "discount": money(ln["discount"]), "line_total": money(ln["total"]),
        "refunded_quantity": np.zeros(len(order), dtype=np.int64),
    })


def _tickets_frame(tk: dict, o: dict, people: dict, cat: dict, history_end: int) -> pd.DataFrame:
    order = tk["order"]
    cause = np.array(CAUSES + (None,), dtype=object)[tk["cause"]]  # -1: the last, none
    return pd.DataFrame({
        "desk": DESK, "ticket_id": tk["id"], "created_at": utc(tk["created"]), "updated_at": utc(tk["updated"]),
        "type": np.array(TICKET_TYPES, dtype=object)[tk["kind"]], "status": tk["status"],
        "priority": np.array(PRIORITIES, dtype=object)[tk["priority"]], "level": tk["level"],
        "is_complaint": tk["complaint"], "channel": tk["channel"], "cause": cause,
        "sku": np.where(tk["sku"] >= 0, cat["code"][np.maximum(tk["sku"], 0)], None).astype(object),
        "store": np.array(CHANNELS, dtype=object)[o["channel"][order]],
        "order_number": np.char.add("#", (1001 + o["number"][order]).astype(str)).astype(object),
        "customer_key": people["key"][o["customer"][order]],
        "first_reply_at": utc(tk["replied"]).where(pd.Series(tk["replied_known"])),
        "solved_at": utc(tk["solved"]).where(pd.Series(tk["solved_known"])),
        "run_id": RUN_ID, "loaded_at": utc(np.minimum(tk["updated"] + 300, history_end - 1)),
    })


def _chats_frame(ch: dict) -> pd.DataFrame:
    return pd.DataFrame({
        "desk": DESK, "chat_id": (9_000_000 + np.arange(ch["n"])).astype(str).astype(object),
        "started_at": utc(ch["started"]), "ended_at": utc(ch["ended"]), "updated_at": utc(ch["ended"]),
        "first_response_seconds": ch["first"], "missed": ch["missed"], "department": ch["department"],
        "run_id": RUN_ID,
    })


def _invitations_frame(inv: dict, people: dict, o: dict, tk: dict, clock: dict) -> pd.DataFrame:
    trigger = inv["trigger"]
    delivery, complaint = trigger == "delivery", trigger == "complaint"
    orders, tickets = np.maximum(inv["order"], 0), np.maximum(inv["ticket"], 0)
    source = np.where(delivery, np.array(CHANNELS, dtype=object)[o["channel"][orders]],
                      np.where(complaint, np.array(CHANNELS, dtype=object)[o["channel"][tk["order"][tickets]]], None))
    quarters = np.array([f"relationship survey for {q}" for q in clock["quarters"]], dtype=object)
    reason = np.where(delivery, REASON["delivery"], np.where(complaint, REASON["complaint"], quarters[inv["day"]]))
    reason = np.where(inv["deferred"], np.char.add(reason.astype(str), "; deferred: quiet hours where the customer lives"),
                      reason).astype(object)
    ids = inv["id"].astype(str)
    provider = np.where(inv["email"], np.char.add(np.char.add("<", ids), "@surveys.shopops>"),
                        np.char.add("SM", np.char.ljust(ids, 32, "0")))
    return pd.DataFrame({
        "invitation_id": inv["id"], "trigger": trigger, "subject": inv["subject"], "survey": inv["survey"],
        "customer_key": people["key"][inv["customer"]], "source": source.astype(object),
        "external_order_id": np.where(delivery, o["external_id"][orders], None).astype(object),
        "ticket_id": np.where(complaint, tk["id"][tickets], None).astype(object),
        "channel": np.where(inv["email"], "email", "sms").astype(object), "decided_on": clock["days"][inv["day"]],
        "status": "sent", "reason": reason, "send_after": utc(inv["send_after"]), "sent_at": utc(inv["sent"]),
        "expires_at": utc(inv["expires"]), "provider_id": provider.astype(object), "run_id": RUN_ID,
        "updated_at": utc(inv["sent"]),
    })


def _responses_frame(rs: dict) -> pd.DataFrame:
    return pd.DataFrame({
        "response_id": rs["id"], "invitation_id": rs["invitation"], "survey": rs["survey"], "via": rs["via"],
        "nps": pd.Series(rs["nps"]).astype("Int64"), "csat": pd.Series(rs["csat"]).astype("Int64"),
        "comment": rs["comment"], "submitted_at": utc(rs["submitted"]), "updated_at": utc(rs["submitted"]),
        "validity": rs["validity"], "run_id": RUN_ID,
    })


# --- what the data look like ------------------------------------------------------------------------

def _facts(people, o, ln, tk, ch, inv, rs, pools, clock, rules, as_of) -> dict:
    moments = clock["moments"]
    moment, previous = int(moments[-1]), int(moments[-2])
    delivered = o["fulfilled"] + int(rules.transit_days * DAY)
    due = o["shipped"] & (delivered > previous - DAY) & (delivered <= moment - DAY)
    slot_today = people["slot_hash"] % int(clock["quarter_days"][-1]) == int(clock["slot"][-1])
    solved_today = tk["complaint"] & tk["solved_known"] & (tk["solved"] > previous) & (tk["solved"] <= moment)
    complaints = tk["complaint"]
    open_now = np.isin(tk["status"], ["new", "open", "pending", "hold"])
    countries = np.bincount(people["country"], minlength=len(COUNTRIES)) / people["n"]
    triggers = pd.Series(inv["trigger"]).value_counts()
    validity = pd.Series(rs["validity"]).value_counts()
    window = (rs["validity"] == "valid") & (rs["submitted"] > moment - SCORE_WINDOW_DAYS * DAY) & \
        (rs["submitted"] <= moment)
    nps = rs["nps"][window & ~np.isnan(rs["nps"])]
    csat = rs["csat"][window & ~np.isnan(rs["csat"])]
    chat_window = ch["started"] > moment - SCORE_WINDOW_DAYS * DAY
    return {
        "customers": f"{people['n']:,} (" + ", ".join(f"{c} {s:.0%}" for c, s in zip(COUNTRIES, countries))
                     + f"; {people['has_email'].mean():.0%} with e-mail, {people['has_phone'].mean():.0%} with a phone "
                       f"({people['valid_phone'].mean():.0%} valid), "
                       f"{(people['consent'] == 1).mean():.0%} accept marketing)",
        "orders": f"{o['n']:,} over {DAYS} days to {as_of} ({o['n'] / DAYS:,.0f} a day; "
                  f"{int((o['customer'] < 0).sum()):,} guest orders, {int(o['cancelled'].sum()):,} cancelled)",
        "order lines": f"{len(ln['sku']):,} ({len(ln['sku']) / o['n']:.2f} an order) of {PRODUCTS:,} SKUs in "
                       f"{CATEGORIES} categories",
        "the date's candidates": f"{int(due.sum()):,} deliveries due, {int(slot_today.sum()):,} customers on "
                                f"today's relationship slot, {int(solved_today.sum()):,} complaints solved in the "
                                f"day up to {clock['stamps'][-1]:%Y-%m-%d %H:%M} UTC",
        "tickets": f"{tk['n']:,} ({int(complaints.sum()):,} complaints: "
                   + ", ".join(f"{level} {int((tk['level'][complaints] == level).sum()):,}"
                               for level in ("general", "urgent", "major"))
                   + f"; {int((tk['late'] & complaints).sum()):,} replied late or never; {int(open_now.sum()):,} open)",
        "chats": f"{ch['n']:,} over {CHAT_DAYS} days ({int(chat_window.sum()):,} in the last {SCORE_WINDOW_DAYS}; "
                 f"{ch['missed'].mean():.0%} missed)",
        "survey invitations": f"{inv['n']:,} sent, over the {WEEKS} weeks before the date: "
                              + ", ".join(f"{t} {triggers.get(t, 0):,}" for t in ("delivery", "complaint", "relationship"))
                              + f" ({inv['email'].mean():.0%} by e-mail, {inv['deferred'].mean():.0%} deferred by "
                                f"quiet hours); pools: {pools['delivery']:,} deliveries, {pools['complaint']:,} "
                                f"complaints answered in the window",
        "survey responses": f"{rs['n']:,}: " + ", ".join(f"{v} {validity.get(v, 0):,}" for v in
                                                        ("valid", "replayed", "tampered", "unknown", "expired")),
        f"true NPS / CSAT (last {SCORE_WINDOW_DAYS} days)":
            f"{_nps(nps):.1f} over {len(nps):,} / {100 * (csat >= 4).mean() if len(csat) else float('nan'):.1f}% "
            f"over {len(csat):,} valid responses",
    }


def _nps(scores: np.ndarray) -> float:
    return 100 * ((scores >= 9).mean() - (scores <= 6).mean()) if len(scores) else float("nan")
