"""Crawl the competitor catalogue into `competitor_prices`: one observation per SKU, competitor
and day, whatever happened (a price, or the status that says why there is none).

Each URL is fetched once (several SKUs may share a page); pages come back as they are ready and
are stored in batches, so memory follows the batch, not the catalogue. An unchanged page (304 to
a conditional request) repeats the previous observation for the new day (the crawl's log
counts them). An observation is
dated by the competitor's clock (its HTTP Date header). Re-crawling a day overwrites a changed
observation and leaves an unchanged one as it was, so a re-run writes nothing new.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

import pandas as pd
from sqlalchemy import Engine, and_, func, select

from connectors.crawler import Crawler, Fetched, Target
from shopops.logs import get_logger
from tasks.pricing.extract import extract_offer
from warehouse.engine import write_transaction
from warehouse.io import read_frame, upsert_frame
from warehouse.models import CompetitorPrice, CompetitorProduct, CrawlState

BATCH = 2_000
VALUE_COLUMNS = ["status", "price", "currency", "method", "detail", "url"]


@dataclass
class CrawlReport:
    pages: int = 0
    unchanged_pages: int = 0     # answered 304 Not Modified to a conditional request
    observations: int = 0
    statuses: Counter = field(default_factory=Counter)
    seconds: float = 0.0


def crawl_catalogue(engine: Engine, crawler: Crawler, run_id: str, progress=None) -> CrawlReport:
    log = get_logger("shopops.pricing")
    catalogue, previous = _catalogue(engine)
    report = CrawlReport()
    if catalogue.empty:
        log.warning("price monitoring: the competitor catalogue is empty; import it with "
                    "`shopops pricing import-catalogue`")
        return report
    by_url = catalogue.groupby("url", sort=False)
    first = by_url[["etag", "last_modified"]].first()  # pandas gives NaN for a missing value
    targets = [Target(url, etag if isinstance(etag, str) else None, modified if isinstance(modified, str) else None)
               for url, etag, modified in zip(first.index, first["etag"], first["last_modified"])]
    began = datetime.now()
    rows, states = [], []
    for fetched in crawler.crawl(targets):
        report.pages += 1
        report.unchanged_pages += fetched.status == "not_modified"
        for entry in by_url.get_group(fetched.url).itertuples():  # the few SKUs on one page
            row = _observation(entry, fetched, previous.get((entry.sku, entry.competitor)), run_id)
            rows.append(row)
            report.statuses[row["status"]] += 1
        if fetched.status in ("fetched", "not_modified") and (fetched.etag or fetched.last_modified):
            states.append({"url": fetched.url, "etag": fetched.etag, "last_modified": fetched.last_modified,
                           "fetched_at": pd.Timestamp(fetched.fetched_at)})
        if len(rows) >= BATCH:
            report.observations += _store(engine, rows, states)
            rows, states = [], []
            if progress:
                progress(report.pages / len(targets))
    report.observations += _store(engine, rows, states)
    report.seconds = (datetime.now() - began).total_seconds()
    log.info("price monitoring: %d pages crawled (%d unchanged since the last crawl), %d observations: %s",
             report.pages, report.unchanged_pages, report.observations,
             ", ".join(f"{count} {status}" for status, count in report.statuses.most_common()))
    return report


def _catalogue(engine: Engine) -> tuple[pd.DataFrame, dict]:
    """The active catalogue with each page's conditional-request state, and each pair's latest
    observation (what an unchanged page repeats). A page is asked conditionally only when every
    SKU on it has an observation to repeat."""
    product, state, obs = CompetitorProduct, CrawlState, CompetitorPrice
    with engine.connect() as conn:
        catalogue = read_frame(conn, select(
            product.sku, product.competitor, product.url, product.price_selector, state.etag, state.last_modified,
        ).outerjoin(state, state.url == product.url).where(product.active.is_(True)))
        latest = select(obs.sku, obs.competitor, func.max(obs.observed_on).label("day")).group_by(
            obs.sku, obs.competitor).subquery()
        last = read_frame(conn, select(obs.sku, obs.competitor, obs.observed_on, obs.status, obs.price, obs.currency,
                                       obs.method, obs.detail).join(latest, and_(
            latest.c.sku == obs.sku, latest.c.competitor == obs.competitor, latest.c.day == obs.observed_on)))
    previous = {(r.sku, r.competitor): r for r in last.itertuples()}  # once per crawl, for 304s
    pairs = pd.MultiIndex.from_frame(catalogue[["sku", "competitor"]])
    known = pd.Series(pairs.isin(pd.MultiIndex.from_frame(last[["sku", "competitor"]])), index=catalogue.index)
    complete = known.groupby(catalogue["url"]).transform("all").astype(bool)
    catalogue.loc[~complete, ["etag", "last_modified"]] = None
    return catalogue, previous


def _observation(entry, fetched: Fetched, previous, run_id: str) -> dict:
    row = {"sku": entry.sku, "competitor": entry.competitor, "observed_on": fetched.fetched_at.date(),
           "url": fetched.url, "observed_at": pd.Timestamp(fetched.fetched_at), "run_id": run_id,
           "price": None, "currency": None, "method": "none"}
    if fetched.status == "fetched":
        offer = extract_offer(fetched.body or b"", selector=entry.price_selector, sku=entry.sku)
        priced = offer.status in ("ok", "out_of_stock") and offer.price is not None
        row.update(status=offer.status, price=offer.price if priced else None, currency=offer.currency,
                   method=offer.method, detail=offer.detail + (" (the page was cut at the size limit)"
                                                               if fetched.truncated else ""))
    elif fetched.status == "not_modified" and previous is not None:
        # The same page: what was read from it still stands (so a re-crawl changes no row).
        row.update(status=previous.status, price=previous.price, currency=previous.currency, method=previous.method,
                   detail=previous.detail)
    else:
        row.update(status="http_error" if fetched.status == "not_modified" else fetched.status, detail=fetched.detail)
    return row


def _store(engine: Engine, rows: list[dict], states: list[dict]) -> int:
    if not rows:
        return 0
    frame = pd.DataFrame(rows)
    with write_transaction(engine) as conn:
        upsert_frame(conn, "competitor_prices", frame, ["sku", "competitor", "observed_on"],
                     VALUE_COLUMNS + ["observed_at", "run_id"], only_if_changed=VALUE_COLUMNS)
        if states:
            upsert_frame(conn, "crawl_state", pd.DataFrame(states).drop_duplicates("url", keep="last"), ["url"],
                         ["etag", "last_modified", "fetched_at"])
    return len(frame)
