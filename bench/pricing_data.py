"""The synthetic warehouse of the pricing benchmark: deterministic (seeded numpy), vectorised.

`generate(skus, competitors, seed, as_of)` returns one frame per warehouse table, shaped the way
the pipeline writes them (money as integer ten-thousandths, UTC timestamps, dates as `YYYY-MM-DD`),
for a price-monitoring run on `as_of` whose crawl has already happened (observations stored):

- products: list price (log-normal costs, a margin of 30–220%, prices ending in 9 cents), unit
  cost (~2% unknown), currency USD; ~1% listed today (no price the day before).
- price_snapshots, sparse like the catalogue sync writes them: a row on the first day (90 days
  back, or the listing day), ~20% of SKUs one change during the last 60 days, ~2% a change today
  (a third of those by more than 15%: our own moves to flag).
- pricing_rules, one row per SKU like the team's sheet: ~3% `traffic`, ~15% a min margin of their
  own (0.10–0.30; half the traffic SKUs 0.05), ~10% a member price 6–15% below the list price
  (~15% of those only 1–4% below: they break the member gap).
- competitor_products: each competitor (the sandbox's five kinds of site, cycled: JSON-LD,
  JSON-LD with exact cents, microdata, microdata with a flaky backend, plain HTML with a CSS
  selector) sells its own 30–70% of the SKUs, one URL each.
- competitor_prices, two days (yesterday and today): prices around our list price (the site's
  level × a per-page factor, rounded to the site's ending); day over day most pages stand still,
  some move a few per cent, ~0.8% move by 20–40% (abnormal moves); ~2% of pages in EUR; statuses
  mostly `ok`, ~5% `out_of_stock` (a price kept where the site shows one), some `missing_price`,
  `parse_error`, `http_error` (3% more on the flaky kind), `blocked` (12% of the JSON-LD kind's
  pages, under a robots.txt-disallowed prefix), 3 permanently broken pages per site; ~1% of pages
  not crawled today; the last plain-HTML site changed its markup today (its selector matches
  nothing: mostly `missing_price`, a site the monitor must call broken).
- competitor_health: yesterday's rows, as the run the day before wrote them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np
import pandas as pd

from bench.synthetic import day_text, epoch, money, utc

RUN_ID = "bench-pricing"
SANDBOX_SITES = ("kitchenhaus", "megamart", "northfield-supply", "prixmalin", "werkstatt-direkt")
EUR_RATE = 1.08              # USD per EUR: the flow's SHOPOPS_PRICING_FX_RATES in the benchmark
HISTORY_DAYS = 90
# One profile per kind of site, after the sandbox's five (README "Competitor sites").
PROFILES = (
    dict(method="json-ld", ending=99, level=0.97, change=0.05, blocked=0.12, flaky=0.0, hide_oos=False,
         selector=None, pattern="/products/{slug}-{id}", prefix="/outlet"),
    dict(method="json-ld", ending=None, level=0.93, change=0.12, blocked=0.0, flaky=0.0, hide_oos=True,
         selector=None, pattern="/ip/{slug}/{id}", prefix=""),
    dict(method="microdata", ending=99, level=1.06, change=0.03, blocked=0.0, flaky=0.0, hide_oos=False,
         selector=None, pattern="/p/{id}.html", prefix=""),
    dict(method="microdata", ending=90, level=0.95, change=0.05, blocked=0.0, flaky=0.03, hide_oos=False,
         selector=None, pattern="/article/{id}-{slug}", prefix=""),
    dict(method="css", ending=95, level=1.02, change=0.05, blocked=0.0, flaky=0.0, hide_oos=True,
         selector="span.price-now", pattern="/shop/{category}/{slug}.html", prefix=""),
)
ABNORMAL_SHARE = 0.008
EUR_SHARE = 0.02
NOT_CRAWLED_TODAY = 0.01
DETAIL = {
    "ok": "",
    "out_of_stock": "Out of stock (https://schema.org/OutOfStock)",
    "missing_price": "No price on the page: the product has no offer with a price",
    "parse_error": "The price text '10-20' is a range, not one amount",
    "http_error": "HTTP 503 Service Unavailable",
}
STATUSES = ("ok", "out_of_stock", "missing_price", "parse_error", "blocked", "http_error")


def competitor_names(count: int) -> list[str]:
    """The sandbox's five names, cycled with a suffix: kitchenhaus … werkstatt-direkt, kitchenhaus-2 …"""
    return [SANDBOX_SITES[i % 5] + ("" if i < 5 else f"-{i // 5 + 1}") for i in range(count)]


@dataclass
class Dataset:
    as_of: date
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    facts: dict[str, str] = field(default_factory=dict)


def generate(skus: int, competitors: list[str], seed: int, as_of: date) -> Dataset:
    rng = np.random.default_rng(seed)
    yesterday = as_of - timedelta(days=1)
    cat = _catalogue(rng, skus)
    data = Dataset(as_of=as_of)
    sku = np.char.add("SKU-", np.char.zfill(np.arange(1, skus + 1).astype(str), 6)).astype(object)
    cat["code"] = sku
    products = _products_frame(cat, as_of)
    snapshots = _snapshots_frame(cat, as_of)
    rules = _rules_frame(rng, cat, as_of)
    catalogue_parts, day_parts, facts = [], {yesterday: [], as_of: []}, []
    html_sites = [i for i in range(len(competitors)) if i % 5 == 4]
    breaks_today = html_sites[-1] if html_sites else None
    for rank, name in enumerate(competitors):
        listing, days, fact = _competitor(rng, cat, rank, name, as_of, broken_today=rank == breaks_today)
        catalogue_parts.append(listing)
        for day, frame in days.items():
            day_parts[day].append(frame)
        facts.append(fact)
    catalogue = pd.concat(catalogue_parts, ignore_index=True)
    observed = {day: pd.concat(parts, ignore_index=True) for day, parts in day_parts.items()}
    prices = pd.concat([observed[yesterday], observed[as_of]], ignore_index=True)
    data.tables = {
        "products": products,
        "price_snapshots": snapshots,
        "pricing_rules": rules,
        "competitor_products": catalogue,
        "competitor_prices": prices,
        "competitor_health": _health_frame(observed[yesterday], competitors, yesterday),
    }
    today = observed[as_of]
    both = today.merge(observed[yesterday], on=["sku", "competitor"], suffixes=("", "_y"))
    ok = (both["status"] == "ok") & (both["status_y"] == "ok")
    change = (both["price"].astype(float) / both["price_y"].astype(float) - 1)[ok]
    status_share = today["status"].value_counts(normalize=True)
    data.facts = {
        "competitors": f"{len(competitors)}: " + ", ".join(f"{n} {s:.0%}" for n, s in facts),
        "catalogue pages (SKU × competitor)": f"{len(catalogue):,} ({len(catalogue) / skus:.1f} per SKU; "
                                              f"{catalogue['sku'].nunique() / skus:.1%} of SKUs have one)",
        "today's statuses": ", ".join(f"{s} {status_share.get(s, 0):.1%}" for s in STATUSES),
        "pages ok both days that moved": f"{(change.abs() > 1e-9).mean():.1%}, {(change.abs() > 0.15).sum():,} by over 15%",
        "observations in EUR": f"{(prices['currency'] == 'EUR').mean():.1%} (rate {EUR_RATE} USD per EUR)",
        "broken today (markup change)": competitors[breaks_today] if breaks_today is not None else "none",
        "our price changes today": f"{int(cat['changed_today'].sum()):,} SKUs, "
                                   f"{int((cat['changed_today'] & cat['big_move']).sum()):,} by over 15%",
    }
    return data


# --- our catalogue -------------------------------------------------------------------------------

def _catalogue(rng: np.random.Generator, n: int) -> dict:
    cost = np.round(rng.lognormal(np.log(800), 0.9, n)).astype(np.int64) + 50           # cents
    price = (np.round(cost * rng.uniform(1.3, 3.2, n) / 10) * 10 - 1).astype(np.int64)   # today's list price
    no_cost = rng.random(n) < 0.02
    listed_day = -rng.integers(1, 400, n)                   # days before as_of
    listed_day[rng.random(n) < 0.01] = 0                    # listed today
    first_day = np.maximum(listed_day, -HISTORY_DAYS)
    # Today's change (2%, a third of them by over 15%), then one earlier change (20%) in the last 60 days.
    changed_today = (rng.random(n) < 0.02) & (listed_day < 0)
    big_move = rng.random(n) < 1 / 3
    sign = np.where(rng.random(n) < 0.5, -1.0, 1.0)
    factor = np.where(big_move, 1 + sign * rng.uniform(0.16, 0.30, n), 1 + sign * rng.uniform(0.02, 0.10, n))
    yesterday_price = np.where(changed_today, _ending9(price / factor), price)
    earlier = (rng.random(n) < 0.20) & (first_day < -2)
    earlier_day = np.where(earlier, -rng.integers(1, 61, n), 0)
    earlier_day = np.where(earlier, np.maximum(earlier_day, first_day + 1), 0)
    first_price = np.where(earlier, _ending9(yesterday_price * rng.uniform(0.85, 1.15, n)), yesterday_price)
    first_cost = np.where(earlier, np.round(cost * rng.uniform(0.95, 1.05, n)).astype(np.int64), cost)
    kind = rng.integers(1, 41, n)
    return {"n": n, "cost": cost, "price": price, "no_cost": no_cost, "listed_day": listed_day,
            "first_day": first_day, "changed_today": changed_today, "big_move": big_move,
            "yesterday_price": yesterday_price, "earlier": earlier, "earlier_day": earlier_day,
            "first_price": first_price, "first_cost": first_cost, "category": kind}


def _ending9(cents) -> np.ndarray:
    return np.maximum(np.round(np.asarray(cents, dtype=float) / 10) * 10 - 1, 9).astype(np.int64)


def _products_frame(cat: dict, as_of: date) -> pd.DataFrame:
    n = cat["n"]
    stamp = utc(np.full(n, epoch(as_of) - 3600))
    return pd.DataFrame({
        "sku": cat["code"], "title": np.char.add("Product ", np.arange(1, n + 1).astype(str)).astype(object),
        "category": np.char.add("Category ", cat["category"].astype(str)).astype(object),
        "vendor": None, "status": "active", "is_presale": False,
        "unit_cost": pd.Series(money(cat["cost"]), dtype="Int64").mask(cat["no_cost"]),
        "list_price": money(cat["price"]), "currency": "USD", "pack_size": 1, "moq": 1,
        "listed_at": utc(epoch(as_of) + cat["listed_day"] * 86400 + 9 * 3600),
        "source": "shop-us", "source_updated_at": stamp, "run_id": RUN_ID, "updated_at": stamp,
    })


def _snapshots_frame(cat: dict, as_of: date) -> pd.DataFrame:
    n = cat["n"]
    everyone = np.arange(n)
    earlier, today = np.nonzero(cat["earlier"])[0], np.nonzero(cat["changed_today"])[0]
    sku = np.r_[everyone, earlier, today]
    day = np.r_[cat["first_day"], cat["earlier_day"][earlier], np.zeros(len(today), dtype=np.int64)]
    price = np.r_[cat["first_price"], cat["yesterday_price"][earlier], cat["price"][today]]
    cost = np.r_[cat["first_cost"], cat["cost"][earlier], cat["cost"][today]]
    return pd.DataFrame({
        "sku": cat["code"][sku], "snapshot_date": day_text(as_of, day), "list_price": money(price),
        "unit_cost": pd.Series(money(cost), dtype="Int64").mask(cat["no_cost"][sku]), "currency": "USD",
        "run_id": RUN_ID, "taken_at": utc(epoch(as_of) + day * 86400 + 5 * 3600),
    })


def _rules_frame(rng: np.random.Generator, cat: dict, as_of: date) -> pd.DataFrame:
    n = cat["n"]
    traffic = rng.random(n) < 0.03
    margin = np.where(rng.random(n) < 0.15, np.round(rng.uniform(0.10, 0.30, n), 2), np.nan)
    margin = np.where(traffic & (rng.random(n) < 0.5), 0.05, margin)
    member = rng.random(n) < 0.10
    too_close = rng.random(n) < 0.15
    below = np.where(too_close, rng.uniform(0.01, 0.04, n), rng.uniform(0.06, 0.15, n))
    member_cents = _ending9(cat["price"] * (1 - below))
    return pd.DataFrame({
        "sku": cat["code"], "role": np.where(traffic, "traffic", "regular").astype(object), "min_margin": margin,
        "member_price": pd.Series(money(member_cents), dtype="Int64").mask(~member),
        "updated_at": utc(np.full(n, epoch(as_of) - 20 * 86400)),
    })


# --- the competitors -----------------------------------------------------------------------------

def _competitor(rng: np.random.Generator, cat: dict, rank: int, name: str, as_of: date, broken_today: bool):
    profile = PROFILES[rank % 5]
    n = cat["n"]
    share = rng.uniform(0.30, 0.70)
    idx = np.nonzero(rng.random(n) < share)[0]
    m = len(idx)
    page_id = (rng.choice(900_000, m, replace=False) + 100_000).astype(str)
    blocked = rng.random(m) < profile["blocked"]
    url = _urls(name, profile, idx, page_id, cat["category"][idx], blocked)
    listing = pd.DataFrame({
        "sku": cat["code"][idx], "competitor": name, "url": url, "price_selector": profile["selector"],
        "active": True, "updated_at": utc(np.full(m, epoch(as_of) - 30 * 86400)),
    })

    # Prices in cents, around our price of yesterday (competitors do not follow us within a day).
    page = np.clip(rng.lognormal(0.0, 0.05, m), 0.85, 1.2)
    base = cat["yesterday_price"][idx] * profile["level"] * page
    moved = rng.random(m) < profile["change"]
    abnormal = rng.random(m) < ABNORMAL_SHARE
    step = np.where(moved, np.exp(rng.normal(0, 0.035, m)), 1.0)
    jump = np.where(abnormal, 1 + np.where(rng.random(m) < 0.5, -1, 1) * rng.uniform(0.20, 0.40, m), 1.0)
    eur = rng.random(m) < EUR_SHARE
    prices = {}
    for day, value in ((-1, base), (0, base * step * jump)):
        value = np.where(eur, value / EUR_RATE, value)
        prices[day] = _charm(value, profile["ending"])

    # Statuses: blocked and broken pages stay so; stock-outs mostly last; errors are per day.
    broken = np.zeros(m, dtype=np.int8)  # 1 no price, 2 parse error
    allowed = np.nonzero(~blocked)[0]
    if len(allowed) >= 3:
        broken[rng.choice(allowed, 3, replace=False)] = [1, 1, 2]
    oos_y = rng.random(m) < 0.05
    oos = {-1: oos_y, 0: np.where(oos_y, rng.random(m) < 0.85, rng.random(m) < 0.01)}
    crawled_today = rng.random(m) >= NOT_CRAWLED_TODAY
    yesterday, today = as_of - timedelta(days=1), as_of
    frames = {}
    for day, when in ((-1, yesterday), (0, today)):
        u = rng.random(m)
        http = u < 0.004 + profile["flaky"]
        missing = (u >= 0.004 + profile["flaky"]) & (u < 0.008 + profile["flaky"])
        parse = (u >= 0.008 + profile["flaky"]) & (u < 0.010 + profile["flaky"])
        status = np.select([blocked, http, broken == 1, broken == 2, parse, missing, oos[day]],
                           ["blocked", "http_error", "missing_price", "parse_error", "parse_error", "missing_price",
                            "out_of_stock"], "ok").astype(object)
        detail = pd.Series(status).map(DETAIL).to_numpy(dtype=object)
        detail[status == "blocked"] = f"robots.txt of https://www.{name}.example disallows {profile['prefix']}/ " \
                                      "for shopops-price-monitor"
        if day == 0 and broken_today:
            lost = (status == "ok") | (status == "out_of_stock") | ((status == "parse_error") & (broken == 0))
            lost &= rng.random(m) < 0.97
            status[lost] = "missing_price"
            detail[lost] = f"the CSS selector '{profile['selector']}' matched nothing"
        priced = (status == "ok") | ((status == "out_of_stock") & (not profile["hide_oos"]))
        method = np.where(np.isin(status, ["ok", "out_of_stock", "parse_error"]), profile["method"], "none")
        keep = crawled_today if day == 0 else np.ones(m, dtype=bool)
        seconds = epoch(when) + 2 * 3600 + rank * 60 + np.arange(m) * (20 * 3600) // max(m, 1)
        frame = pd.DataFrame({
            "sku": cat["code"][idx], "competitor": name, "observed_on": when.isoformat(),
            "status": status, "price": pd.Series(money(prices[day]), dtype="Int64").mask(~priced),
            "currency": pd.Series(np.where(eur, "EUR", "USD"), dtype=object).mask(~priced),
            "method": method.astype(object), "detail": detail, "url": url, "observed_at": utc(seconds),
            "run_id": RUN_ID,
        })
        frames[when] = frame[keep].reset_index(drop=True)
    return listing, frames, (name, share)


_PLACEHOLDER = re.compile(r"\{(\w+)\}")


def _urls(name: str, profile: dict, idx: np.ndarray, page_id: np.ndarray, category: np.ndarray,
          blocked: np.ndarray) -> np.ndarray:
    fields = {"slug": np.char.add("product-", (idx + 1).astype(str)), "id": page_id,
              "category": np.char.add("category-", category.astype(str))}
    out = np.full(len(idx), f"https://www.{name}.example")
    out = np.where(blocked, np.char.add(out, profile["prefix"]), out)
    for i, part in enumerate(_PLACEHOLDER.split(profile["pattern"])):
        out = np.char.add(out, fields[part] if i % 2 else part)
    return out.astype(object)


def _charm(value: np.ndarray, ending: int | None) -> np.ndarray:
    """Round up to the site's ending (x.99, x.95 …) or to the cent; at least one unit."""
    cents = np.asarray(value, dtype=float)
    if ending is None:
        return np.maximum(np.round(cents), 1).astype(np.int64)
    return (np.maximum(np.ceil((cents - ending) / 100), 0) * 100 + ending).astype(np.int64)


def _health_frame(observed: pd.DataFrame, competitors: list[str], day: date) -> pd.DataFrame:
    counts = pd.crosstab(observed["competitor"], observed["status"]).reindex(index=competitors, columns=STATUSES,
                                                                              fill_value=0)
    pages = counts.sum(axis=1)
    eligible = pages - counts["blocked"]
    rate = (counts["ok"] + counts["out_of_stock"]) / eligible.where(eligible > 0)
    status = np.select([rate.isna(), rate < 0.5, rate < 0.9], ["not crawled", "broken", "degraded"], "healthy")
    return pd.DataFrame({
        "as_of_date": day.isoformat(), "competitor": competitors, "pages": pages.to_numpy(),
        **{s: counts[s].to_numpy() for s in STATUSES if s != "ok"}, "ok": counts["ok"].to_numpy(),
        "success_rate": rate.to_numpy(), "previous_success_rate": np.nan, "last_success_on": day.isoformat(),
        "status": status.astype(object), "detail": "", "run_id": RUN_ID,
        "computed_at": utc(np.full(len(competitors), epoch(day) + 6 * 3600)),
    })
