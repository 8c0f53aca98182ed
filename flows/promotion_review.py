"""promotion-review: which orders each promotion touched, what it did against its baseline, what it
cost, and a verdict — for every promotion that ended by the date (and, provisionally, each one
still running).

Parameters, reading, ordering and artifacts only; the work is in tasks/promotions/.
"""

from __future__ import annotations

import json
import uuid
from datetime import date, datetime, time, timedelta, timezone

import numpy as np
import pandas as pd
from prefect import flow
from prefect.artifacts import create_markdown_artifact
from prefect.runtime import flow_run
from sqlalchemy import Float, Numeric, and_, case, cast, delete, func, or_, select

from flows.alerts import FAILURE_HOOKS
from flows.run_lock import one_run_per_date
from connectors.sources import load_sources
from shopops.logs import get_logger, install_redaction
from shopops.memory import release_memory
from shopops.settings import get_settings
from tasks.catalogue_on import products_on
from tasks.promotions.attribution import ATTRIBUTION_COLUMNS, attribute
from tasks.promotions.chart import data_uri, sales_chart
from tasks.promotions.marketplace import MarketplaceImport, import_marketplace_promotions, superseded
from tasks.promotions.review import Costs, ReviewSettings, baseline_curve, review
from tasks.promotions.series import build_cube, promotion_series
from warehouse.engine import get_engine, write_transaction
from warehouse.io import insert_frame, read_frame, read_large_frame
from warehouse.migrate import check_schema
from warehouse.models import Order, OrderLine, Promotion, PromotionAttribution, PromotionReview, Refund
from warehouse.types import MONEY_UNIT

NOT_SALES = ("cancelled", "failed", "deleted")
VERDICT_FIRST = {"stop": 0, "adjust": 1, "repeat": 2, "not enough data": 3}


def _run_name() -> str:
    return f"promotion review · {(flow_run.parameters or {}).get('as_of') or 'scheduled date'}"


@flow(**FAILURE_HOOKS, name="promotion-review", flow_run_name=_run_name, log_prints=False,
      description="Attribute orders to promotions and review each against a baseline: lift, pull-forward, "
                  "cannibalisation, cost, ROI and a verdict with its uncertainty.")
@one_run_per_date("promotion-review")
def promotion_review(as_of: date | None = None, promotion_ids: list[str] | None = None, pre_days: int = 28,
                     post_days: int = 14, min_pre_days: int = 14, min_orders: int = 20,
                     repeat_days: int = 60, read_marketplaces: bool = True) -> dict:
    """Write promotion_attributions and promotion_reviews for `as_of` (re-running replaces them).

    Args:
        as_of: Business date. Empty: the date the run was scheduled for, in the business time zone.
        promotion_ids: Only these promotions (ids as in the promotions table). Empty: every promotion
            that started by the date.
        pre_days: Clean days before the start that make the baseline (days of other promotions are
            skipped, looking back up to 90 days).
        post_days: Days after the end in which a dip (sales pulled forward) is looked for.
        min_pre_days: Fewer clean days before the start than this: "not enough data".
        min_orders: Fewer orders that used the promotion than this: "not enough data".
        repeat_days: A new customer counts as repeating with another order within this many days.
        read_marketplaces: First read the promotions the marketplaces store (Shopify price rules,
            WooCommerce coupons) from every source in the sources file.
    """
    install_redaction()
    log = get_logger("shopops.flows")
    settings = ReviewSettings(pre_days=pre_days, post_days=post_days, min_pre_days=min_pre_days,
                              min_orders=min_orders, repeat_days=repeat_days)
    engine = get_engine()
    check_schema(engine)
    run_id = str(flow_run.id or uuid.uuid4())
    computed_at = pd.Timestamp(datetime.now(timezone.utc))
    until = pd.Timestamp(_midnight(as_of + timedelta(days=1)))
    imports = _read_marketplaces() if read_marketplaces else []

    with engine.connect() as conn:
        promotions = read_frame(conn, select(Promotion).where(Promotion.starts_at < until.to_pydatetime()))
        promotions["starts_at"] = pd.to_datetime(promotions["starts_at"], utc=True)
        promotions["ends_at"] = pd.to_datetime(promotions["ends_at"], utc=True)
        twins = superseded(promotions)
        if twins.any():
            log.info("promotion review %s: %d marketplace promotions left out: the calendar describes them "
                     "(same code, channel and dates)", as_of, int(twins.sum()))
        described_twice = promotions.loc[twins, "promotion_id"].tolist()
        promotions = promotions[~twins]
        reviewed = promotions if not promotion_ids else promotions[promotions["promotion_id"].isin(promotion_ids)]
        if reviewed.empty:
            log.info("promotion review %s: no promotion started by then%s", as_of,
                     f" among {', '.join(promotion_ids)}" if promotion_ids else "")
            return {"as_of": as_of.isoformat(), "promotions": 0}
        span_start = (reviewed["starts_at"].min().floor("D") - pd.Timedelta(days=settings.lookback_days))
        span_end = min(reviewed["ends_at"].max().ceil("D") + pd.Timedelta(days=post_days), until)
        lines = _lines(conn, span_start, span_end, until)
        products = products_on(conn, as_of, "category")
        customers = _first_orders(conn, span_start, until)
    release_memory()  # the reads' freed batches: millions of lines' worth, kept by the allocators otherwise
    unit_costs = pd.to_numeric(products["unit_cost"], errors="coerce").astype(float)
    categories = products["category"]
    skus = lines["sku"].cat  # the category of each SKU once, then taken by the lines' codes
    lines["category"] = pd.Categorical(skus.categories.map(categories)).take(skus.codes.to_numpy(), allow_fill=True)

    orders = lines.drop_duplicates(["source", "external_order_id"])[
        ["source", "external_order_id", "created_at", "discount_codes"]].rename(
        columns={"external_order_id": "external_id"})
    attributions = attribute(reviewed, orders, lines, unit_costs)
    cube = build_cube(lines, unit_costs, categories, span_start)
    del lines, orders  # the biggest frames; what follows works on the cube and the attributed lines
    release_memory()
    costs = _costs_by_promotion(attributions, reviewed, customers, until, settings)
    rows, charts = [], []
    for promotion in reviewed.itertuples(index=False):
        neighbours = _overlapping(promotions, promotion, settings.lookback_days)
        series, running = promotion_series(cube, promotion, neighbours, as_of, settings)
        row = review(series, costs[promotion.promotion_id], settings, provisional=running)
        row.update(promotion_id=promotion.promotion_id, type=promotion.type, inputs=json.dumps(row["inputs"]))
        rows.append(row)
        baseline, _ = baseline_curve(series.scope_net, series.control_net, series.pre)
        charts.append((promotion, row, sales_chart(f"{promotion.name} ({promotion.promotion_id})",
                                                   series.scope_net, baseline, series.during)))
    reviews = pd.DataFrame(rows).assign(review_date=as_of, run_id=run_id, computed_at=computed_at)
    ids = reviewed["promotion_id"].tolist() + described_twice  # a twin's earlier rows would count it twice
    with write_transaction(engine) as conn:
        # Attribution is a fact of the orders, the review a judgement on a date: both are replaced.
        conn.execute(delete(PromotionAttribution).where(PromotionAttribution.promotion_id.in_(ids)))
        insert_frame(conn, "promotion_attributions", _money_units(attributions.assign(run_id=run_id), PromotionAttribution),
                     ATTRIBUTION_COLUMNS + ["run_id"])
        conn.execute(delete(PromotionReview).where(PromotionReview.review_date == as_of,
                                                   PromotionReview.promotion_id.in_(ids)))
        insert_frame(conn, "promotion_reviews", _money_units(reviews, PromotionReview),
                     [c.name for c in PromotionReview.__table__.columns])
    summary = {"as_of": as_of.isoformat(), "promotions": len(reviews),
               "marketplace_errors": {r.source: r.error for r in imports if r.error},
               "provisional": int(reviews["provisional"].sum()), "attributed_lines": len(attributions),
               **{verdict: int((reviews["verdict"] == verdict).sum()) for verdict in VERDICT_FIRST}}
    log.info("promotion review %s: %d promotions (%d still running): %d repeat, %d adjust, %d stop, %d without "
             "enough data; %d order lines attributed", as_of, summary["promotions"], summary["provisional"],
             summary["repeat"], summary["adjust"], summary["stop"], summary["not enough data"], len(attributions))
    _scorecard(as_of, charts)
    return summary


def _read_marketplaces() -> list[MarketplaceImport]:
    """The marketplaces' own promotions, upserted before the review; none when no sources are set up."""
    path = get_settings().resolved_sources_file()
    if not path.exists():
        get_logger("shopops.flows").info("promotion review: no sources file at %s; only the calendar's promotions "
                                         "are reviewed", path)
        return []
    return import_marketplace_promotions(get_engine(), load_sources(path))


def _lines(conn, since: pd.Timestamp, end: pd.Timestamp, until: pd.Timestamp) -> pd.DataFrame:
    """Order lines of orders created in [since, end) that were sales, with refunds known by `until`."""
    first_refund = select(Refund.source, Refund.external_order_id, func.min(Refund.created_at).label("at")).where(
        Refund.created_at < until.to_pydatetime()).group_by(Refund.source, Refund.external_order_id).subquery()
    refunded = case((first_refund.c.at.is_not(None), func.coalesce(OrderLine.refunded_quantity, 0)), else_=0)
    cancelled_later = and_(Order.status == "cancelled", Order.cancelled_at >= until.to_pydatetime())
    frame = read_large_frame(conn, select(
        OrderLine.source, OrderLine.external_order_id, OrderLine.line_id, OrderLine.sku, Order.created_at,
        Order.discount_codes, OrderLine.quantity, refunded.label("refunded_quantity"),
        cast(OrderLine.unit_price, Float).label("unit_price"), cast(OrderLine.discount, Float).label("discount"),
        cast(OrderLine.line_total, Float).label("line_total"),
    ).join(Order, and_(Order.source == OrderLine.source, Order.external_id == OrderLine.external_order_id)).outerjoin(
        first_refund, and_(first_refund.c.source == Order.source, first_refund.c.external_order_id == Order.external_id),
    ).where(Order.created_at >= since.to_pydatetime(), Order.created_at < min(end, until).to_pydatetime(),
            Order.is_deleted.is_(False), or_(Order.status.not_in(NOT_SALES), cancelled_later)),
        times=["created_at"])
    for name in ("quantity", "refunded_quantity"):
        frame[name] = frame[name].astype(np.int64)
    for name in ("source", "sku", "discount_codes"):  # a few thousand values over millions of lines
        frame[name] = frame[name].astype("category")
    return frame


def _first_orders(conn, since: pd.Timestamp, until: pd.Timestamp) -> pd.DataFrame:
    """The first order of each customer whose first order was created in [since, until), and the
    time of their second (NaT when there is none yet): source, external_id, created_at, second_at."""
    in_order = dict(partition_by=Order.customer_key, order_by=(Order.created_at, Order.source, Order.external_id))
    ranked = select(Order.source, Order.external_id, Order.created_at,
                    func.row_number().over(**in_order).label("n"),
                    func.lead(Order.created_at).over(**in_order).label("second_at"),
                    ).where(Order.customer_key.is_not(None), Order.is_deleted.is_(False),
                            Order.created_at < until.to_pydatetime()).subquery()
    return read_large_frame(conn, select(ranked.c.source, ranked.c.external_id, ranked.c.created_at,
                                         ranked.c.second_at).where(ranked.c.n == 1,
                                                                   ranked.c.created_at >= since.to_pydatetime()),
                            times=["created_at", "second_at"])


def _costs_by_promotion(attributions: pd.DataFrame, promotions: pd.DataFrame, customers: pd.DataFrame,
                        until: pd.Timestamp, settings: ReviewSettings) -> dict[str, Costs]:
    """What each promotion cost and whom it brought, from its attributed lines (one pass for all)."""
    lines = attributions.assign(goods=attributions["kept_quantity"].where(~attributions["is_gift"].astype(bool), 0))
    totals = lines.groupby("promotion_id").agg(units=("goods", "sum"), discount=("kept_discount", "sum"),
                                                gift=("gift_cost", "sum"))
    orders = lines.drop_duplicates(["promotion_id", "source", "external_order_id"])[
        ["promotion_id", "source", "external_order_id"]]
    order_counts = orders.groupby("promotion_id").size()
    # New customers: their first order ever was one of the promotion's.
    new = orders.merge(customers, left_on=["source", "external_order_id"],
                       right_on=["source", "external_id"])
    window = pd.Timedelta(days=settings.repeat_days)
    judged = new["created_at"] + window <= until  # only customers whose repeat window has passed
    repeated = judged & new["second_at"].notna() & (new["second_at"] <= new["created_at"] + window)
    customers_of = new.assign(judged=judged, repeated=repeated).groupby("promotion_id").agg(
        new=("judged", "size"), judged=("judged", "sum"), repeated=("repeated", "sum"))
    costs = {}
    for promotion in promotions.itertuples(index=False):
        pid = promotion.promotion_id
        count = int(order_counts.get(pid, 0))
        shipping = float(json.loads(promotion.parameters or "{}").get("shipping_cost_per_order") or 0) * count
        total = totals.loc[pid] if pid in totals.index else None
        who = customers_of.loc[pid] if pid in customers_of.index else None
        costs[pid] = Costs(
            orders=count, units=int(total["units"]) if total is not None else 0,
            discount=float(total["discount"]) if total is not None else 0.0,
            gift=float(total["gift"]) if total is not None else 0.0, shipping=shipping,
            new_customers=int(who["new"]) if who is not None else 0,
            new_customer_repeat_rate=float(who["repeated"] / who["judged"]) if who is not None and who["judged"] else None)
    return costs


def _overlapping(promotions: pd.DataFrame, promotion, lookback_days: int) -> pd.DataFrame:
    """Promotions whose window meets this one's look-back or window (the only ones that can spoil it)."""
    start = pd.Timestamp(promotion.starts_at) - pd.Timedelta(days=lookback_days)
    return promotions[(promotions["ends_at"] > start) & (promotions["starts_at"] < pd.Timestamp(promotion.ends_at))]


def _money_units(frame: pd.DataFrame, model) -> pd.DataFrame:
    """Money columns computed as floats, as the exact ten-thousandths the warehouse stores."""
    money = [c.name for c in model.__table__.columns if isinstance(c.type, Numeric) and c.name in frame]
    return frame.assign(**{name: (pd.to_numeric(frame[name], errors="coerce") * MONEY_UNIT).round().astype("Int64")
                           for name in money})


def _scorecard(as_of: date, charts: list, limit: int = 60) -> None:
    charts = sorted(charts, key=lambda c: (VERDICT_FIRST.get(c[1]["verdict"], 9), c[0].promotion_id))
    lines = [f"# Promotion review, {as_of}", "",
             "| promotion | type | verdict | lift (units) | interval | incremental margin | cost | ROI | reason |",
             "|---|---|---|---|---|---|---|---|---|"]
    for promotion, row, _ in charts:
        cost = row["discount_cost"] + row["gift_cost"] + row["shipping_cost"]
        lines.append(
            f"| {promotion.name} | {promotion.type}{' (running)' if row['provisional'] else ''} | **{row['verdict']}** "
            f"| {_signed(row['lift_percent'], '%')} | {_signed(row['lift_percent_low'], '%')} to "
            f"{_signed(row['lift_percent_high'], '%')} | {_amount(row['incremental_margin'])} | {_amount(cost)} "
            f"| {_signed(row['roi'])} | {row['reason'].replace('|', '/')} |")
    lines += ["", "Charts: daily sales in scope (solid) against the baseline (dashed); promotion days shaded.", ""]
    for promotion, row, svg in charts[:limit]:
        if svg:
            lines += [f"### {promotion.name} — {row['verdict']}", f"![actual and baseline sales]({data_uri(svg)})", ""]
    if len(charts) > limit:
        lines.append(f"({len(charts) - limit} more promotions are in the promotion_reviews table.)")
    create_markdown_artifact(key="promotion-review", markdown="\n".join(lines),
                             description=f"Promotion scorecard for {as_of}")


def _signed(value, unit: str = "") -> str:
    return "—" if value is None or not np.isfinite(value) else f"{value:+.{0 if unit else 2}f}{unit}"


def _amount(value) -> str:
    return "—" if value is None or not np.isfinite(value) else f"{value:,.2f}"



def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=timezone.utc)
