"""The synthetic warehouse of the replenishment benchmark: deterministic (seeded numpy), vectorised.

`generate(skus, days, orders_per_day, seed, as_of)` returns one frame per warehouse table, shaped
the way the pipeline writes them (money as integer ten-thousandths, UTC timestamps, dates as
`YYYY-MM-DD`), covering the `days` days before `as_of`:

- products: heavy-tailed demand (log-normal rates: the top 3% of SKUs carry about half the units),
  ~10% dead stock, a long tail of slow and intermittent sellers, ~5% "lumpy" ones that sell in
  bulk; ~25 suppliers with lead times of 3–60 days (overseas ones with a spread), pack sizes,
  minimum order quantities, costs and list prices; ~2% pre-sale, ~3% listed in the last 30 days.
- Two stock pools, `shop-us` and `shop-eu` (most SKUs in both), two locations each. Stock is
  simulated day by day (a loop over days, vectorised over items): a line ships from its usual
  location, else from the other; a line that finds no stock is a lost sale, so a stock-out is a
  run of days with stock 0 and no sales. Reorders follow an (s, S) rule with pack size and MOQ,
  lead times drawn around the supplier's; some items are under-stocked and some suppliers have
  outages (a few still going at the date), so stock-outs are frequent and some are current.
- orders / order_lines: weekday and year-end seasonality, 1.6 lines per order on average; orders
  ship 4 hours to 3 days after they were placed (fulfilled_at), so the last days' ones are still
  paid, pending or on hold; ~1.5% cancelled before shipping, ~5% refunded after (refunded_quantity
  on the line and a row in refunds).
- inventory_snapshots, sparse like the daily sync writes them: one row per (source, location, SKU)
  on its first day, then a row only on days the end-of-day stock changed.
- price_snapshots (sparse too): each SKU's price on its first day; 15% of SKUs change price and
  cost once during the history (sales before the change paid the old price).
- purchase_orders: every simulated reorder, received or (when it arrives after the date) open.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np
import pandas as pd

from bench.synthetic import day_text, epoch, money, utc

POOLS = ("shop-us", "shop-eu")
CURRENCIES = ("USD", "EUR")
LOCATIONS = (("gid://shopify/Location/61000001", "gid://shopify/Location/61000002"),
             ("gid://shopify/Location/62000001", "gid://shopify/Location/62000002"))
COUNTRIES = (np.array(["US", "US", "US", "US", "CA"], dtype=object),
             np.array(["DE", "DE", "FR", "NL", "AT", "IT", "ES"], dtype=object))
TAX_RATE = (0.07, 0.19)
LINES_PER_ORDER = 1.6
SUPPLIERS = 25
RUN_ID = "bench-replenishment"
# Monday … Sunday, mean 1.
WEEKDAY = np.array([1.08, 1.04, 1.00, 0.98, 0.96, 0.90, 1.04])
DIURNAL = np.array([1, .6, .4, .3, .3, .4, .7, 1.2, 1.7, 2, 2.2, 2.3, 2.4, 2.3, 2.2, 2.2, 2.3, 2.5, 2.8, 3,
                    2.9, 2.6, 2, 1.5])


@dataclass
class Dataset:
    as_of: date
    days: int
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    facts: dict[str, str] = field(default_factory=dict)   # what the data look like, for the printout


def generate(skus: int, days: int, orders_per_day: float, seed: int, as_of: date) -> Dataset:
    rng = np.random.default_rng(seed)
    day0 = as_of - timedelta(days=days)
    catalogue = _catalogue(rng, skus, days)
    items = _items(rng, catalogue, orders_per_day)
    sim = _simulate(rng, catalogue, items, days, day0)
    data = Dataset(as_of=as_of, days=days)
    orders, lines, refunds = _orders(rng, catalogue, items, sim, days, day0)
    data.tables = {
        "products": _products_frame(catalogue, as_of, day0),
        "orders": orders,
        "order_lines": lines,
        "refunds": refunds,
        "inventory_snapshots": _snapshots_frame(catalogue, items, sim, day0),
        "price_snapshots": _prices_frame(catalogue, day0),
        "purchase_orders": _purchase_orders_frame(rng, catalogue, items, sim, days, day0, as_of),
    }
    rate = items["rate"]
    top = np.sort(np.bincount(items["sku"], weights=rate, minlength=skus))[::-1]
    selling = rate > 0
    data.facts = {
        "items (SKU × pool)": f"{len(rate):,}",
        "top 3% of SKUs' share of demand": f"{top[:max(1, skus * 3 // 100)].sum() / top.sum():.0%}",
        "dead stock SKUs": f"{catalogue['dead'].mean():.1%}",
        "items selling under one line a week": f"{(rate[selling] < 1 / 7).mean():.0%} of those that sell",
        "item-days out of stock (of selling items)": f"{sim['stockout_days'] / max(sim['listed_days'], 1):.1%}",
        "items out of stock at the date": f"{sim['out_at_end']:,}",
        "lost sales (lines that found no stock)": f"{sim['lost_lines'] / max(sim['lost_lines'] + len(lines), 1):.1%}",
        "orders per day": f"{len(orders) / days:,.0f}",
    }
    return data


# --- the catalogue -------------------------------------------------------------------------------

def _catalogue(rng: np.random.Generator, n: int, days: int) -> dict:
    kind = rng.random(n)
    dead, presale, new = kind < 0.10, (kind >= 0.10) & (kind < 0.12), (kind >= 0.12) & (kind < 0.15)
    base = rng.lognormal(0.0, 1.8, n)
    base[dead] = 0.0
    lumpy = ~dead & (rng.random(n) < 0.05)

    # Suppliers: domestic (3–10 days, steady), regional (10–25), overseas (30–60, with a spread).
    supplier_lead = np.concatenate([rng.integers(3, 11, 10), rng.integers(10, 26, 8), rng.integers(30, 61, 7)])
    supplier_spread = np.concatenate([np.zeros(10), rng.uniform(0.05, 0.2, 8) * (rng.random(8) < 0.5),
                                      rng.uniform(0.15, 0.35, 7)])
    weights = 1.0 / np.arange(1, SUPPLIERS + 1) ** 0.8
    supplier = rng.permutation(SUPPLIERS)[rng.choice(SUPPLIERS, n, p=weights / weights.sum())]
    no_terms = rng.random(n) < 0.03                      # no supplier on file: the default lead time
    lead = np.clip(supplier_lead[supplier] + rng.integers(-2, 3, n), 3, 60).astype(float)
    lead_std = np.round(lead * supplier_spread[supplier], 1)
    lead_std = np.where(lead_std > 0, lead_std, np.nan)
    lead[no_terms], lead_std[no_terms] = np.nan, np.nan

    pack = rng.choice([1, 2, 4, 6, 10, 12, 24, 48], n, p=[.45, .08, .08, .10, .08, .10, .07, .04])
    moq = np.where(rng.random(n) < 0.6, 1, pack * rng.choice([1, 2, 5, 10], n, p=[.4, .3, .2, .1]))
    pack[no_terms], moq[no_terms] = 1, 1
    cost_cents = np.round(rng.lognormal(np.log(800), 0.9, n)).astype(np.int64) + 50
    price_cents = (np.round(cost_cents * rng.uniform(1.3, 3.2, n) / 10) * 10 - 1).astype(np.int64)
    no_cost = rng.random(n) < 0.02

    # Listed before the history, except the new listings (in its last 30 days, never day 0).
    listed_day = np.where(new, days - rng.integers(1, min(30, max(days - 1, 1)) + 1, n),
                          -rng.integers(30, 1500, n))
    # Prices: 15% of SKUs changed list price and cost once during the history (sales before the
    # change paid the old price); the products table holds the current ones.
    repriced = (rng.random(n) < 0.15) & (listed_day < days - 2)
    low = np.clip(listed_day + 1, 1, max(days - 1, 1))
    change_day = np.where(repriced, rng.integers(low, np.maximum(low + 1, days)), days + 1)
    factor = rng.uniform(0.8, 1.1, n)
    old_price = np.where(repriced, np.round(price_cents * factor / 10) * 10 - 1, price_cents).astype(np.int64)
    old_cost = np.where(repriced, np.round(cost_cents * np.sqrt(factor)), cost_cents).astype(np.int64)
    width = max(6, len(str(n)))
    return {
        "n": n, "sku": np.char.add("SKU-", np.char.zfill(np.arange(1, n + 1).astype(str), width)).astype(object),
        "dead": dead, "presale": presale, "new": new, "lumpy": lumpy, "base": base,
        "supplier": np.where(no_terms, -1, supplier), "lead": lead, "lead_std": lead_std,
        "pack": pack.astype(np.int64), "moq": moq.astype(np.int64),
        "cost_cents": cost_cents, "no_cost": no_cost, "price_cents": price_cents, "listed_day": listed_day,
        "repriced": repriced, "change_day": change_day, "old_price_cents": old_price, "old_cost_cents": old_cost,
        "category": rng.integers(0, 14, n), "vendor": rng.integers(0, 40, n),
    }


def _items(rng: np.random.Generator, cat: dict, orders_per_day: float) -> dict:
    """The (SKU, pool) pairs: 80% of SKUs in both pools, 12% only in shop-us, 8% only in shop-eu."""
    n = cat["n"]
    where = rng.random(n)
    in_us, in_eu = where < 0.92, (where < 0.80) | (where >= 0.92)
    us_share = rng.beta(6, 4, n)
    sku = np.concatenate([np.nonzero(in_us)[0], np.nonzero(in_eu)[0]])
    pool = np.concatenate([np.zeros(in_us.sum(), dtype=np.int64), np.ones(in_eu.sum(), dtype=np.int64)])
    both = in_us[sku] & in_eu[sku]
    share = np.where(both, np.where(pool == 0, us_share[sku], 1 - us_share[sku]), 0.7)
    rate = cat["base"][sku] * share
    rate *= orders_per_day * LINES_PER_ORDER / rate.sum()  # lines per day, before seasonality and stock-outs
    m = len(sku)
    # Usual location: 30% of items are held in one location only, the rest mostly in the first.
    primary = np.where(rng.random(m) < 0.3, 1.0, rng.uniform(0.5, 0.8, m))
    mean_qty = np.where(cat["lumpy"][sku], 1 / 0.15, 1 + 0.15 * 2)
    units = rate * mean_qty  # units per day
    lead = np.nan_to_num(cat["lead"][sku], nan=14.0)
    cover = rng.choice(3, m, p=[.65, .25, .1])
    factor = np.choose(cover, [rng.uniform(1.1, 1.6, m), rng.uniform(0.5, 1.0, m), rng.uniform(1.6, 2.5, m)])
    s = np.ceil(units * lead * factor + np.sqrt(units * lead))
    big = np.ceil(s + units * rng.uniform(15, 60, m)) + 1
    # Supplier outages (no reorders): 8% of items once in the history, 2% ongoing at the date.
    return {"sku": sku, "pool": pool, "rate": rate, "primary": primary, "s": s, "S": big,
            "two_locations": primary < 1.0, "outage_at": rng.random(m), "outage_len": rng.uniform(20, 90, m),
            "ongoing": rng.random(m) < 0.02, "outage": rng.random(m) < 0.08}


# --- the day-by-day stock simulation ------------------------------------------------------------

def _simulate(rng: np.random.Generator, cat: dict, items: dict, days: int, day0: date) -> dict:
    m = len(items["sku"])
    sku = items["sku"]
    selling = items["rate"] > 0
    listed_day = cat["listed_day"][sku]
    lumpy = cat["lumpy"][sku]
    pack, moq = cat["pack"][sku], cat["moq"][sku]
    lead = np.nan_to_num(cat["lead"][sku], nan=14.0)
    lead_std = np.nan_to_num(cat["lead_std"][sku], nan=0.0)
    primary = items["primary"]

    outage_start = np.where(items["outage"], np.floor(items["outage_at"] * max(days - 30, 1)), np.inf)
    outage_end = outage_start + items["outage_len"]
    ongoing_start = days - np.floor(items["outage_at"] * 55) - 5
    outage_start = np.where(items["ongoing"], ongoing_start, outage_start)
    outage_end = np.where(items["ongoing"], np.inf, outage_end)

    stock = np.zeros((m, 2), dtype=np.int64)
    opening = np.where(selling, np.round(items["S"] * rng.uniform(0.3, 1.0, m)), rng.integers(3, 120, m))
    due_day = np.full(m, -1, dtype=np.int64)
    due_qty = np.zeros(m, dtype=np.int64)
    before = listed_day <= 0
    _receive(stock, np.nonzero(before)[0], opening[before].astype(np.int64), primary)
    new = ~before
    due_day[new], due_qty[new] = listed_day[new], np.round(items["S"][new]).astype(np.int64)  # first delivery

    previous = np.full(2 * m, -1, dtype=np.int64)  # last written snapshot value per (item, location)
    exists = np.stack([np.ones(m, dtype=bool), items["two_locations"]], axis=1).ravel()
    weekday0 = day0.weekday()
    sold_parts, snap_parts, po_parts = [], [], []
    lost = stockout_days = listed_days = 0
    for d in range(days):
        arriving = np.nonzero(due_day == d)[0]
        _receive(stock, arriving, due_qty[arriving], primary)
        due_day[arriving], due_qty[arriving] = -1, 0

        listed = listed_day <= d
        doy = (day0 + timedelta(days=d)).timetuple().tm_yday
        season = WEEKDAY[(weekday0 + d) % 7] * (1 + 0.35 * np.exp(-(((doy - 335) % 365) / 18.0) ** 2))
        count = rng.poisson(items["rate"] * season * listed)
        which = np.nonzero(count)[0]
        item = np.repeat(which, count[which])
        qty = np.where(lumpy[item], rng.geometric(0.15, len(item)),
                       1 + (rng.random(len(item)) < 0.15) * rng.integers(1, 4, len(item)))
        usual = (rng.random(len(item)) >= primary[item]).astype(np.int64)
        flat = stock.ravel()  # a view: allocation writes through
        from_usual = _allocate(2 * item + usual, qty, flat)
        sold, retry = from_usual.copy(), ~from_usual
        sold[retry] = _allocate(2 * item[retry] + (1 - usual[retry]), qty[retry], flat)  # the other location
        loc = np.where(from_usual, usual, 1 - usual)
        lost += int((~sold).sum())
        sold_parts.append((item[sold], loc[sold], np.full(int(sold.sum()), d), qty[sold]))

        total = stock.sum(axis=1)
        stockout_days += int((listed & selling & (total <= 0)).sum())
        listed_days += int((listed & selling).sum())

        changed = exists & np.repeat(listed, 2) & (flat != previous)
        where = np.nonzero(changed)[0]
        snap_parts.append((where, np.full(len(where), d), flat[where].copy()))
        previous[where] = flat[where]

        # Reorder at the end of the day: (s, S) on the pool's position, rounded to packs, at least the MOQ.
        in_outage = (d >= outage_start) & (d < outage_end)
        position = total + due_qty
        need = np.nonzero(selling & listed & (due_day < 0) & (position < items["s"]) & ~in_outage)[0]
        if len(need):
            q = np.maximum(items["S"][need] - position[need], moq[need]).astype(np.int64)
            q = -(-q // pack[need]) * pack[need]
            took = np.maximum(1, np.round(lead[need] + lead_std[need] * rng.standard_normal(len(need)))).astype(np.int64)
            due_day[need], due_qty[need] = d + took, q
            po_parts.append((need, np.full(len(need), d), d + lead[need].astype(np.int64), d + took, q))
    out_at_end = int((selling & (stock.sum(axis=1) <= 0) & (listed_day < days)).sum())
    return {
        "sold": [np.concatenate(parts) for parts in zip(*sold_parts)],
        "snapshots": [np.concatenate(parts) for parts in zip(*snap_parts)],
        "purchase_orders": [np.concatenate(parts) for parts in zip(*po_parts)] if po_parts else None,
        "lost_lines": lost, "stockout_days": stockout_days, "listed_days": listed_days, "out_at_end": out_at_end,
    }


def _receive(stock: np.ndarray, which: np.ndarray, qty: np.ndarray, primary: np.ndarray) -> None:
    first = np.round(qty * primary[which]).astype(np.int64)
    stock[which, 0] += first
    stock[which, 1] += qty - first


def _allocate(cell: np.ndarray, qty: np.ndarray, stock: np.ndarray) -> np.ndarray:
    """Lines served in turn from the stock of their cell while it lasts; deducts what shipped."""
    if len(cell) == 0:
        return np.zeros(0, dtype=bool)
    order = np.argsort(cell, kind="stable")
    c, q = cell[order], qty[order]
    running = np.cumsum(q)
    starts = np.r_[True, c[1:] != c[:-1]]
    group = np.cumsum(starts) - 1
    within = running - (running - q)[starts][group]
    ok = within <= stock[c]
    np.subtract.at(stock, c[ok], q[ok])
    served = np.empty(len(cell), dtype=bool)
    served[order] = ok
    return served


# --- frames --------------------------------------------------------------------------------------


def _orders(rng, cat: dict, items: dict, sim: dict, days: int, day0: date):
    item, loc, day, qty = sim["sold"]
    pool = items["pool"][item]
    order = np.lexsort((rng.random(len(item)), day, pool))
    item, day, qty, pool = item[order], day[order], qty[order], pool[order]
    n_lines = len(item)
    boundary = np.r_[True, (day[1:] != day[:-1]) | (pool[1:] != pool[:-1])]
    starts = boundary | (rng.random(n_lines) < 1 / LINES_PER_ORDER)
    order_of = np.cumsum(starts) - 1
    first = np.nonzero(starts)[0]
    n_orders = len(first)
    o_pool, o_day = pool[first], day[first]

    # Created at: a diurnal hour and a second within it, sorted within each pool and day.
    hour = rng.choice(24, n_orders, p=DIURNAL / DIURNAL.sum())
    second = hour * 3600 + rng.integers(0, 3600, n_orders)
    group = np.cumsum(boundary[first]) - 1
    second = second[np.lexsort((second, group))]
    created = epoch(day0) + o_day * 86400 + second
    history_end = epoch(day0) + days * 86400 - 1

    # Money per line, in cents of the pool's currency.
    sku = items["sku"][item]
    list_price = np.where(day < cat["change_day"][sku], cat["old_price_cents"][sku], cat["price_cents"][sku])
    unit = np.where(pool == 1, np.round(list_price * 0.95), list_price).astype(np.int64)
    gross = unit * qty
    discount = np.where(rng.random(n_lines) < 0.12, np.round(gross * rng.uniform(0.05, 0.25, n_lines)), 0).astype(np.int64)
    line_total = gross - discount

    # Status: an order ships 4 hours to 3 days after it was placed, so the last days' orders are still
    # waiting (paid, some pending or on hold); ~1.5% are cancelled before shipping, ~5% of the shipped
    # ones get a refund (the first line, whole or one unit of it) days to weeks after shipping.
    u = rng.random(n_orders)
    fulfilled_at = created + rng.integers(4 * 3600, 3 * 86400, n_orders)
    shipped = fulfilled_at <= history_end
    status = np.where(shipped, "fulfilled", np.where(u < 0.88, "paid", np.where(u < 0.95, "pending", "on_hold")))
    status = status.astype(object)
    cancelled = rng.random(n_orders) < 0.015
    cancelled_at = np.where(cancelled, created + ((fulfilled_at - created) * rng.uniform(0.05, 0.9, n_orders)).astype(
        np.int64), 0)
    cancelled &= cancelled_at <= history_end
    status[cancelled] = "cancelled"
    shipped &= ~cancelled
    refund = shipped & (fulfilled_at + 86400 <= history_end) & (rng.random(n_orders) < 0.05)
    lines_in = np.diff(np.r_[first, n_lines])
    refunded_qty = np.zeros(n_lines, dtype=np.int64)
    refunded_line = first[refund]
    partial = (qty[refunded_line] > 1) & (rng.random(len(refunded_line)) < 0.3)
    refunded_qty[refunded_line] = np.where(partial, 1, qty[refunded_line])
    whole = refund.copy()
    whole[refund] = (lines_in[refund] == 1) & ~partial
    status[refund] = np.where(whole[refund], "refunded", "partially_refunded")
    refund_amount = np.round(line_total[refunded_line] * refunded_qty[refunded_line] / qty[refunded_line]).astype(np.int64)
    refund_at = np.minimum(fulfilled_at[refund] + rng.integers(86400, 25 * 86400, refund.sum()), history_end)
    closed_at = np.where(cancelled, cancelled_at, fulfilled_at + rng.integers(3600, 6 * 86400, n_orders))
    closed = (cancelled | shipped) & (closed_at <= history_end)

    subtotal = np.bincount(order_of, weights=line_total, minlength=n_orders).astype(np.int64)
    discounts = np.bincount(order_of, weights=discount, minlength=n_orders).astype(np.int64)
    items_count = np.bincount(order_of, weights=qty, minlength=n_orders).astype(np.int64)
    shipping = np.where(subtotal < 5000, 499, 0)
    tax = np.round(subtotal * np.where(o_pool == 1, TAX_RATE[1], TAX_RATE[0])).astype(np.int64)
    refunded_total = np.zeros(n_orders, dtype=np.int64)
    refunded_total[refund] = refund_amount
    updated = np.maximum.reduce([created + 60, np.where(shipped, fulfilled_at, 0), np.where(closed, closed_at, 0)])
    updated[refund] = np.maximum(updated[refund], refund_at)
    updated = np.minimum(updated, history_end)

    source = np.array(POOLS, dtype=object)[o_pool]
    number_in_pool = np.arange(n_orders) - np.searchsorted(o_pool, o_pool)  # orders are sorted by pool
    external_id = (5_000_000_000 + o_pool * 1_000_000_000 + number_in_pool).astype(str).astype(object)
    country = np.where(o_pool == 0, COUNTRIES[0][rng.integers(0, len(COUNTRIES[0]), n_orders)],
                       COUNTRIES[1][rng.integers(0, len(COUNTRIES[1]), n_orders)])
    orders = pd.DataFrame({
        "source": source, "external_id": external_id,
        "order_number": np.char.add("#", (1001 + number_in_pool).astype(str)).astype(object),
        "status": status, "source_status": status,
        "currency": np.array(CURRENCIES, dtype=object)[o_pool],
        "created_at": utc(created), "updated_at": utc(updated), "processed_at": utc(created),
        "cancelled_at": utc(cancelled_at).where(pd.Series(cancelled)),
        "closed_at": utc(closed_at).where(pd.Series(closed)),
        "fulfilled_at": utc(fulfilled_at).where(pd.Series(shipped)),
        "subtotal": money(subtotal), "discount_total": money(discounts), "shipping_total": money(shipping),
        "tax_total": money(tax), "total": money(subtotal + shipping + tax), "refunded_total": money(refunded_total),
        "customer_key": np.char.add("ck", rng.integers(0, max(n_orders // 3, 1), n_orders).astype(str)).astype(object),
        "payment_method": np.array(["card", "card", "card", "paypal", "shop_pay"], dtype=object)[
            rng.integers(0, 5, n_orders)],
        "billing_country": country, "shipping_country": country, "discount_codes": None,
        "line_count": lines_in, "item_count": items_count,
        "risk_level": np.where(rng.random(n_orders) < 0.03, "low", "none").astype(object), "risk_reasons": None,
        "is_deleted": False, "run_id": RUN_ID, "loaded_at": utc(np.minimum(updated + 300, history_end)),
    })
    lines = pd.DataFrame({
        "source": source[order_of], "external_order_id": external_id[order_of],
        "line_id": (20_000_000_000 + np.arange(n_lines)).astype(str).astype(object),
        "sku": cat["sku"][sku], "title": None, "quantity": qty,
        "unit_price": money(unit), "discount": money(discount), "line_total": money(line_total),
        "refunded_quantity": refunded_qty,
    })
    refunds = pd.DataFrame({
        "source": source[refund], "external_id": (7_000_000_000 + np.arange(refund.sum())).astype(str).astype(object),
        "external_order_id": external_id[refund], "created_at": utc(refund_at), "created_at_estimated": False,
        "amount": money(refund_amount), "currency": np.array(CURRENCIES, dtype=object)[o_pool[refund]],
        "reason": np.array(["damaged", "wrong size", "not as described", "changed mind", None], dtype=object)[
            rng.integers(0, 5, refund.sum())],
    })
    return orders, lines, refunds


def _products_frame(cat: dict, as_of: date, day0: date) -> pd.DataFrame:
    n = cat["n"]
    stamp = epoch(as_of) - 3600
    supplier = np.char.add("Supplier ", np.char.zfill((cat["supplier"] + 1).astype(str), 2)).astype(object)
    supplier[cat["supplier"] < 0] = None
    return pd.DataFrame({
        "sku": cat["sku"], "title": np.char.add("Product ", np.arange(1, n + 1).astype(str)).astype(object),
        "category": np.char.add("Category ", cat["category"].astype(str)).astype(object),
        "vendor": np.char.add("Vendor ", cat["vendor"].astype(str)).astype(object),
        "status": "active", "is_presale": cat["presale"],
        "unit_cost": pd.Series(money(cat["cost_cents"]), dtype="Int64").mask(cat["no_cost"]),
        "list_price": money(cat["price_cents"]), "currency": "USD",
        "supplier": supplier, "pack_size": cat["pack"], "moq": cat["moq"],
        "lead_time_days": pd.Series(cat["lead"]).astype("Int64"), "lead_time_std_days": cat["lead_std"],
        "listed_at": utc(epoch(day0) + cat["listed_day"] * 86400 + 9 * 3600),
        "source": "shop-us", "source_updated_at": utc(np.full(n, stamp)), "run_id": RUN_ID,
        "updated_at": utc(np.full(n, stamp)),
    })


def _snapshots_frame(cat: dict, items: dict, sim: dict, day0: date) -> pd.DataFrame:
    flat, day, available = sim["snapshots"]
    item, loc = flat // 2, flat % 2
    pool = items["pool"][item]
    locations = np.array(LOCATIONS, dtype=object)
    taken = epoch(day0) + day * 86400 + 23 * 3600 + 50 * 60
    return pd.DataFrame({
        "source": np.array(POOLS, dtype=object)[pool], "location_id": locations[pool, loc],
        "sku": cat["sku"][items["sku"][item]], "snapshot_date": day_text(day0, day),
        "available": available, "run_id": RUN_ID, "taken_at": utc(taken),
    })


def _prices_frame(cat: dict, day0: date) -> pd.DataFrame:
    """Sparse like the catalogue sync writes them: a row on the first day (or the listing day),
    then one on the day the price changed."""
    changed = np.nonzero(cat["repriced"])[0]
    sku = np.r_[np.arange(cat["n"]), changed]
    day = np.r_[np.maximum(cat["listed_day"], 0), cat["change_day"][changed]]
    later = np.r_[np.zeros(cat["n"], dtype=bool), np.ones(len(changed), dtype=bool)]
    price = np.where(later, cat["price_cents"][sku], cat["old_price_cents"][sku])
    cost = np.where(later, cat["cost_cents"][sku], cat["old_cost_cents"][sku])
    return pd.DataFrame({
        "sku": cat["sku"][sku], "snapshot_date": day_text(day0, day),
        "list_price": money(price), "unit_cost": pd.Series(money(cost), dtype="Int64").mask(cat["no_cost"][sku]),
        "currency": "USD", "run_id": RUN_ID, "taken_at": utc(epoch(day0) + day * 86400 + 23 * 3600 + 55 * 60),
    })


def _purchase_orders_frame(rng, cat: dict, items: dict, sim: dict, days: int, day0: date, as_of: date) -> pd.DataFrame:
    if sim["purchase_orders"] is None:
        return pd.DataFrame()
    item, ordered, expected, arrival, qty = sim["purchase_orders"]
    received = arrival < days
    expected = np.where(received, expected, np.maximum(expected, days + 1))  # open: expected after the date
    sku = items["sku"][item]
    pool = items["pool"][item]
    supplier_no = cat["supplier"][sku] + 1
    po_number = np.char.add(np.char.add(np.char.add(np.where(pool == 0, "PO-US-", "PO-EU-"),
                                                    np.char.zfill(supplier_no.astype(str), 2)), "-"),
                            np.char.zfill(ordered.astype(str), 4)).astype(object)
    supplier = np.char.add("Supplier ", np.char.zfill(supplier_no.astype(str), 2)).astype(object)
    supplier[supplier_no == 0] = None
    received_on = day_text(day0, np.where(received, arrival, 0))
    received_on[~received] = None
    updated = epoch(day0) + np.where(received, arrival, ordered) * 86400 + 10 * 3600
    return pd.DataFrame({
        "po_number": po_number, "sku": cat["sku"][sku], "stock_pool": np.array(POOLS, dtype=object)[pool],
        "supplier": supplier, "quantity": qty, "received_quantity": np.where(received, qty, 0),
        "ordered_on": day_text(day0, ordered), "expected_on": day_text(day0, expected), "received_on": received_on,
        "status": np.where(received, "received", "open").astype(object),
        "updated_at": utc(np.minimum(updated, epoch(as_of) - 60)),
    })
