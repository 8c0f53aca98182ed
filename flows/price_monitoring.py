"""price-monitoring: competitor prices in, market position, repricing and alerts out.

Parameters, ordering and artifacts only; the work is in tasks/pricing/ and connectors/crawler.py.
"""

from __future__ import annotations

import uuid
from dataclasses import asdict
from datetime import date, datetime, timedelta, timezone

import pandas as pd
from prefect import flow
from prefect.artifacts import create_table_artifact
from prefect.runtime import flow_run
from sqlalchemy import func, select

from connectors.crawler import CrawlPolicy, Crawler
from flows.alerts import FAILURE_HOOKS
from flows.run_lock import one_run_per_date
from shopops.logs import get_logger, install_redaction
from shopops.settings import get_settings
from tasks.catalogue_on import products_on
from tasks.pricing.alerts import OURS, AlertSettings, became_unreadable, health, moves
from tasks.pricing.market import latest_observations, market, observations_on
from tasks.pricing.observe import crawl_catalogue
from tasks.pricing.repricing import REGULAR, RepricingSettings, recommend
from warehouse.engine import get_engine, write_transaction
from warehouse.io import read_frame, replace_rows_of_day
from warehouse.migrate import check_schema
from warehouse.models import CompetitorHealth, CompetitorPrice, CompetitorProduct, PricingRule

RECOMMENDATION_FIRST = {"raise": 0, "lower": 0, "review": 1, "keep": 2}


def _run_name() -> str:
    return f"price monitoring · {(flow_run.parameters or {}).get('as_of') or 'scheduled date'}"


@flow(**FAILURE_HOOKS, name="price-monitoring", flow_run_name=_run_name, log_prints=False,
      description="Crawl competitors' product pages politely, compute the market per SKU, recommend prices "
                  "within cost floors and flag abnormal moves and broken scrapes.")
@one_run_per_date("price-monitoring")
def price_monitoring(as_of: date | None = None, crawl: bool = True, traffic_gap_min: float = 0.03,
                     traffic_gap_max: float = 0.05, min_margin: float = 0.10, max_markup: float = 2.0,
                     max_daily_change: float = 0.10, member_gap: float = 0.05, move_threshold: float = 0.15,
                     max_observation_age_days: int = 2) -> dict:
    """Write market_prices, price_recommendations, price_alerts and competitor_health for `as_of`
    (re-running replaces that date's rows).

    Args:
        as_of: Business date. Empty: the date the run was scheduled for, in the business time zone.
        crawl: Crawl the competitor catalogue first (observations are dated by each site's clock).
            Off for a backfill: past dates are computed from the stored observations.
        traffic_gap_min: Traffic-driving SKUs sit at least this share below the market average.
        traffic_gap_max: ... and at most this share below it.
        min_margin: Default margin over cost of the price floor (a SKU's pricing rule may set its own).
        max_markup: Regular SKUs' price band tops out at cost × (1 + this).
        max_daily_change: A recommendation moves a price by at most this share in a day (except up to
            the cost floor).
        member_gap: Member prices stay at least this share below the regular price.
        move_threshold: A day-over-day price change beyond this share is an alert.
        max_observation_age_days: Competitor prices older than this many days do not count in the market.
    """
    install_redaction()
    log = get_logger("shopops.flows")
    settings = get_settings()
    engine = get_engine()
    check_schema(engine)
    run_id = str(flow_run.id or uuid.uuid4())
    computed_at = pd.Timestamp(datetime.now(timezone.utc))

    crawled = None
    if crawl:
        crawler = Crawler(CrawlPolicy(
            min_interval_seconds=settings.crawler_min_interval_seconds,
            per_origin_concurrency=settings.crawler_per_origin_concurrency,
            total_concurrency=settings.crawler_total_concurrency, max_bytes=settings.crawler_max_bytes,
            allowed_hosts=frozenset(settings.crawler_allowed_hosts)))
        try:
            crawled = crawl_catalogue(engine, crawler, run_id)
        finally:
            crawler.close()

    repricing = RepricingSettings(traffic_gap_min=traffic_gap_min, traffic_gap_max=traffic_gap_max,
                                  min_margin=min_margin, max_markup=max_markup, max_daily_change=max_daily_change,
                                  member_gap=member_gap)
    alerting = AlertSettings(move_threshold=move_threshold)
    with engine.connect() as conn:
        tables = _compute(conn, as_of, repricing, alerting, max_observation_age_days, settings.pricing_fx_rates)
    with write_transaction(engine) as conn:
        for table, frame in tables.items():
            replace_rows_of_day(conn, table, as_of, frame.assign(as_of_date=as_of, run_id=run_id,
                                                                 computed_at=computed_at))
    summary = _summary(as_of, tables, crawled)
    log.info("price monitoring %s: %d SKUs priced against %d competitors; %d to raise, %d to lower, %d held at "
             "the cost floor; %d alerts; competitors broken: %s", as_of, summary["skus"], summary["competitors"],
             summary["raise"], summary["lower"], summary["floor_binds"], summary["alerts"],
             ", ".join(summary["broken_competitors"]) or "none")
    _artifacts(as_of, tables)
    return summary


def _compute(conn, as_of: date, repricing: RepricingSettings, alerting: AlertSettings, max_age_days: int,
             fx: dict[str, float]) -> dict[str, pd.DataFrame]:
    competitors = sorted(conn.execute(select(CompetitorProduct.competitor).distinct()).scalars())
    skus = set(conn.execute(select(CompetitorProduct.sku).distinct()).scalars())
    products = products_on(conn, as_of)
    ours = products[products.index.isin(skus)]
    currency = products["currency"].dropna().mode().iloc[0] if products["currency"].notna().any() else None
    latest = latest_observations(conn, as_of, max_age_days)
    stats = market(latest, ours, currency, fx)

    rules = read_frame(conn, select(PricingRule.sku, PricingRule.role, PricingRule.min_margin,
                                    PricingRule.member_price)).set_index("sku")
    inputs = stats.set_index("sku").join(rules).join(ours["unit_cost"])
    inputs = inputs.assign(role=inputs["role"].fillna(REGULAR),
                           unit_cost=pd.to_numeric(inputs["unit_cost"], errors="coerce").astype(float),
                           min_margin=pd.to_numeric(inputs["min_margin"], errors="coerce").astype(float),
                           member_price=pd.to_numeric(inputs["member_price"], errors="coerce").astype(float))
    recommendations = recommend(inputs.reset_index(), repricing)

    today, yesterday = observations_on(conn, as_of), observations_on(conn, as_of - timedelta(days=1))
    before = products_on(conn, as_of - timedelta(days=1))
    our_moves = moves(_our_prices(ours), _our_prices(before[before.index.isin(skus)]), "competitor",
                      alerting.move_threshold)
    floor_rows = recommendations[recommendations["bound_by"] == "cost floor"]
    alerts = pd.concat([
        moves(today, yesterday, "competitor", alerting.move_threshold),
        our_moves,
        became_unreadable(today, yesterday),
        pd.DataFrame({"sku": floor_rows["sku"], "competitor": OURS, "kind": "floor binds",
                      "previous_price": floor_rows["our_price"], "price": floor_rows["recommended_price"],
                      "change_percent": floor_rows["change_percent"], "detail": floor_rows["reason"]}),
    ], ignore_index=True)
    previous_health = read_frame(conn, select(CompetitorHealth.competitor, CompetitorHealth.success_rate).where(
        CompetitorHealth.as_of_date == as_of - timedelta(days=1)))
    last_success = pd.Series(dict(conn.execute(select(CompetitorPrice.competitor, func.max(CompetitorPrice.observed_on))
                                               .where(CompetitorPrice.status.in_(("ok", "out_of_stock")),
                                                      CompetitorPrice.observed_on <= as_of)
                                               .group_by(CompetitorPrice.competitor)).all()), dtype=object)
    return {
        "market_prices": stats,
        "price_recommendations": recommendations,
        "price_alerts": alerts,
        "competitor_health": health(today, previous_health, last_success, competitors, alerting),
    }


def _our_prices(products: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame({"sku": products.index, "competitor": OURS, "status": "ok",
                         "price": pd.to_numeric(products["list_price"], errors="coerce").astype(float).to_numpy()})


def _summary(as_of: date, tables: dict[str, pd.DataFrame], crawled) -> dict:
    recommendations, health_rows = tables["price_recommendations"], tables["competitor_health"]
    actions = recommendations["action"].value_counts()
    return {
        "as_of": as_of.isoformat(),
        "skus": len(recommendations),
        "competitors": len(health_rows),
        "crawl": None if crawled is None else {**{k: v for k, v in asdict(crawled).items() if k != "statuses"},
                                               "statuses": dict(crawled.statuses)},
        **{action: int(actions.get(action, 0)) for action in ("raise", "lower", "keep", "review")},
        "floor_binds": int((recommendations["bound_by"] == "cost floor").sum()),
        "out_of_band": int(recommendations["out_of_band"].sum()),
        "alerts": len(tables["price_alerts"]),
        "broken_competitors": sorted(health_rows.loc[health_rows["status"] == "broken", "competitor"]),
    }


def _artifacts(as_of: date, tables: dict[str, pd.DataFrame], limit: int = 200) -> None:
    recommendations = tables["price_recommendations"]
    shown = recommendations.assign(_first=recommendations["action"].map(RECOMMENDATION_FIRST),
                                   _size=-recommendations["change_percent"].abs().fillna(0)).sort_values(
        ["_first", "_size", "sku"]).head(limit)
    create_table_artifact(key="price-recommendations", table=[{
        "sku": r.sku, "role": r.role, "action": r.action, "our price": _money(r.our_price),
        "recommended": _money(r.recommended_price), "change %": _round(r.change_percent, 1),
        "market average": _money(r.market_average), "competitors": int(r.competitors), "floor": _money(r.floor_price),
        "bound by": r.bound_by, "reason": r.reason,
    } for r in shown.itertuples()], description=f"Price recommendations for {as_of}: changes first, the largest first.")
    alerts = tables["price_alerts"]
    alerts = alerts.assign(_size=-alerts["change_percent"].abs().fillna(0)).sort_values(["kind", "_size", "sku"]).head(limit)
    create_table_artifact(key="price-alerts", table=[{
        "kind": a.kind, "sku": a.sku, "who": a.competitor, "before": _money(a.previous_price), "now": _money(a.price),
        "change %": _round(a.change_percent, 1), "detail": a.detail,
    } for a in alerts.itertuples()], description=f"Price alerts for {as_of} ({len(tables['price_alerts'])} in all).")
    create_table_artifact(key="competitor-health", table=[{
        "competitor": h.competitor, "status": h.status, "pages": int(h.pages), "readable %": _round(100 * h.success_rate, 1),
        "the day before %": _round(100 * h.previous_success_rate, 1), "last success": str(h.last_success_on or ""),
        "ok": int(h.ok), "out of stock": int(h.out_of_stock), "no price": int(h.missing_price),
        "parse errors": int(h.parse_error), "HTTP errors": int(h.http_error), "blocked": int(h.blocked),
        "detail": h.detail,
    } for h in tables["competitor_health"].itertuples()], description=f"How readable each competitor's pages were on {as_of}.")


def _money(value) -> float | None:
    return None if value is None or pd.isna(value) else round(float(value), 2)


def _round(value, digits: int) -> float | None:
    return None if value is None or pd.isna(value) else round(float(value), digits)

