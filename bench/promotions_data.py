"""The synthetic warehouse of the promotion-review benchmark: deterministic (seeded numpy), vectorised
(one loop over the promotions, each step a slice of the orders in its window).

`generate(promotions, orders, skus, seed, as_of)` returns one frame per warehouse table, shaped the
way the pipeline writes them (money as integer ten-thousandths, UTC timestamps), covering the 365
days up to and including `as_of`:

- products: `skus` SKUs in 40 categories of uneven size (log-normal popularity: a long tail), unit
  cost (log-normal, ~1% unknown) and list price (a margin of 40–180%, prices ending in 9 cents),
  plus 12 gift SKUs (category "Gifts", cheap, rarely sold on their own).
- orders / order_lines: ~`orders` orders on three channels (shop-us 50%, shop-eu 30% in EUR at 95%
  of the price, marketplace 20% at 105%), weekday and year-end seasonality and a diurnal curve,
  1 + Poisson(1.5) lines each (2.5 on average; quantity mostly 1); customer keys drawn from a pool
  of 40% as many customers with log-normal loyalty, so most customers repeat and some do not;
  ~20% of the customers are members.
- promotions: all six types (percentage, fixed, threshold with 2–3 tiers, gift with a gift SKU and
  a minimum spend, flash with a percent phase then a percent or gift phase, member) with scopes of
  a handful to 150 SKUs, 1–3 categories, or the whole store, on one, two or every channel; flash
  ones last 2–12 hours, the rest 1–14 days; starts spread from day 35 to three days before the
  date, so a few are still running on it. Most carry a code; automatic ones (no code) apply to
  every eligible order in their window.
- The true effect is in the demand: each promotion has a true multiplier (a fifth of them 1, no
  lift; the rest 1.2–2.5 for a list of SKUs, 1.05–1.6 for categories, 1.03–1.25 store-wide) on its
  scope's sales during its window, added as extra orders that all use it (1 + Poisson(0.5) lines in
  scope and Poisson(1) others; a third of them by customers never seen before); a quarter pull sales
  forward (a dip of 10–40% in the scope's sales over the 7 days after), and a third of the SKU-scoped
  ones cannibalise their categories' other SKUs (5–25% of their sales lost during the window).
- Codes and discounts: of the other eligible orders in the window (an in-scope line on one of its
  channels; members only for member promotions) a code promotion is used by 15–60%, an automatic
  one by all; the order's discount_codes holds its codes (comma-separated) and its in-scope lines
  carry the discount the type gives (percent of the line, a fixed amount or a tier spread over the
  in-scope lines by value, a gift line of the gift SKU at its price fully discounted). One
  promotion per line: a line already discounted by an earlier overlapping promotion is not
  eligible for the next. ~1.5% of the other orders carry WELCOME10 (10% off, not a promotion).
- refunds: ~5% of the shipped orders, one line (all of it or one unit) via refunded_quantity and a
  row in refunds 1–25 days after shipping (never after the date); ~1.5% cancelled, the last days'
  orders still paid.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np
import pandas as pd

from bench.synthetic import epoch, money, utc

DAYS = 365
CHANNELS = ("shop-us", "shop-eu", "marketplace")
CHANNEL_SHARE = np.array([0.5, 0.3, 0.2])
CURRENCY = ("USD", "EUR", "USD")
PRICE_FACTOR = np.array([1.0, 0.95, 1.05])
TAX_RATE = np.array([0.07, 0.19, 0.07])
CATEGORIES = 40
GIFTS = 12
LINES_PER_ORDER = 2.5           # 1 + Poisson(1.5)
SCOPE_LINES_PER_EXTRA = 1.5     # an order the promotion brought: 1 + Poisson(0.5) lines in its scope …
COMPANION_LINES = 1.0           # … and Poisson(1) of anything else
CUSTOMER_SHARE = 0.4            # customers in the pool per base order
NEW_IN_EXTRA = 1 / 3            # extra orders by customers never seen before
MEMBER_SHARE = 0.2
FIRST_START_DAY = 35            # after the 28 days of a baseline
DIP_DAYS = 7
RUN_ID = "bench-promotions"
TYPES = ("percentage", "fixed", "threshold", "gift", "flash", "member")
TYPE_SHARE = (0.30, 0.12, 0.15, 0.13, 0.15, 0.15)
CODE_SHARE = {"percentage": 0.6, "fixed": 1.0, "threshold": 0.4, "gift": 0.3, "flash": 0.2, "member": 0.5}
WEEKDAY = np.array([1.08, 1.04, 1.00, 0.98, 0.96, 0.90, 1.04])  # Monday … Sunday
DIURNAL = np.array([1, .6, .4, .3, .3, .4, .7, 1.2, 1.7, 2, 2.2, 2.3, 2.4, 2.3, 2.2, 2.2, 2.3, 2.5, 2.8, 3,
                    2.9, 2.6, 2, 1.5])


@dataclass
class Dataset:
    as_of: date
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    facts: dict[str, str] = field(default_factory=dict)   # what the data look like, for the printout
    last_end: pd.Timestamp | None = None                   # when the last promotion to end ends


def generate(promotions: int, orders: int, skus: int, seed: int, as_of: date) -> Dataset:
    rng = np.random.default_rng(seed)
    day0 = as_of - timedelta(days=DAYS - 1)
    t0 = epoch(day0)
    history_end = t0 + DAYS * 86400  # the end of as_of (exclusive)
    cat = _catalogue(rng, skus)
    day_weight = _day_weights(day0)
    promos = _promotions(rng, cat, promotions, t0, history_end)
    # The promotions' extra orders come on top of the base ones: fewer base orders, so the total is ~orders.
    extra_share = _expected_extra_share(cat, promos, day_weight, t0)
    base = _base_orders(rng, cat, int(round(orders / (1 + extra_share))), day_weight, t0)
    keep, extra, effects = _effects(rng, cat, promos, base, history_end)
    o, ln = _combine(base, keep, extra)
    usage = _discounts(rng, cat, promos, o, ln)
    data = Dataset(as_of=as_of, last_end=pd.Timestamp(int(promos["end"].max()), unit="s", tz="UTC"))
    orders_frame, lines_frame, refunds_frame, refund_facts = _frames(rng, cat, o, ln, usage, history_end)
    data.tables = {
        "products": _products_frame(cat, t0),
        "orders": orders_frame,
        "order_lines": lines_frame,
        "refunds": refunds_frame,
        "promotions": _promotions_frame(cat, promos, t0),
    }
    data.facts = _facts(cat, promos, o, ln, usage, effects, refund_facts, history_end, as_of)
    return data


# --- the catalogue -------------------------------------------------------------------------------

def _catalogue(rng: np.random.Generator, n: int) -> dict:
    size = rng.lognormal(0.0, 0.5, CATEGORIES)
    category = rng.choice(CATEGORIES, n, p=size / size.sum())
    popularity = rng.lognormal(0.0, 1.3, n)
    cost = np.round(rng.lognormal(np.log(900), 0.8, n)).astype(np.int64) + 50                 # cents
    price = (np.round(cost * rng.uniform(1.4, 2.8, n) / 10) * 10 - 1).astype(np.int64)
    no_cost = rng.random(n) < 0.01
    gift_cost = rng.integers(150, 500, GIFTS)
    gift_price = (np.round(gift_cost * rng.uniform(2.5, 4.0, GIFTS) / 10) * 10 - 1).astype(np.int64)
    width = max(6, len(str(n)))
    code = np.r_[np.char.add("SKU-", np.char.zfill(np.arange(1, n + 1).astype(str), width)),
                 np.char.add("GIFT-", np.char.zfill(np.arange(1, GIFTS + 1).astype(str), 2))].astype(object)
    return {
        "n": n, "all": n + GIFTS, "code": code,
        "category": np.r_[category, np.full(GIFTS, CATEGORIES)],  # CATEGORIES: "Gifts"
        "popularity": np.r_[popularity, np.full(GIFTS, popularity.mean() * 0.05)],
        "cost": np.r_[cost, gift_cost], "price": np.r_[price, gift_price], "no_cost": np.r_[no_cost, np.zeros(GIFTS, bool)],
        "category_names": np.array([f"Category {i + 1:02d}" for i in range(CATEGORIES)] + ["Gifts"], dtype=object),
    }


def _day_weights(day0: date) -> np.ndarray:
    days = np.arange(DAYS)
    weekday = WEEKDAY[(day0.weekday() + days) % 7]
    doy = np.array([(day0 + timedelta(days=int(d))).timetuple().tm_yday for d in days])
    return weekday * (1 + 0.35 * np.exp(-(((doy - 335) % 365) / 18.0) ** 2)) * (1 + 0.15 * days / DAYS)


# --- the promotions ------------------------------------------------------------------------------

def _promotions(rng: np.random.Generator, cat: dict, count: int, t0: int, history_end: int) -> dict:
    kind = rng.choice(len(TYPES), count, p=TYPE_SHARE)
    start_day = rng.integers(FIRST_START_DAY, DAYS, count)
    flash = kind == TYPES.index("flash")
    start_hour = np.where(flash, rng.choice([8, 12, 18, 20], count), rng.choice([0, 0, 0, 6, 8], count))
    start = t0 + start_day * 86400 + start_hour * 3600
    days = rng.choice([1, 2, 3, 4, 5, 7, 10, 14], count, p=[.2, .2, .15, .1, .1, .12, .07, .06])
    length = np.where(flash, rng.integers(2, 13, count) * 3600, days * 86400 - start_hour * 3600 * (days == 1))
    order = np.argsort(start, kind="stable")
    kind, start, length, flash = kind[order], start[order], length[order], flash[order]
    end = start + length

    scope = rng.choice(3, count, p=[0.45, 0.40, 0.15])  # SKUs, categories, store-wide
    sellable = np.arange(cat["n"])
    weights = cat["popularity"][:cat["n"]] / cat["popularity"][:cat["n"]].sum()
    channel_kind = rng.choice(3, count, p=[0.5, 0.35, 0.15])  # every channel, one, two
    rows = []
    for i in range(count):
        t = TYPES[kind[i]]
        skus_in = rng.choice(sellable, int(rng.integers(5, 151)), replace=False, p=weights) if scope[i] == 0 else \
            np.array([], dtype=np.int64)
        categories_in = rng.choice(CATEGORIES, int(rng.integers(1, 4)), replace=False) if scope[i] == 1 else \
            np.array([], dtype=np.int64)
        channels_in = np.sort(rng.choice(3, int(channel_kind[i]), replace=False, p=CHANNEL_SHARE)) \
            if channel_kind[i] else np.array([], dtype=np.int64)
        coded = rng.random() < CODE_SHARE[t] or (scope[i] == 2 and t in ("percentage", "member", "flash"))
        percent = int(rng.choice([10, 15, 20, 25, 30]))
        gift = cat["n"] + int(rng.integers(0, GIFTS))
        if t in ("percentage", "member"):
            parameters = {"percent": percent}
            label, code = f"{percent}% off", f"{'MEMBER' if t == 'member' else 'SAVE'}{percent}"
        elif t == "fixed":
            amount = int(rng.choice([5, 10, 15]))
            parameters, label, code = {"amount": f"{amount}.00"}, f"{amount}.00 off", f"TAKE{amount}"
        elif t == "threshold":
            spends = np.sort(rng.choice([40, 50, 75, 100, 150, 200], int(rng.integers(2, 4)), replace=False))
            parameters = {"tiers": [{"spend": str(s), "off": str(int(s * rng.choice([0.1, 0.15, 0.2])))}
                                    for s in spends]}
            label, code = f"spend {spends[0]}+ save", "TIER"
        elif t == "gift":
            parameters = {"gift_sku": cat["code"][gift], "min_spend": str(int(rng.choice([30, 50, 75])))}
            if rng.random() < 0.5:
                parameters["gift_cost"] = f"{cat['cost'][gift] / 100:.2f}"
            label, code = "free gift", "GIFT"
        else:  # flash: a percent phase, then a smaller percent or a gift
            first = int(rng.choice([30, 60, 90])) if length[i] > 3 * 3600 else 30
            second = {"gift_sku": cat["code"][gift]} if rng.random() < 0.5 else \
                {"minutes": int(length[i] // 60), "percent": max(percent // 2, 5)}
            parameters = {"phases": [{"minutes": first, "percent": percent}, second]}
            label, code = f"flash {percent}%", f"FLASH{percent}"
        if rng.random() < 0.1:
            parameters["shipping_cost_per_order"] = "4.90"
        rows.append({"type": t, "skus": skus_in, "categories": categories_in, "channels": channels_in,
                     "code": f"{code}-{i + 1:04d}" if coded else None, "parameters": parameters,
                     "label": label, "gift": gift if t == "gift" or "gift_sku" in parameters.get("phases", [{}])[-1]
                     else -1, "member_only": t == "member"})
    # The true effect: a fifth without lift; a quarter pull forward; a third of the SKU-scoped cannibalise.
    # The wider the scope, the smaller the lift: a store-wide offer moves a smaller share of what it covers.
    low, high = np.array([1.2, 1.05, 1.03])[scope], np.array([2.5, 1.6, 1.25])[scope]
    multiplier = np.where(rng.random(count) < 0.2, 1.0, rng.uniform(low, high))
    dip = np.where(rng.random(count) < 0.25, rng.uniform(0.1, 0.4, count), 0.0)
    cannibal = np.where((scope == 0) & (rng.random(count) < 1 / 3), rng.uniform(0.05, 0.25, count), 0.0)
    redemption = rng.uniform(0.15, 0.6, count)
    return {"count": count, "kind": kind, "scope": scope, "start": start, "end": end, "rows": rows,
            "multiplier": multiplier, "dip": dip, "cannibal": cannibal, "redemption": redemption,
            "running": end > history_end}


def _scope_mask(cat: dict, row: dict) -> np.ndarray:
    """SKUs (gifts included) in the promotion's scope; a store-wide one covers every SKU but the gifts."""
    if len(row["skus"]):
        mask = np.zeros(cat["all"], dtype=bool)
        mask[row["skus"]] = True
        return mask
    if len(row["categories"]):
        return np.isin(cat["category"], row["categories"])
    return cat["category"] < CATEGORIES


def _channel_mask(row: dict) -> np.ndarray:
    if not len(row["channels"]):
        return np.ones(len(CHANNELS), dtype=bool)
    mask = np.zeros(len(CHANNELS), dtype=bool)
    mask[row["channels"]] = True
    return mask


def _expected_extra_share(cat: dict, promos: dict, day_weight: np.ndarray, t0: int) -> float:
    """Orders the promotions will add, net of those their dips and cannibalisation take away, per base
    order (from the scopes' expected demand; a lost line loses its order when it was the order's only one)."""
    sku_share = cat["popularity"] / cat["popularity"].sum()
    cumulative = np.r_[0.0, np.cumsum(day_weight / day_weight.sum())]

    def demand(first: int, end: int) -> float:  # share of the year's orders placed in [first, end)
        a, b = (min(max((t - t0) / 86400, 0), DAYS) for t in (first, end))
        return float(np.interp(b, np.arange(DAYS + 1), cumulative) - np.interp(a, np.arange(DAYS + 1), cumulative))

    alone = np.exp(-(LINES_PER_ORDER - 1))  # lines lost per base order × this = orders lost per base order
    share = 0.0
    for i, row in enumerate(promos["rows"]):
        start, end = promos["start"][i], promos["end"][i]
        mask, channels = _scope_mask(cat, row), CHANNEL_SHARE[_channel_mask(row)].sum()
        scope = sku_share[mask].sum() * channels
        share += (promos["multiplier"][i] - 1) * scope * demand(start, end) * LINES_PER_ORDER / SCOPE_LINES_PER_EXTRA
        share -= alone * promos["dip"][i] * scope * demand(end, end + DIP_DAYS * 86400)
        if promos["cannibal"][i] > 0:
            siblings = np.isin(cat["category"], np.unique(cat["category"][row["skus"]])) & ~mask
            share -= alone * promos["cannibal"][i] * sku_share[siblings].sum() * channels * demand(start, end)
    return share


# --- orders --------------------------------------------------------------------------------------

def _base_orders(rng: np.random.Generator, cat: dict, n: int, day_weight: np.ndarray, t0: int) -> dict:
    day = rng.choice(DAYS, n, p=day_weight / day_weight.sum())
    hour = rng.choice(24, n, p=DIURNAL / DIURNAL.sum())
    created = np.sort(t0 + day * 86400 + hour * 3600 + rng.integers(0, 3600, n))
    pool = max(int(n * CUSTOMER_SHARE), 1)
    loyalty = rng.lognormal(0.0, 1.2, pool)
    customer = rng.choice(pool, n, p=loyalty / loyalty.sum())
    lines = 1 + rng.poisson(LINES_PER_ORDER - 1, n)
    order_of = np.repeat(np.arange(n), lines)
    m = len(order_of)
    sku = rng.choice(cat["all"], m, p=cat["popularity"] / cat["popularity"].sum())
    return {"created": created, "channel": rng.choice(3, n, p=CHANNEL_SHARE), "customer": customer,
            "pool": pool, "order_of": order_of, "sku": sku, "quantity": _quantities(rng, m)}


def _quantities(rng: np.random.Generator, m: int) -> np.ndarray:
    return 1 + (rng.random(m) < 0.2) * rng.integers(1, 3, m)


def _effects(rng: np.random.Generator, cat: dict, promos: dict, base: dict, history_end: int):
    """The promotions' extra orders (their lift), and the base lines lost to dips and cannibalisation."""
    line_time = base["created"][base["order_of"]]
    line_channel = base["channel"][base["order_of"]]
    sku, category = base["sku"], cat["category"][base["sku"]]
    keep = np.ones(len(sku), dtype=bool)
    sku_weight = cat["popularity"]
    parts, next_customer = [], base["pool"]
    extra_lines = dipped = cannibalised = 0
    for i, row in enumerate(promos["rows"]):
        start, end = promos["start"][i], min(promos["end"][i], history_end)
        scope, channels = _scope_mask(cat, row), _channel_mask(row)
        window = slice(*np.searchsorted(line_time, [start, end]))
        on = channels[line_channel[window]]
        in_scope = on & scope[sku[window]]
        lift = promos["multiplier"][i] - 1
        if lift > 0 and end > start:
            lines = rng.poisson(lift * int(in_scope.sum()))
            n = max(int(round(lines / SCOPE_LINES_PER_EXTRA)), 1) if lines else 0
            if n:
                size, companions = 1 + rng.poisson(SCOPE_LINES_PER_EXTRA - 1, n), rng.poisson(COMPANION_LINES, n)
                candidates = np.nonzero(scope)[0]
                p = sku_weight[candidates] / sku_weight[candidates].sum()
                new = rng.random(n) < NEW_IN_EXTRA
                customer = np.where(new, 0, rng.choice(base["pool"], n))
                customer[new] = next_customer + np.arange(int(new.sum()))
                next_customer += int(new.sum())
                allowed = np.nonzero(channels)[0]
                m, k = int(size.sum()), int(companions.sum())
                order_of = np.r_[np.repeat(np.arange(n), size), np.repeat(np.arange(n), companions)]
                chosen = np.r_[rng.choice(candidates, m, p=p),
                               rng.choice(cat["all"], k, p=cat["popularity"] / cat["popularity"].sum())]
                by_order = np.argsort(order_of, kind="stable")
                parts.append({"created": rng.integers(start, end, n),
                              "channel": rng.choice(allowed, n, p=CHANNEL_SHARE[allowed] / CHANNEL_SHARE[allowed].sum()),
                              "customer": customer, "order_of": order_of[by_order], "sku": chosen[by_order],
                              "quantity": _quantities(rng, m + k), "tag": np.full(n, i)})
                extra_lines += m + k
        if promos["dip"][i] > 0:  # sales pulled forward: the scope sells less for a week after
            after = slice(*np.searchsorted(line_time, [promos["end"][i], promos["end"][i] + DIP_DAYS * 86400]))
            lost = channels[line_channel[after]] & scope[sku[after]] & (rng.random(after.stop - after.start)
                                                                         < promos["dip"][i])
            dipped += int((lost & keep[after]).sum())
            keep[after] &= ~lost
        if promos["cannibal"][i] > 0:  # the categories' other SKUs sell less during the window
            categories = np.unique(cat["category"][row["skus"]])
            siblings = on & ~scope[sku[window]] & np.isin(category[window], categories)
            lost = siblings & (rng.random(len(siblings)) < promos["cannibal"][i])
            cannibalised += int((lost & keep[window]).sum())
            keep[window] &= ~lost
    extra = _concat_orders(parts)
    return keep, extra, {"extra_lines": extra_lines, "extra_orders": len(extra["created"]), "dipped": dipped,
                         "cannibalised": cannibalised, "new_customers": next_customer - base["pool"]}


def _concat_orders(parts: list[dict]) -> dict:
    if not parts:
        empty = np.zeros(0, dtype=np.int64)
        return {"created": empty, "channel": empty, "customer": empty, "order_of": empty, "sku": empty,
                "quantity": empty, "tag": empty}
    offsets = np.cumsum([0] + [len(p["created"]) for p in parts[:-1]])
    joined = {k: np.concatenate([p[k] for p in parts]) for k in ("created", "channel", "customer", "sku", "quantity",
                                                                 "tag")}
    joined["order_of"] = np.concatenate([p["order_of"] + o for p, o in zip(parts, offsets)])
    return joined


def _combine(base: dict, keep: np.ndarray, extra: dict):
    """Base orders (their lost lines dropped, orders left empty with them) and the extra ones, by time."""
    order_of = base["order_of"][keep]
    alive = np.bincount(order_of, minlength=len(base["created"])) > 0
    renumber = np.cumsum(alive) - 1
    n_base = int(alive.sum())
    created = np.r_[base["created"][alive], extra["created"]]
    channel = np.r_[base["channel"][alive], extra["channel"]]
    customer = np.r_[base["customer"][alive], extra["customer"]]
    tag = np.r_[np.full(n_base, -1), extra["tag"]]
    line_order = np.r_[renumber[order_of], extra["order_of"] + n_base]
    sku = np.r_[base["sku"][keep], extra["sku"]]
    quantity = np.r_[base["quantity"][keep], extra["quantity"]]
    by_time = np.argsort(created, kind="stable")
    position = np.empty_like(by_time)
    position[by_time] = np.arange(len(by_time))
    line_order = position[line_order]
    lines_by_order = np.argsort(line_order, kind="stable")
    o = {"created": created[by_time], "channel": channel[by_time], "customer": customer[by_time], "tag": tag[by_time],
         "n": len(created)}
    ln = {"order": line_order[lines_by_order], "sku": sku[lines_by_order], "quantity": quantity[lines_by_order]}
    return o, ln


# --- codes and discounts -------------------------------------------------------------------------

def _discounts(rng: np.random.Generator, cat: dict, promos: dict, o: dict, ln: dict) -> dict:
    """Each promotion's use: the discount on its orders' in-scope lines, its gift lines, its code on
    the orders (what the flow must find again)."""
    n_lines = len(ln["sku"])
    price = cat["price"][ln["sku"]] * PRICE_FACTOR[o["channel"][ln["order"]]]
    ln["unit"] = np.round(price).astype(np.int64)
    ln["gross"] = ln["unit"] * ln["quantity"]
    ln["discount"] = np.zeros(n_lines, dtype=np.int64)
    ln["promo"] = np.full(n_lines, -1)
    starts = np.searchsorted(ln["order"], np.arange(o["n"] + 1))
    member = (o["customer"] % 5) == 0  # MEMBER_SHARE of the customers
    code_pairs, gift_parts, used = [], [], np.zeros(promos["count"], dtype=np.int64)
    line_order, line_sku = ln["order"], ln["sku"]
    for i, row in enumerate(promos["rows"]):
        lo, hi = np.searchsorted(o["created"], [promos["start"][i], promos["end"][i]])
        if hi <= lo:
            continue
        lines = slice(starts[lo], starts[hi])
        orders_of = line_order[lines]
        scope, channels = _scope_mask(cat, row), _channel_mask(row)
        tag = o["tag"][orders_of]
        eligible = channels[o["channel"][orders_of]] & scope[line_sku[lines]] & (ln["promo"][lines] < 0) \
            & ((tag < 0) | (tag == i))
        if row["member_only"]:
            eligible &= member[orders_of]
        candidates = np.unique(orders_of[eligible])
        if row["code"]:  # its own extra orders, and a share of the others that could have used it
            mine = o["tag"][candidates] == i
            using = candidates[mine | (rng.random(len(candidates)) < promos["redemption"][i])]
        else:
            using = candidates
        take = eligible & np.isin(orders_of, using)
        idx = np.nonzero(take)[0] + lines.start
        using, given, gifts = _apply(rng, row, idx, ln, o, promos["start"][i])
        ln["discount"][idx[given]] = gifts["discount"]
        ln["promo"][idx[np.isin(ln["order"][idx], using)]] = i  # one promotion per line
        if len(gifts["orders"]):
            gift_parts.append(gifts["orders"])
        if row["code"]:
            code_pairs.append(np.c_[using, np.full(len(using), i)])
        used[i] = len(using)
    # WELCOME10: 1.5% of the orders without a promotion, 10% off their lines (a code no promotion has).
    touched = np.zeros(o["n"], dtype=bool)
    touched[line_order[ln["promo"] >= 0]] = True
    welcome = ~touched & (rng.random(o["n"]) < 0.015)
    lines_welcome = welcome[line_order]
    ln["discount"][lines_welcome] = np.round(ln["gross"][lines_welcome] * 0.10).astype(np.int64)
    return {"code_pairs": np.concatenate(code_pairs) if code_pairs else np.zeros((0, 2), dtype=np.int64),
            "code_names": np.array([r["code"] for r in promos["rows"]], dtype=object),
            "gift_parts": gift_parts, "used": used, "welcome": welcome}


def _apply(rng: np.random.Generator, row: dict, idx: np.ndarray, ln: dict, o: dict, start: int):
    """The type's discount on lines `idx` (the using orders' in-scope lines): the orders that got
    something, which of the lines carry a discount and how much, and the orders that get a gift line."""
    kind, parameters = row["type"], row["parameters"]
    order = ln["order"][idx]
    gross = ln["gross"][idx].astype(float)
    keys, inverse = np.unique(order, return_inverse=True)
    subtotal = np.bincount(inverse, weights=gross, minlength=len(keys))
    gift_orders = np.zeros(0, dtype=np.int64)
    if kind in ("percentage", "member"):
        off = np.round(gross * parameters["percent"] / 100)
    elif kind in ("fixed", "threshold"):
        if kind == "fixed":
            per_order = np.where(subtotal >= float(parameters["amount"]) * 100 * 2, float(parameters["amount"]) * 100, 0)
        else:
            per_order = np.zeros(len(keys))
            for tier in parameters["tiers"]:  # lowest first: higher tiers overwrite
                per_order = np.where(subtotal >= float(tier["spend"]) * 100, float(tier["off"]) * 100, per_order)
        off = np.round(per_order[inverse] * gross / np.maximum(subtotal[inverse], 1))
    elif kind == "gift":
        off = np.zeros(len(idx))
        gift_orders = keys[subtotal >= float(parameters["min_spend"]) * 100]
    else:  # flash: by the phase the order was placed in
        phases = parameters["phases"]
        minutes = (o["created"][order] - start) / 60
        off = np.where(minutes < phases[0]["minutes"], np.round(gross * phases[0]["percent"] / 100), 0.0)
        late = (o["created"][keys] - start) / 60 >= phases[0]["minutes"]
        if "gift_sku" in phases[1]:
            gift_orders = keys[late]
        else:
            off = np.where(minutes >= phases[0]["minutes"], np.round(gross * phases[1]["percent"] / 100), off)
    off = np.minimum(off, gross).astype(np.int64)
    given = off > 0
    got = np.union1d(np.unique(order[given]), gift_orders)
    gifts = {"discount": off[given], "orders": np.c_[gift_orders, np.full(len(gift_orders), row["gift"])]
             if len(gift_orders) else np.zeros((0, 2), dtype=np.int64)}
    return got, given, gifts


# --- frames --------------------------------------------------------------------------------------

def _frames(rng: np.random.Generator, cat: dict, o: dict, ln: dict, usage: dict, history_end: int):
    n = o["n"]
    # Gift lines join their orders: the gift SKU at its price, fully discounted.
    gifts = np.concatenate(usage["gift_parts"]) if usage["gift_parts"] else np.zeros((0, 2), dtype=np.int64)
    g_order, g_sku = gifts[:, 0], gifts[:, 1]
    g_unit = np.round(cat["price"][g_sku] * PRICE_FACTOR[o["channel"][g_order]]).astype(np.int64)
    order_of = np.r_[ln["order"], g_order]
    sku = np.r_[ln["sku"], g_sku]
    qty = np.r_[ln["quantity"], np.ones(len(g_order), dtype=np.int64)]
    unit = np.r_[ln["unit"], g_unit]
    discount = np.r_[ln["discount"], g_unit]
    arrange = np.argsort(order_of, kind="stable")
    order_of, sku, qty, unit, discount = (a[arrange] for a in (order_of, sku, qty, unit, discount))
    line_total = unit * qty - discount
    n_lines = len(order_of)
    first = np.searchsorted(order_of, np.arange(n))
    lines_in = np.bincount(order_of, minlength=n)

    created = o["created"]
    u = rng.random(n)
    fulfilled_at = created + rng.integers(4 * 3600, 3 * 86400, n)
    shipped = fulfilled_at < history_end
    status = np.where(shipped, "fulfilled", np.where(u < 0.88, "paid", np.where(u < 0.95, "pending", "on_hold")))
    status = status.astype(object)
    cancelled = (rng.random(n) < 0.015) & (o["tag"] < 0)
    cancelled_at = created + ((fulfilled_at - created) * rng.uniform(0.05, 0.9, n)).astype(np.int64)
    cancelled &= cancelled_at < history_end
    status[cancelled] = "cancelled"
    shipped &= ~cancelled
    refund = shipped & (fulfilled_at + 86400 < history_end) & (rng.random(n) < 0.05)
    refunded_line = first[refund]
    refunded_qty = np.zeros(n_lines, dtype=np.int64)
    partial = (qty[refunded_line] > 1) & (rng.random(len(refunded_line)) < 0.3)
    refunded_qty[refunded_line] = np.where(partial, 1, qty[refunded_line])
    whole = (lines_in[refund] == 1) & ~partial
    status[refund] = np.where(whole, "refunded", "partially_refunded")
    refund_amount = np.round(line_total[refunded_line] * refunded_qty[refunded_line] / qty[refunded_line]).astype(np.int64)
    refund_at = np.minimum(fulfilled_at[refund] + rng.integers(86400, 25 * 86400, int(refund.sum())), history_end - 1)
    closed_at = np.where(cancelled, cancelled_at, fulfilled_at + rng.integers(3600, 6 * 86400, n))
    closed = (cancelled | shipped) & (closed_at < history_end)

    subtotal = np.bincount(order_of, weights=line_total, minlength=n).astype(np.int64)
    discounts = np.bincount(order_of, weights=discount, minlength=n).astype(np.int64)
    items = np.bincount(order_of, weights=qty, minlength=n).astype(np.int64)
    channel = o["channel"]
    shipping = np.where(subtotal < 5000, 499, 0)
    tax = np.round(subtotal * TAX_RATE[channel]).astype(np.int64)
    refunded_total = np.zeros(n, dtype=np.int64)
    refunded_total[refund] = refund_amount
    updated = np.maximum.reduce([created + 60, np.where(shipped, fulfilled_at, 0), np.where(closed, closed_at, 0)])
    updated[refund] = np.maximum(updated[refund], refund_at)
    updated = np.minimum(updated, history_end - 1)

    source = np.array(CHANNELS, dtype=object)[channel]
    number = np.zeros(n, dtype=np.int64)
    for c in range(len(CHANNELS)):  # numbered per channel, in time
        mine = channel == c
        number[mine] = np.arange(int(mine.sum()))
    external_id = (5_000_000_000 + channel * 1_000_000_000 + number).astype(str).astype(object)
    codes = _codes_text(usage, n, o)
    orders = pd.DataFrame({
        "source": source, "external_id": external_id,
        "order_number": np.char.add("#", (1001 + number).astype(str)).astype(object),
        "status": status, "source_status": status, "currency": np.array(CURRENCY, dtype=object)[channel],
        "created_at": utc(created), "updated_at": utc(updated), "processed_at": utc(created),
        "cancelled_at": utc(cancelled_at).where(pd.Series(cancelled)),
        "closed_at": utc(closed_at).where(pd.Series(closed)),
        "fulfilled_at": utc(fulfilled_at).where(pd.Series(shipped)),
        "subtotal": money(subtotal), "discount_total": money(discounts), "shipping_total": money(shipping),
        "tax_total": money(tax), "total": money(subtotal + shipping + tax), "refunded_total": money(refunded_total),
        "customer_key": np.char.add("cust-", np.char.zfill(o["customer"].astype(str), 7)).astype(object),
        "payment_method": np.array(["card", "card", "card", "paypal", "shop_pay"], dtype=object)[rng.integers(0, 5, n)],
        "billing_country": None, "shipping_country": None, "discount_codes": codes,
        "line_count": lines_in, "item_count": items,
        "risk_level": "none", "risk_reasons": None, "is_deleted": False, "run_id": RUN_ID,
        "loaded_at": utc(np.minimum(updated + 300, history_end - 1)),
    })
    lines = pd.DataFrame({
        "source": source[order_of], "external_order_id": external_id[order_of],
        "line_id": (20_000_000_000 + np.arange(n_lines)).astype(str).astype(object),
        "sku": cat["code"][sku], "title": None, "quantity": qty,
        "unit_price": money(unit), "discount": money(discount), "line_total": money(line_total),
        "refunded_quantity": refunded_qty,
    })
    refunds = pd.DataFrame({
        "source": source[refund], "external_id": (7_000_000_000 + np.arange(int(refund.sum()))).astype(str).astype(object),
        "external_order_id": external_id[refund], "created_at": utc(refund_at), "created_at_estimated": False,
        "amount": money(refund_amount), "currency": np.array(CURRENCY, dtype=object)[channel[refund]],
        "reason": np.array(["damaged", "wrong size", "not as described", "changed mind", None], dtype=object)[
            rng.integers(0, 5, int(refund.sum()))],
    })
    facts = {"gift_lines": len(g_order), "discounted_lines": int((discount > 0).sum()), "refunds": int(refund.sum()),
             "cancelled": int(cancelled.sum()), "lines": n_lines}
    return orders, lines, refunds, facts


def _codes_text(usage: dict, n: int, o: dict) -> np.ndarray:
    """Each order's codes, comma-separated (None: none)."""
    pairs = usage["code_pairs"]
    codes = np.full(n, None, dtype=object)
    names = usage["code_names"]
    welcome = usage["welcome"]
    codes[welcome] = "WELCOME10"
    if len(pairs):
        frame = pd.DataFrame({"order": pairs[:, 0], "code": names[pairs[:, 1]]}).sort_values("order", kind="stable")
        joined = frame.groupby("order", sort=False)["code"].agg(",".join)
        codes[joined.index.to_numpy()] = joined.to_numpy()
    return codes


def _promotions_frame(cat: dict, promos: dict, t0: int) -> pd.DataFrame:
    rows = promos["rows"]
    count = promos["count"]

    def listed(values, names=None):
        return None if not len(values) else json.dumps([str(names[v]) if names is not None else str(v) for v in values])

    return pd.DataFrame({
        "promotion_id": [f"calendar:PROMO-{i + 1:04d}" for i in range(count)], "origin": "calendar",
        "name": [f"{r['label']} · {_scope_label(r)}" for r in rows], "type": [r["type"] for r in rows],
        "parameters": [json.dumps(r["parameters"], sort_keys=True) for r in rows],
        "starts_at": utc(promos["start"]), "ends_at": utc(promos["end"]),
        "scope_skus": [listed(r["skus"], cat["code"]) for r in rows],
        "scope_categories": [listed(r["categories"], cat["category_names"]) for r in rows],
        "scope_channels": [listed(r["channels"], np.array(CHANNELS)) for r in rows],
        "member_only": [bool(r["member_only"]) for r in rows],
        "codes": [json.dumps([r["code"]]) if r["code"] else None for r in rows],
        "updated_at": utc(np.full(count, t0)),
    })


def _scope_label(row: dict) -> str:
    scope = f"{len(row['skus'])} SKUs" if len(row["skus"]) else \
        f"{len(row['categories'])} categories" if len(row["categories"]) else "store-wide"
    return scope + ("" if not len(row["channels"]) else " on " + "+".join(CHANNELS[c] for c in row["channels"]))


def _products_frame(cat: dict, t0: int) -> pd.DataFrame:
    n = cat["all"]
    stamp = utc(np.full(n, t0))
    return pd.DataFrame({
        "sku": cat["code"], "title": np.char.add("Product ", np.arange(1, n + 1).astype(str)).astype(object),
        "category": cat["category_names"][cat["category"]], "vendor": None, "status": "active", "is_presale": False,
        "unit_cost": pd.Series(money(cat["cost"]), dtype="Int64").mask(cat["no_cost"]),
        "list_price": money(cat["price"]), "currency": "USD", "pack_size": 1, "moq": 1,
        "listed_at": utc(np.full(n, t0 - 400 * 86400)), "source": "shop-us", "source_updated_at": stamp,
        "run_id": RUN_ID, "updated_at": stamp,
    })


def _facts(cat, promos, o, ln, usage, effects, refund_facts, history_end, as_of) -> dict:
    kinds = pd.Series([r["type"] for r in promos["rows"]]).value_counts().reindex(TYPES, fill_value=0)
    scopes = np.bincount(promos["scope"], minlength=3)
    lengths = (promos["end"] - promos["start"]) / 3600
    per_customer = np.bincount(o["customer"])
    per_customer = per_customer[per_customer > 0]
    channels = np.bincount(o["channel"], minlength=3) / o["n"]
    coded = sum(bool(r["code"]) for r in promos["rows"])
    with_codes = len(np.unique(usage["code_pairs"][:, 0])) if len(usage["code_pairs"]) else 0
    lifted = promos["multiplier"] > 1
    return {
        "SKUs": f"{cat['n']:,} in {CATEGORIES} categories, plus {GIFTS} gift SKUs",
        "orders": f"{o['n']:,} over {DAYS} days to {as_of} ({o['n'] / DAYS:,.0f} a day; "
                  + ", ".join(f"{c} {s:.0%}" for c, s in zip(CHANNELS, channels)) + ")",
        "order lines": f"{refund_facts['lines']:,} ({refund_facts['lines'] / o['n']:.2f} an order; "
                       f"{refund_facts['discounted_lines']:,} discounted, {refund_facts['gift_lines']:,} gift lines)",
        "customers": f"{len(per_customer):,} ({(per_customer > 1).mean():.0%} ordered more than once; "
                     f"{effects['new_customers']:,} first came through a promotion)",
        "refunds / cancelled": f"{refund_facts['refunds']:,} / {refund_facts['cancelled']:,}",
        "promotions": f"{promos['count']:,}: " + ", ".join(f"{k} {v}" for k, v in kinds.items()),
        "scopes": f"{scopes[0]} SKU lists, {scopes[1]} categories, {scopes[2]} store-wide; "
                  f"{sum(bool(len(r['channels'])) for r in promos['rows'])} on some channels only",
        "windows (hours)": f"{lengths.min():.0f} to {lengths.max():.0f}, median {np.median(lengths):.0f}; "
                           f"{int(promos['running'].sum())} still running on {as_of}",
        "with a code": f"{coded} promotions; {with_codes:,} orders carry one "
                      f"({int(usage['welcome'].sum()):,} more carry WELCOME10)",
        "true lift": f"{int((~lifted).sum())} none; the rest ×1.2–2.5 (SKU lists), ×1.05–1.6 (categories), "
                     f"×1.03–1.25 (store-wide) (median "
                     f"×{np.median(promos['multiplier'][lifted]) if lifted.any() else 1:.2f}): "
                     f"{effects['extra_orders']:,} extra orders, {effects['extra_lines']:,} lines",
        "pull-forward / cannibalisation": f"{int((promos['dip'] > 0).sum())} / {int((promos['cannibal'] > 0).sum())} "
                                          f"promotions ({effects['dipped']:,} / {effects['cannibalised']:,} lines lost)",
        "orders using a promotion": f"{int((usage['used'] > 0).sum())} promotions were used, "
                                    f"median {np.median(usage['used']):,.0f} orders each",
    }
