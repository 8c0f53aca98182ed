"""Pricing benchmark: the price-monitoring computation over a synthetic warehouse in its own
process, then the crawler's throughput against the sandbox's competitor sites.

    python -m bench.pricing --skus 50000 --competitors 10 [--warehouse postgres|sqlite]
                            [--crawl-seconds 30] [--crawl-interval 1.0 0.05]

1. Computation (the main figure). Builds a fresh warehouse (PostgreSQL database
   `shopops_bench_pricing` on the server of SHOPOPS_BENCH_POSTGRES_URL, or a SQLite file in a
   temporary folder) after `upgrade()`: `--skus` products, their price snapshots, pricing rules,
   a competitor catalogue (each of `--competitors` sites sells its own 30–70% of the SKUs) and two
   days of observations in competitor_prices (yesterday and today) with yesterday's
   competitor_health, all from seeded numpy (bench/pricing_data.py says what they look like), loaded
   with `insert_frame` in one transaction per table; prints the rows per table and how long set-up
   took — not part of the figure. A separate process, started before the set-up (while this one is
   still small: Linux hands a process's peak RSS on to the program it execs) and released after the
   load, starts the Prefect API, then times `price_monitoring(as_of=<today>, crawl=False)` and prints
   wall seconds (the flow call to its return), CPU seconds, peak RSS above its baseline (after
   imports and the API start), SKUs priced, alerts, and a table "stage · seconds · share · peak RSS
   rise" (reading observations, reading products / prices / rules, market, repricing, alerts and
   health, the flow's own pandas, storing, artifacts, Prefect and the rest). The stages come from
   wrapping, in that process only, the project functions the flow calls, found from their code (so
   a refactored flow is still covered): a function's own time, its timed callees excluded, counts
   toward its stage; helpers such as `read_frame` toward their caller's. A list by function follows.

2. Crawl throughput. A sandbox (`SandboxConfig(skus=--sandbox-skus, days=--sandbox-days)`, no
   stores) serves `--competitors` competitor sites — the five of `demo_competitors()`, cycled with
   distinct names — from a process of its own (so its page rendering does not share our GIL). Its
   competitor catalogue is imported with the team's importer into a fresh warehouse of the same
   kind (`shopops_bench_pricing_crawl`, or a second SQLite file), and the real observe step,
   `tasks.pricing.observe.crawl_catalogue` (crawler, extraction, storing), crawls it for
   `--crawl-seconds` per `--crawl-interval`: the default politeness first (`CrawlPolicy()`: 1 s
   between requests to one site, robots.txt Crawl-delay honoured, 8 sites at once; 127.0.0.1
   allowed), then 0.05 s (impolite: only against our own sandbox) to show what the crawler itself
   can do. The second crawl starts from the crawl state the first left, so the pages crawled
   before are asked conditionally (304s where a site has validators). Printed: pages/s overall
   and per site, results and HTTP statuses, 304s, retries and 429s (client and server side), the
   smallest gap between two requests a site saw, and the time extraction took per page (median,
   p95, µs).

    python -m bench.pricing --measure --url URL --as-of DATE [--cprofile FILE]

runs the computation's process alone against an existing warehouse (the first command prints the
exact line), e.g. under `py-spy record -o flow.svg -- python -m bench.pricing --measure …`. A
re-run for the same date replaces that date's rows, as the flow does. A benchmark prints figures;
it asserts no timings.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from bench.flow_profile import (
    OTHER, FlowRun, StageClock, StageTable, code_fingerprint, cpu_seconds, fresh_database, measure_flow,
    print_process_figures, print_stages, released, run_flow_process, set_up_warehouse, warehouse_url,
)
from bench.helper_process import HelperProcess, say

BENCH_DB = "shopops_bench_pricing"
CRAWL_DB = "shopops_bench_pricing_crawl"
FLOW_FILES = ("flows/price_monitoring.py", "tasks/pricing", "tasks/catalogue_on.py", "warehouse/io.py")
MARK = "BENCH-PRICING "          # prefix of the sandbox process's JSON lines on stdout


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--skus", type=int, default=50_000)
    parser.add_argument("--competitors", type=int, default=10)
    parser.add_argument("--warehouse", choices=["sqlite", "postgres"], default="postgres")
    parser.add_argument("--seed", type=int, default=20261122)
    parser.add_argument("--crawl-seconds", type=float, default=30.0,
                        help="how long each crawl runs (0: no crawl)")
    parser.add_argument("--crawl-interval", type=float, nargs="+", default=[1.0, 0.05],
                        help="seconds between requests to one site, one crawl each (default: 1.0, the configured "
                             "politeness, then 0.05)")
    parser.add_argument("--sandbox-skus", type=int, default=2_000)
    parser.add_argument("--sandbox-days", type=int, default=30)
    parser.add_argument("--crawl-only", action="store_true", help="skip the computation")
    parser.add_argument("--measure", action="store_true", help="only run the flow against --url (the child process)")
    parser.add_argument("--url", help="with --measure: the warehouse URL")
    parser.add_argument("--as-of", type=date.fromisoformat, help="with --measure: the business date")
    parser.add_argument("--data-dir", help="with --measure: SHOPOPS_DATA_DIR")
    parser.add_argument("--cprofile", help="with --measure: write a cProfile of the flow call here and print its top")
    parser.add_argument("--wait", action="store_true", help=argparse.SUPPRESS)  # for "go" on stdin first
    parser.add_argument("--serve-sandbox", action="store_true", help=argparse.SUPPRESS)  # the sandbox's process
    args = parser.parse_args()
    if args.serve_sandbox:
        return _serve_sandbox(args)
    if args.measure:
        if not (args.url and args.as_of):
            parser.error("--measure needs --url and --as-of")
        return _measure(args)
    code = 0 if args.crawl_only else _build_and_measure(args)
    if args.crawl_seconds > 0:
        code = _crawl_benchmark(args) or code
    return code


# --- the parent: data in, then the child ----------------------------------------------------------

def _fx_rates() -> str:
    from bench.pricing_data import EUR_RATE

    return json.dumps({"EUR": EUR_RATE})


def _build_and_measure(args) -> int:
    workdir = Path(tempfile.mkdtemp(prefix="shopops-bench-pricing-"))
    url = warehouse_url(args.warehouse, workdir / "warehouse.db", BENCH_DB)
    os.environ.update({"SHOPOPS_DATA_DIR": str(workdir), "SHOPOPS_WAREHOUSE_URL": url,
                       "SHOPOPS_PRICING_FX_RATES": _fx_rates()})
    as_of = datetime.now(timezone.utc).date()
    command = [sys.executable, "-m", "bench.pricing", "--measure", "--url", url, "--as-of", as_of.isoformat(),
               "--warehouse", args.warehouse, "--data-dir", str(workdir)]
    return run_flow_process(command, lambda: _set_up(args, url, as_of))


def _set_up(args, url: str, as_of: date) -> None:
    from bench.pricing_data import competitor_names, generate

    print(f"shopops pricing benchmark — set-up: {args.skus:,} SKUs, {args.competitors} competitors, observations "
          f"of {as_of - timedelta(days=1)} and {as_of}, seed {args.seed}, {args.warehouse}")
    set_up_warehouse(args.warehouse, url, BENCH_DB,
                     lambda: generate(args.skus, competitor_names(args.competitors), args.seed, as_of), facts_width=38)


# --- the child: the flow, timed ----------------------------------------------------------------------

COMPUTE_OWN = "the flow's own pandas and small queries (_compute)"
READ_PRODUCTS = "reading products, prices, rules"
_STAGES = [  # (stage, substrings of a function's name), first match wins
    ("storing (replace_rows_of_day, commit)", ("replace_rows", "write_transaction", "insert_frame", "upsert")),
    ("artifacts and summary", ("artifact", "_summary")),
    ("reading observations", ("observation",)),
    (READ_PRODUCTS, ("products_on", "rules", "catalogue")),
    ("market", ("market", "currency")),
    ("repricing", ("recommend", "reason", "member", "cents")),
    ("alerts and health", ("moves", "unreadable", "health", "our_prices", "_pct", "alert")),
    ("flow set-up (settings, engine, schema check)", ("check_schema", "get_engine", "get_settings", "redaction",
                                                       "get_logger", "scheduled_date")),
]
STAGES = StageTable(
    _STAGES,
    display_order=[_STAGES[i][0] for i in (7, 2, 3, 4, 5, 6)] + [COMPUTE_OWN] + [_STAGES[i][0] for i in (0, 1)] + [OTHER],
    exact={"_compute": COMPUTE_OWN},
    # These, called from the flow's _compute, read the rules and yesterday's health.
    called_from={("read_frame", COMPUTE_OWN): READ_PRODUCTS, ("read_large_frame", COMPUTE_OWN): READ_PRODUCTS},
    # Called per row (or handed to .map): wrapping would cost more.
    not_wrapped=frozenset({"_money", "_round", "_decimal_text"}),
)


def _measure(args) -> int:
    if not released(args.wait):
        return 1  # the set-up failed
    os.environ.update({"SHOPOPS_WAREHOUSE_URL": args.url})
    os.environ.setdefault("SHOPOPS_PRICING_FX_RATES", _fx_rates())
    if args.data_dir:
        os.environ["SHOPOPS_DATA_DIR"] = args.data_dir
    import flows.price_monitoring as flow_module

    clock = StageClock(STAGES)
    clock.instrument(flow_module.price_monitoring.fn)
    measure_flow(lambda: flow_module.price_monitoring(as_of=args.as_of, crawl=False),
                 lambda run: _report(args, run, clock), args.cprofile, cprofile_top=30)
    return 0


def _report(args, run: FlowRun, clock: StageClock) -> None:
    summary = run.result
    written = _rows_written(args.url, args.as_of)
    print(f"\nshopops pricing benchmark — price_monitoring(as_of={args.as_of}, crawl=False), {args.warehouse}; "
          f"flow code {code_fingerprint(FLOW_FILES)}")
    print_process_figures(run)
    print(f"  SKUs priced: {summary.get('skus', 0):,} against {summary.get('competitors', 0)} competitors — "
          + ", ".join(f"{summary.get(k, 0):,} {k}" for k in ("raise", "lower", "keep", "review"))
          + f"; {summary.get('floor_binds', 0):,} held at the cost floor, {summary.get('out_of_band', 0):,} out of band")
    print(f"  alerts: {summary.get('alerts', 0):,} ({written.pop('alert kinds')}); "
          f"competitors broken: {', '.join(summary.get('broken_competitors') or []) or 'none'}")
    print("  rows written for the date: " + ", ".join(f"{table} {rows:,}" for table, rows in written.items()))
    print_stages(clock, run.elapsed)


def _rows_written(url: str, as_of: date) -> dict:
    from sqlalchemy import text

    from warehouse.engine import get_engine

    counts = {}
    with get_engine(url).connect() as conn:
        for table in ("market_prices", "price_recommendations", "price_alerts", "competitor_health"):
            counts[table] = conn.execute(text(f"SELECT COUNT(*) FROM {table} WHERE as_of_date = :d"),
                                         {"d": as_of}).scalar() or 0
        kinds = conn.execute(text("SELECT kind, COUNT(*) FROM price_alerts WHERE as_of_date = :d GROUP BY kind "
                                  "ORDER BY 2 DESC"), {"d": as_of}).all()
    counts["alert kinds"] = ", ".join(f"{count:,} {kind}" for kind, count in kinds) or "none"
    return counts


# --- the crawl: the sandbox in its own process, the crawler and observe step in this one ---------------

def _sandbox_sites(count: int):
    from dataclasses import replace

    from bench.pricing_data import competitor_names
    from connectors.sandbox.competitor_config import demo_competitors

    demo = demo_competitors()
    return [replace(demo[i % len(demo)], name=name) for i, name in enumerate(competitor_names(count))]


def _serve_sandbox(args) -> int:
    """The sandbox's process: serve, say where (one JSON line), then answer "stats <marks>" until EOF."""
    from connectors.sandbox import Sandbox, SandboxConfig

    began = time.perf_counter()
    config = SandboxConfig(skus=args.sandbox_skus, days=args.sandbox_days, stores=[],
                           competitors=_sandbox_sites(args.competitors))
    with Sandbox(config) as sandbox:
        catalogue = sandbox.write_competitor_catalogue_csv(Path(args.data_dir) / "competitor_catalogue.csv")
        _say({"sites": sandbox.competitor_sites(), "catalogue": str(catalogue),
              "seconds": time.perf_counter() - began, "clock": sandbox.clock.now().isoformat()})
        for line in sys.stdin:
            command, _, rest = line.strip().partition(" ")
            if command == "marks":
                _say({name: len(sandbox.competitor_requests(name)) for name in sandbox.competitor_sites()})
            elif command == "stats":
                marks = json.loads(rest or "{}")
                _say({name: _site_stats(sandbox.competitor_requests(name)[marks.get(name, 0):])
                      for name in sandbox.competitor_sites()})
    return 0


def _say(value) -> None:
    say(MARK, value)


def _site_stats(requests: list[dict]) -> dict:
    times = [r["time"] for r in requests]
    gaps = [b - a for a, b in zip(times, times[1:])]
    shortest = min(range(len(gaps)), key=gaps.__getitem__) if gaps else None
    return {"requests": len(requests), "robots": sum(r["path"] == "/robots.txt" for r in requests),
            "statuses": dict(Counter(str(r["status"]) for r in requests)),
            "conditional": sum(bool(r["conditional"]) for r in requests),
            "gaps": gaps,  # seconds between two arrivals, in order
            "shortest": None if shortest is None else
            f"#{shortest + 1} {requests[shortest]['path'][:32]} → #{shortest + 2} {requests[shortest + 1]['path'][:32]}"}


def _start_sandbox(args, data_dir: Path) -> HelperProcess:
    return HelperProcess(["-m", "bench.pricing", "--serve-sandbox", "--competitors", str(args.competitors),
                          "--sandbox-skus", str(args.sandbox_skus), "--sandbox-days", str(args.sandbox_days),
                          "--data-dir", str(data_dir)], MARK, "the sandbox")


def _crawl_benchmark(args) -> int:
    from sqlalchemy import func, select

    from tasks.pricing.sheets import import_catalogue
    from warehouse.engine import dispose_engines, get_engine
    from warehouse.migrate import upgrade
    from warehouse.models import CompetitorProduct

    workdir = Path(tempfile.mkdtemp(prefix="shopops-bench-pricing-crawl-"))
    url = warehouse_url(args.warehouse, workdir / "crawl.db", CRAWL_DB)
    print(f"\nshopops pricing benchmark — crawl: sandbox with {args.sandbox_skus:,} SKUs, {args.sandbox_days} days, "
          f"{args.competitors} competitor sites (demo_competitors() cycled), its own process; {args.warehouse}",
          flush=True)
    sandbox = _start_sandbox(args, workdir)
    try:
        sites = sandbox.hello["sites"]
        began = time.perf_counter()
        fresh_database(args.warehouse, CRAWL_DB)
        upgrade(url)
        engine = get_engine(url)
        imported = import_catalogue(engine, Path(sandbox.hello["catalogue"]))
        with engine.connect() as conn:
            per_site = dict(conn.execute(select(CompetitorProduct.competitor, func.count()).group_by(
                CompetitorProduct.competitor)).all())
        print(f"  sandbox up in {sandbox.hello['seconds']:.1f} s (clock {sandbox.hello['clock']}); catalogue of "
              f"{imported.loaded:,} pages imported in {time.perf_counter() - began:.1f} s"
              + (f" ({len(imported.problems)} problems)" if imported.problems else ""))
        print("  pages per site: " + ", ".join(f"{name} {per_site.get(name, 0):,}" for name in sites), flush=True)
        for interval in args.crawl_interval:
            _one_crawl(args, engine, sandbox, sites, interval)
        dispose_engines()
    finally:
        sandbox.close()
    return 0


class _BoundedCrawler:
    """The real Crawler, stopped after `seconds`: what has been yielded by then counts."""

    def __init__(self, policy, seconds: float, origin_names: dict[str, str]):
        from connectors.crawler import Crawler

        self.crawler = Crawler(policy)
        self.seconds = seconds
        self.origin_names = origin_names
        self.pages: Counter = Counter()             # per site
        self.results: dict[str, Counter] = defaultdict(Counter)   # site → fetched status
        self.http: dict[str, Counter] = defaultdict(Counter)      # site → HTTP status
        self.began = self.stopped = self.closed = None

    def crawl(self, targets):
        from connectors.crawler import _origin

        inner = self.crawler.crawl(targets)
        self.began = time.perf_counter()
        deadline = self.began + self.seconds
        try:
            for fetched in inner:
                site = self.origin_names.get(_origin(fetched.url), "(other)")
                self.pages[site] += 1
                self.results[site][fetched.status] += 1
                if fetched.http_status is not None:
                    self.http[site][str(fetched.http_status)] += 1
                yield fetched
                if time.perf_counter() >= deadline:
                    break
        finally:
            self.stopped = time.perf_counter()
            inner.close()  # the lanes stop after their current page
            self.closed = time.perf_counter()

    def close(self) -> None:
        self.crawler.close()


def _one_crawl(args, engine, sandbox: HelperProcess, sites: dict[str, str], interval: float) -> None:
    import numpy as np

    import tasks.pricing.observe as observe
    from connectors.crawler import CrawlPolicy

    policy = CrawlPolicy(min_interval_seconds=interval, allowed_hosts=frozenset({"127.0.0.1"}))
    polite = interval >= CrawlPolicy().min_interval_seconds
    crawler = _BoundedCrawler(policy, args.crawl_seconds, {url: name for name, url in sites.items()})
    extraction: dict[str, list[int]] = defaultdict(list)
    current = threading.local()
    stored = [0.0, 0]
    originals = observe.extract_offer, observe._observation, observe._store

    def timed_observation(entry, *rest, **kwargs):
        current.site = entry.competitor
        return originals[1](entry, *rest, **kwargs)

    def timed_extract(*a, **k):
        t = time.perf_counter_ns()
        try:
            return originals[0](*a, **k)
        finally:
            extraction[getattr(current, "site", "(other)")].append(time.perf_counter_ns() - t)

    def timed_store(*a, **k):
        t = time.perf_counter()
        try:
            return originals[2](*a, **k)
        finally:
            stored[0] += time.perf_counter() - t
            stored[1] += 1

    warm = time.perf_counter()  # the first page of a kind imports its parser (extruct, parsel): not a page's cost
    originals[0](b'<html><body><div itemscope itemtype="https://schema.org/Product"><span itemprop="name">x</span>'
                 b'<div itemprop="offers" itemscope itemtype="https://schema.org/Offer"><span itemprop="price">'
                 b'1,00</span></div></div><span class="price-now">1,00</span></body></html>',
                 selector="span.price-now")
    warm = time.perf_counter() - warm
    quiet = logging.getLogger("shopops.connectors")
    level = quiet.level
    quiet.setLevel(logging.ERROR)  # the retries are counted below, not logged one by one
    marks = sandbox.ask("marks")
    observe.extract_offer, observe._observation, observe._store = timed_extract, timed_observation, timed_store
    cpu_began = cpu_seconds()
    try:
        began = time.perf_counter()
        report = observe.crawl_catalogue(engine, crawler, run_id=f"bench-crawl-{interval:g}")
        total = time.perf_counter() - began
    finally:
        observe.extract_offer, observe._observation, observe._store = originals
        quiet.setLevel(level)
    cpu = cpu_seconds() - cpu_began
    server = sandbox.ask("stats " + json.dumps(marks))
    clients = {name: crawler.crawler._origins.get(url) for name, url in sites.items()}
    crawler.close()

    window = (crawler.stopped or time.perf_counter()) - (crawler.began or began)
    pages = sum(crawler.pages.values())
    label = "the default politeness" if polite else "impolite, only against our own sandbox"
    print(f"\n  crawl at {interval:g} s between requests to one site ({label}): CrawlPolicy(min_interval_seconds="
          f"{policy.min_interval_seconds:g}, per_origin_concurrency={policy.per_origin_concurrency}, "
          f"total_concurrency={policy.total_concurrency}), robots.txt Crawl-delay honoured, for {args.crawl_seconds:g} s")
    print(f"    {pages:,} pages in {window:.1f} s: {pages / window:,.1f} pages/s overall "
          f"({report.observations:,} observations stored; the lanes stopped {crawler.closed - crawler.stopped:.1f} s "
          f"after the deadline; crawl_catalogue took {total:.1f} s in all, CPU {cpu:.1f} s of this process)")
    results = Counter()
    for counter in crawler.results.values():
        results.update(counter)
    http = Counter()
    for counter in crawler.http.values():
        http.update(counter)
    print("    results: " + ", ".join(f"{k} {v:,}" for k, v in results.most_common())
          + "; HTTP: " + ", ".join(f"{k} {v:,}" for k, v in sorted(http.items())))
    print("    observations: " + ", ".join(f"{k} {v:,}" for k, v in report.statuses.most_common())
          + f"; 304 Not Modified: {report.unchanged_pages:,}")
    all_times = np.array([t for times in extraction.values() for t in times], dtype=float) / 1000
    if len(all_times):
        print(f"    extraction (extract_offer) per page: median {np.median(all_times):,.0f} µs, "
              f"p95 {np.percentile(all_times, 95):,.0f} µs, max {all_times.max():,.0f} µs over {len(all_times):,} pages "
              f"({all_times.sum() / 1e6:.2f} s in all; a warm-up page first, {1000 * warm:.0f} ms: the parsers' imports); "
              f"storing {stored[1]} batches took {stored[0]:.2f} s")
    print(f"\n    {'site':<20} {'pages':>6} {'pages/s':>8} {'200':>5} {'304':>5} {'blocked':>7} {'errors':>6} "
          f"{'requests':>8} {'429':>4} {'retries':>7} {'min gap s':>9} {'extract µs p50':>14} {'p95':>7}")
    config_delay = {site.name: site.crawl_delay for site in _sandbox_sites(len(sites))}
    too_close = []
    for name in sites:
        result, served, client = crawler.results.get(name, Counter()), server.get(name, {}), clients.get(name)
        times = np.array(extraction.get(name, []), dtype=float) / 1000
        gaps = served.get("gaps") or []
        gap = min(gaps) if gaps else None
        delay = max(interval, config_delay.get(name) or 0.0)
        short = [g for g in gaps if g < delay - 0.01]
        if short:
            too_close.append(f"{name}: {len(short)} of {len(gaps)} gaps under {delay:g} s (shortest {min(short):.3f} s, "
                             f"{served['shortest']})")
        print(f"    {name:<20} {crawler.pages.get(name, 0):>6,} {crawler.pages.get(name, 0) / window:>8.2f} "
              f"{result.get('fetched', 0):>5,} {result.get('not_modified', 0):>5,} {result.get('blocked', 0):>7,} "
              f"{result.get('http_error', 0) + result.get('refused', 0):>6,} {served.get('requests', 0):>8,} "
              f"{served.get('statuses', {}).get('429', 0):>4,} {client.client.stats.retries if client else 0:>7,} "
              f"{'' if gap is None else f'{gap:.3f}':>9} "
              f"{'' if not len(times) else f'{np.median(times):,.0f}':>14} "
              f"{'' if not len(times) else f'{np.percentile(times, 95):,.0f}':>7}")
    if too_close:
        print("    requests closer than the site's interval (max of the policy's and its Crawl-delay) as the site saw "
              "them:\n      " + "\n      ".join(too_close))
    idle = [name for name in sites if not crawler.pages.get(name)]
    if idle:
        print(f"    not crawled at all in the window: {', '.join(idle)} — {len(sites)} sites, "
              f"total_concurrency={policy.total_concurrency}: a site waits until another's whole catalogue is done")
    waited = sum(c.client.stats.waited_seconds for c in clients.values() if c)
    served_statuses = Counter()
    for value in server.values():
        served_statuses.update(value["statuses"])
    print("    the sites answered: " + ", ".join(f"{k} {v:,}" for k, v in sorted(served_statuses.items()))
          + f" ({sum(v['robots'] for v in server.values())} robots.txt, "
            f"{sum(v['conditional'] for v in server.values()):,} conditional requests); the client waited "
            f"{waited:.1f} s out in retries", flush=True)


if __name__ == "__main__":
    sys.exit(main())
