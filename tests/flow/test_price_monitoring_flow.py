"""price-monitoring end to end over the sandbox's competitor sites, on SQLite and PostgreSQL."""

from dataclasses import replace
from datetime import timedelta
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest

from connectors.sandbox import Sandbox
from connectors.sandbox.competitor_config import demo_competitors
from flows.ingest import ingest_orders
from flows.price_monitoring import price_monitoring
from shopops.settings import reset_settings_cache
from tasks.pricing.sheets import import_catalogue, import_rules
from tests.conftest import table_contents
from tests.contract.conftest import ANCHOR, DAYS, small_config

START = ANCHOR - timedelta(days=DAYS)
RUN_COLUMNS = ("run_id", "computed_at")
PAGES_PER_SITE = 12  # a sample of every site's pages keeps a polite crawl short
# The demo's sites at 2.5 times their speed: the strictest rate limit 5 a second instead of 2, the
# Crawl-delay 0.4 s instead of 1 s. A crawl takes 7 s instead of 17; every politeness rule stays.
QUICKER = 2.5
INTERVAL = 0.24  # seconds between requests to one site: under the strictest limit, shorter than the Crawl-delay
COMPUTED = ("market_prices", "price_recommendations", "price_alerts", "competitor_health")


@pytest.fixture(scope="module")
def sandbox():
    sites = [replace(site, latency_seconds=site.latency_seconds / QUICKER,
                     crawl_delay=site.crawl_delay and site.crawl_delay / QUICKER,
                     rate_limit_per_second=site.rate_limit_per_second and site.rate_limit_per_second * QUICKER)
             for site in demo_competitors()]
    assert any(site.crawl_delay and site.crawl_delay > INTERVAL for site in sites)  # so that Crawl-delay is tested
    assert all(1 / INTERVAL < site.rate_limit_per_second for site in sites if site.rate_limit_per_second)
    with Sandbox(small_config(competitors=sites)) as running:
        yield running


@pytest.fixture
def monitored(configured, engine, tmp_path, monkeypatch):
    """Products ingested; a sample of the competitor catalogue (with each site's blocked and broken
    pages) and the pricing rules imported; the crawler allowed onto the sandbox and paced."""
    sandbox = configured
    ingest_orders(start=START, end=ANCHOR)
    catalogue = pd.read_csv(sandbox.write_competitor_catalogue_csv(tmp_path / "catalogue.csv"), dtype=str,
                            keep_default_na=False)
    truth = sandbox.competitor_truth()
    special = pd.concat([truth.competitor_prices(name).query("broken or not allowed_by_robots").head(2)
                         for name in sandbox.competitor_sites()])
    sample = pd.concat([catalogue[catalogue["url"].isin(special["url"])],
                        catalogue.groupby("competitor").head(PAGES_PER_SITE)]).drop_duplicates()
    sample.to_csv(tmp_path / "sample.csv", index=False)
    assert import_catalogue(engine, tmp_path / "sample.csv").problems == []
    assert import_rules(engine, sandbox.write_pricing_rules_csv(tmp_path / "rules.csv")).problems == []
    monkeypatch.setenv("SHOPOPS_CRAWLER_ALLOWED_HOSTS", '["127.0.0.1"]')
    monkeypatch.setenv("SHOPOPS_CRAWLER_MIN_INTERVAL_SECONDS", str(INTERVAL))
    monkeypatch.setenv("SHOPOPS_PRICING_FX_RATES", '{"EUR": 1.0, "GBP": 1.0}')
    reset_settings_cache()
    return sandbox, sample


def stored(engine, table: str) -> pd.DataFrame:
    with engine.connect() as conn:
        return pd.read_sql(f"SELECT * FROM {table}", conn)


def test_robots_txt_is_obeyed_and_every_site_was_paced(monitored, engine):
    sandbox, sample = monitored
    before = {name: len(sandbox.competitor_requests(name)) for name in sandbox.competitor_sites()}
    price_monitoring(as_of=ANCHOR.date())
    truth = sandbox.competitor_truth()
    observations = stored(engine, "competitor_prices")
    for name in sandbox.competitor_sites():
        pages = truth.competitor_prices(name).set_index("url")
        requests = sandbox.competitor_requests(name)[before[name]:]
        asked = {r["path"] for r in requests}
        disallowed = pages.index[~pages["allowed_by_robots"]].intersection(sample["url"])
        assert not {url.split("/", 3)[-1] for url in disallowed} & {p.lstrip("/") for p in asked}, name
        blocked = observations[observations["url"].isin(disallowed)]
        assert (blocked["status"] == "blocked").all() and len(blocked) == len(disallowed), name
        times = [r["time"] for r in requests]
        gap = min((b - a for a, b in zip(times, times[1:])), default=INTERVAL)
        delay = max(INTERVAL, sandbox.config.competitor(name).crawl_delay or 0)
        assert gap >= delay - 0.02, f"{name}: requests {gap:.3f}s apart"
        assert all(r["status"] != 429 for r in requests), f"{name} had to refuse us"
        assert all(r["user_agent"].startswith("shopops-price-monitor/") for r in requests)


def test_observed_prices_are_what_the_pages_show_and_statuses_are_never_prices(monitored, engine):
    sandbox, _ = monitored
    # Before the day one site changes its layout, so that every markup style is readable.
    change = sandbox.competitor_truth().sites()["markup_changes_on"].dropna().min()
    sandbox.clock.set((change - timedelta(hours=12)).to_pydatetime())
    price_monitoring(as_of=(change - timedelta(days=1)).date())
    truth = pd.concat([sandbox.competitor_truth().competitor_prices(name).assign(competitor=name)
                       for name in sandbox.competitor_sites()])
    observations = stored(engine, "competitor_prices").merge(truth, on=["url", "sku", "competitor"],
                                                             suffixes=("", "_shown"))
    readable = observations[observations["status"] == "ok"]
    assert len(readable) > 30
    assert set(readable["markup"]) >= {"jsonld-product", "jsonld-graph", "microdata-content", "microdata-text", "html"}
    shown = readable["price_shown"].map(Decimal)
    assert (readable["price"].map(lambda p: Decimal(str(p)).quantize(Decimal("0.01"))) == shown).all()
    assert observations.loc[~observations["in_stock"] & observations["allowed_by_robots"], "status"].isin(
        ["out_of_stock", "missing_price"]).all()
    broken = observations[observations["broken"] & observations["allowed_by_robots"]]
    assert len(broken) > 0 and broken["status"].isin(["missing_price", "parse_error", "http_error"]).all()
    assert observations.loc[observations["status"].isin(["missing_price", "parse_error", "blocked", "http_error"]),
                            "price"].isna().all()


def test_the_floor_is_never_crossed_and_traffic_skus_sit_in_their_band(monitored, engine):
    price_monitoring(as_of=ANCHOR.date())
    recommendations = stored(engine, "price_recommendations")
    priced = recommendations[recommendations["recommended_price"].notna() & recommendations["floor_price"].notna()]
    assert len(priced) > 20
    assert (priced["recommended_price"] >= priced["floor_price"] - 1e-9).all()
    traffic = recommendations[(recommendations["role"] == "traffic") & (recommendations["bound_by"] == "none")
                              & (recommendations["competitors"] > 0)]
    assert ((traffic["recommended_price"] >= traffic["band_low"] - 0.005)
            & (traffic["recommended_price"] <= traffic["band_high"] + 0.005)).all()
    floor = recommendations[recommendations["bound_by"] == "cost floor"]
    alerts = stored(engine, "price_alerts")
    assert set(floor["sku"]) == set(alerts.loc[alerts["kind"] == "floor binds", "sku"])
    market = stored(engine, "market_prices").set_index("sku")
    with_market = market[market["competitors"] > 0]
    assert np.allclose(with_market["price_index"], 100 * with_market["our_price"] / with_market["market_average"])


def test_the_same_date_twice_gives_the_same_rows(monitored, engine):
    sandbox, _ = monitored
    first = price_monitoring(as_of=ANCHOR.date())
    before = {t: table_contents(engine, t, RUN_COLUMNS) for t in (*COMPUTED, "competitor_prices")}
    requests = {name: len(sandbox.competitor_requests(name)) for name in sandbox.competitor_sites()}
    again = price_monitoring(as_of=ANCHOR.date())
    after = {t: table_contents(engine, t, RUN_COLUMNS) for t in (*COMPUTED, "competitor_prices")}
    assert {k: v for k, v in again.items() if k != "crawl"} == {k: v for k, v in first.items() if k != "crawl"}
    for table in before:
        changed = set(after[table]) ^ set(before[table])
        assert not changed, (table, sorted(changed, key=repr)[:6])
    conditional = [r for name in sandbox.competitor_sites() for r in sandbox.competitor_requests(name)[requests[name]:]
                   if r["status"] == 304]
    assert conditional  # sites with validators answered the re-crawl with 304 Not Modified


def test_a_site_that_breaks_is_seen_the_day_it_breaks_and_moves_are_only_between_prices(monitored, engine):
    sandbox, _ = monitored
    sites = sandbox.competitor_truth().sites().set_index("competitor")
    name = sites["markup_changes_on"].dropna().index[0]
    change = sites.loc[name, "markup_changes_on"]
    sandbox.clock.set((change - timedelta(hours=12)).to_pydatetime())
    day_before = price_monitoring(as_of=(change - timedelta(days=1)).date())
    sandbox.clock.set((change + timedelta(hours=12)).to_pydatetime())
    day_of = price_monitoring(as_of=change.date())
    assert name not in day_before["broken_competitors"] and name in day_of["broken_competitors"]
    health = stored(engine, "competitor_health")
    row = health[(pd.to_datetime(health["as_of_date"]).dt.date == change.date()) & (health["competitor"] == name)]
    assert row["previous_success_rate"].iloc[0] > 0.5 > row["success_rate"].iloc[0]
    alerts = stored(engine, "price_alerts")
    today = alerts[pd.to_datetime(alerts["as_of_date"]).dt.date == change.date()]
    assert (today[(today["competitor"] == name)]["kind"] == "no price").sum() > 0  # pages that stopped giving one
    moved = today[today["kind"] == "price move"]
    assert (moved["change_percent"].abs() > 15).all() and moved["previous_price"].notna().all()
