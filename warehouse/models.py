"""The warehouse schema. Alembic migrations in warehouse/migrations build exactly this.

Conventions: money is `Money` (exact decimal), timestamps are `UtcDateTime`, every row that a run
wrote carries that run's id. Analytics tables hold `customer_key` (an HMAC of the customer's
e-mail); the e-mail and phone live only in `customers`, for the flows that must contact people.
Each table's data contract (its Great Expectations suite) is in warehouse/expectations.py.
"""

from __future__ import annotations

from sqlalchemy import (BigInteger, Boolean, Date, Float, Index, Integer, MetaData, Numeric, String, Text,
                        UniqueConstraint, false)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from warehouse.types import Money, UtcDateTime

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "pk": "pk_%(table_name)s",
}

RunId = String(64)
SourceName = String(64)
ExternalId = String(64)
AutoId = BigInteger().with_variant(Integer, "sqlite")  # SQLite autoincrements INTEGER keys only

# The canonical order statuses every marketplace's own vocabulary is mapped to.
CANONICAL_STATUSES = (
    "pending", "on_hold", "paid", "fulfilled", "partially_refunded", "refunded",
    "cancelled", "failed", "deleted",
)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class RawOrder(Base):
    """Every version of every order exactly as fetched, so any window can be re-processed."""

    __tablename__ = "raw_orders"
    source: Mapped[str] = mapped_column(SourceName, primary_key=True)
    external_id: Mapped[str] = mapped_column(ExternalId, primary_key=True)
    updated_at = mapped_column(UtcDateTime, primary_key=True)
    payload: Mapped[str] = mapped_column(Text)  # the record's JSON
    fetched_at = mapped_column(UtcDateTime, nullable=False)
    run_id: Mapped[str] = mapped_column(RunId)


class Order(Base):
    """One row per order (latest version), in the canonical model of every marketplace."""

    __tablename__ = "orders"
    source: Mapped[str] = mapped_column(SourceName, primary_key=True)
    external_id: Mapped[str] = mapped_column(ExternalId, primary_key=True)
    order_number: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(24))  # one of CANONICAL_STATUSES
    source_status: Mapped[str | None] = mapped_column(String(64))  # as the marketplace said it
    currency: Mapped[str] = mapped_column(String(3))
    created_at = mapped_column(UtcDateTime, nullable=False)
    updated_at = mapped_column(UtcDateTime, nullable=False)
    processed_at = mapped_column(UtcDateTime)
    cancelled_at = mapped_column(UtcDateTime)
    closed_at = mapped_column(UtcDateTime)
    fulfilled_at = mapped_column(UtcDateTime)  # when it shipped (the first fulfilment)
    subtotal = mapped_column(Money, nullable=False)
    discount_total = mapped_column(Money, nullable=False)
    shipping_total = mapped_column(Money, nullable=False)
    tax_total = mapped_column(Money, nullable=False)
    total = mapped_column(Money, nullable=False)
    refunded_total = mapped_column(Money, nullable=False)
    customer_key: Mapped[str | None] = mapped_column(String(64))
    payment_method: Mapped[str | None] = mapped_column(String(64))
    billing_country: Mapped[str | None] = mapped_column(String(2))
    shipping_country: Mapped[str | None] = mapped_column(String(2))
    discount_codes: Mapped[str | None] = mapped_column(Text)
    line_count: Mapped[int] = mapped_column(Integer)
    item_count: Mapped[int] = mapped_column(Integer)
    risk_level: Mapped[str] = mapped_column(String(8))  # none | low | medium | high
    risk_reasons: Mapped[str | None] = mapped_column(Text)
    # The customer's earlier orders the flags were worked out from (tasks/rescreen.py screens an
    # order again only when these no longer match the warehouse).
    risk_prior_orders: Mapped[int | None] = mapped_column(Integer)
    risk_prior_total = mapped_column(Money)
    is_deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    run_id: Mapped[str] = mapped_column(RunId)
    loaded_at = mapped_column(UtcDateTime, nullable=False)

    __table_args__ = (
        Index(None, "created_at"),
        Index(None, "customer_key"),
    )


class OrderLine(Base):
    __tablename__ = "order_lines"
    source: Mapped[str] = mapped_column(SourceName, primary_key=True)
    external_order_id: Mapped[str] = mapped_column(ExternalId, primary_key=True)
    line_id: Mapped[str] = mapped_column(ExternalId, primary_key=True)
    sku: Mapped[str] = mapped_column(String(64))
    title: Mapped[str | None] = mapped_column(Text)
    quantity: Mapped[int] = mapped_column(Integer)
    unit_price = mapped_column(Money, nullable=False)
    discount = mapped_column(Money, nullable=False)
    line_total = mapped_column(Money, nullable=False)  # quantity * unit_price - discount
    refunded_quantity: Mapped[int] = mapped_column(Integer, default=0)

    __table_args__ = (Index(None, "sku"),)


class Refund(Base):
    __tablename__ = "refunds"
    source: Mapped[str] = mapped_column(SourceName, primary_key=True)
    external_id: Mapped[str] = mapped_column(ExternalId, primary_key=True)
    external_order_id: Mapped[str] = mapped_column(ExternalId)
    created_at = mapped_column(UtcDateTime, nullable=False)
    # WooCommerce's order listing gives no refund date: it is then the order's modification time.
    created_at_estimated: Mapped[bool] = mapped_column(Boolean, default=False)
    amount = mapped_column(Money, nullable=False)  # positive
    currency: Mapped[str] = mapped_column(String(3))
    reason: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        Index(None, "source", "external_order_id"),
        Index(None, "created_at"),
    )


class Customer(Base):
    """Contact details, only for the flows that must reach people (surveys)."""

    __tablename__ = "customers"
    customer_key: Mapped[str] = mapped_column(String(64), primary_key=True)
    email: Mapped[str | None] = mapped_column(String(320))
    phone: Mapped[str | None] = mapped_column(String(32))
    accepts_marketing: Mapped[bool | None] = mapped_column(Boolean)
    country: Mapped[str | None] = mapped_column(String(2))
    first_order_at = mapped_column(UtcDateTime)
    last_order_at = mapped_column(UtcDateTime)
    first_source: Mapped[str] = mapped_column(SourceName)
    updated_at = mapped_column(UtcDateTime, nullable=False)


class Product(Base):
    __tablename__ = "products"
    sku: Mapped[str] = mapped_column(String(64), primary_key=True)
    title: Mapped[str | None] = mapped_column(Text)
    category: Mapped[str | None] = mapped_column(String(128))
    vendor: Mapped[str | None] = mapped_column(String(128))
    status: Mapped[str | None] = mapped_column(String(16))
    is_presale: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    unit_cost = mapped_column(Money)
    list_price = mapped_column(Money)
    currency: Mapped[str | None] = mapped_column(String(3))
    # Purchasing attributes come from the supplier catalogue (shopops products import-supply).
    supplier: Mapped[str | None] = mapped_column(String(128))
    pack_size: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    moq: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    lead_time_days: Mapped[int | None] = mapped_column(Integer)
    lead_time_std_days: Mapped[float | None] = mapped_column(Float)
    listed_at = mapped_column(UtcDateTime)
    source: Mapped[str | None] = mapped_column(SourceName)
    source_updated_at = mapped_column(UtcDateTime)
    run_id: Mapped[str | None] = mapped_column(RunId)
    updated_at = mapped_column(UtcDateTime, nullable=False)


class InventoryLevel(Base):
    __tablename__ = "inventory_levels"
    source: Mapped[str] = mapped_column(SourceName, primary_key=True)
    location_id: Mapped[str] = mapped_column(ExternalId, primary_key=True)
    sku: Mapped[str] = mapped_column(String(64), primary_key=True)
    location_name: Mapped[str | None] = mapped_column(String(128))
    available: Mapped[int] = mapped_column(Integer)
    source_updated_at = mapped_column(UtcDateTime)
    fetched_at = mapped_column(UtcDateTime, nullable=False)
    run_id: Mapped[str] = mapped_column(RunId)

    __table_args__ = (Index(None, "sku"),)


class InventorySnapshot(Base):
    """Stock per location at the end of each day (the last sync of the day wins), so that
    replenishment can tell a day without sales from a day without stock, and a backfill sees
    only the stock that was known at its date. History from before shopops ran can be imported."""

    __tablename__ = "inventory_snapshots"
    source: Mapped[str] = mapped_column(SourceName, primary_key=True)
    location_id: Mapped[str] = mapped_column(ExternalId, primary_key=True)
    sku: Mapped[str] = mapped_column(String(64), primary_key=True)
    snapshot_date = mapped_column(Date, primary_key=True)
    available: Mapped[int] = mapped_column(Integer)
    run_id: Mapped[str] = mapped_column(RunId)
    taken_at = mapped_column(UtcDateTime, nullable=False)

    __table_args__ = (Index(None, "snapshot_date"),)


class PriceSnapshot(Base):
    """Our list price and unit cost per SKU from the day they took effect until the SKU's next
    row (sparse, like stock: the catalogue sync writes a row only on a change), so a backfill
    prices each past date as it stood."""

    __tablename__ = "price_snapshots"
    sku: Mapped[str] = mapped_column(String(64), primary_key=True)
    snapshot_date = mapped_column(Date, primary_key=True)
    list_price = mapped_column(Money)
    unit_cost = mapped_column(Money)
    currency: Mapped[str | None] = mapped_column(String(3))
    run_id: Mapped[str] = mapped_column(RunId)
    taken_at = mapped_column(UtcDateTime, nullable=False)


class ReplenishmentSuggestion(Base):
    """One row per SKU, stock pool and business date: every input of the decision and the decision."""

    __tablename__ = "replenishment_suggestions"
    as_of_date = mapped_column(Date, primary_key=True)
    sku: Mapped[str] = mapped_column(String(64), primary_key=True)
    location: Mapped[str] = mapped_column(SourceName, primary_key=True)  # the stock pool (a shop)
    supplier: Mapped[str | None] = mapped_column(String(128))
    history_days: Mapped[int] = mapped_column(Integer)
    observed_days: Mapped[int] = mapped_column(Integer)    # in stock: counted
    censored_days: Mapped[int] = mapped_column(Integer)    # out of stock: left out of demand
    units_sold: Mapped[float] = mapped_column(Float)
    demand_class: Mapped[str] = mapped_column(String(16))
    forecast_method: Mapped[str] = mapped_column(String(8))
    forecast_daily: Mapped[float] = mapped_column(Float)
    demand_std: Mapped[float] = mapped_column(Float)
    best_seller: Mapped[bool] = mapped_column(Boolean)
    available: Mapped[float] = mapped_column(Float)
    committed: Mapped[float] = mapped_column(Float)
    on_hand: Mapped[float] = mapped_column(Float)
    on_order: Mapped[float] = mapped_column(Float)
    presale_pool: Mapped[float] = mapped_column(Float)
    is_presale: Mapped[bool] = mapped_column(Boolean)                 # pre-sale SKUs are never reordered
    inventory_position: Mapped[float] = mapped_column(Float)
    lead_time_days: Mapped[float] = mapped_column(Float)
    lead_time_source: Mapped[str] = mapped_column(String(32))
    lead_time_std_days: Mapped[float | None] = mapped_column(Float)
    service_level: Mapped[float] = mapped_column(Float)
    safety_stock_rule: Mapped[str] = mapped_column(String(64))
    safety_stock: Mapped[float] = mapped_column(Float)
    reorder_point: Mapped[float] = mapped_column(Float)
    order_up_to: Mapped[float] = mapped_column(Float)
    pack_size: Mapped[int] = mapped_column(Integer)
    moq: Mapped[int] = mapped_column(Integer)
    suggested_quantity: Mapped[int] = mapped_column(Integer)
    quantity_reason: Mapped[str] = mapped_column(Text)
    unit_cost: Mapped[float | None] = mapped_column(Float)
    margin: Mapped[float | None] = mapped_column(Float)               # (list price - cost) / list price
    idle_in_stock_days: Mapped[int] = mapped_column(Integer)          # in-stock days since the last sale
    delisting_warning: Mapped[bool] = mapped_column(Boolean)
    delisting_reason: Mapped[str] = mapped_column(Text)
    slow_mover_score: Mapped[int] = mapped_column(Integer)            # 0-100, higher is worse
    slow_mover_action: Mapped[str] = mapped_column(String(32))        # clearance | bundle | off-site promotion
    returned_units: Mapped[float] = mapped_column(Float)              # refunded before the date, over the history
    return_rate: Mapped[float | None] = mapped_column(Float)          # returned / sold (None without sales)
    run_id: Mapped[str] = mapped_column(RunId)
    computed_at = mapped_column(UtcDateTime, nullable=False)


class PurchaseOrderLine(Base):
    """One SKU on a purchase order, from the purchasing system's export
    (`shopops purchasing import-orders`); what is still to arrive counts as on order."""

    __tablename__ = "purchase_orders"
    po_number: Mapped[str] = mapped_column(String(64), primary_key=True)
    sku: Mapped[str] = mapped_column(String(64), primary_key=True)
    stock_pool: Mapped[str] = mapped_column(SourceName)     # the shop whose stock it goes into
    supplier: Mapped[str | None] = mapped_column(String(128))
    quantity: Mapped[int] = mapped_column(Integer)
    received_quantity: Mapped[int] = mapped_column(Integer, default=0)
    ordered_on = mapped_column(Date, nullable=False)
    expected_on = mapped_column(Date)
    received_on = mapped_column(Date)                       # when the last units arrived
    status: Mapped[str] = mapped_column(String(16))         # open | received | cancelled
    updated_at = mapped_column(UtcDateTime, nullable=False)

    __table_args__ = (Index(None, "sku"),)


class StockAlert(Base):
    """SKUs that need attention on a business date: critical, warning or watch."""

    __tablename__ = "stock_alerts"
    as_of_date = mapped_column(Date, primary_key=True)
    sku: Mapped[str] = mapped_column(String(64), primary_key=True)
    location: Mapped[str] = mapped_column(SourceName, primary_key=True)
    level: Mapped[str] = mapped_column(String(8))           # critical | warning | watch
    reason: Mapped[str] = mapped_column(Text)
    # What the day's numbers alone say; differs from `level` when the previous day's level is held.
    raw_level: Mapped[str] = mapped_column(String(8))       # ok | watch | warning | critical
    previous_level: Mapped[str | None] = mapped_column(String(8))  # None: no plan for the day before
    days_of_cover: Mapped[float | None] = mapped_column(Float)
    stockout_date = mapped_column(Date)
    inventory_position: Mapped[float] = mapped_column(Float)
    reorder_point: Mapped[float] = mapped_column(Float)
    forecast_daily: Mapped[float] = mapped_column(Float)
    lead_time_days: Mapped[float] = mapped_column(Float)
    suggested_quantity: Mapped[int] = mapped_column(Integer)
    revenue_at_risk: Mapped[float] = mapped_column(Float)
    run_id: Mapped[str] = mapped_column(RunId)
    computed_at = mapped_column(UtcDateTime, nullable=False)


class CompetitorProduct(Base):
    """Which competitor page sells each of our SKUs (the team's catalogue: `shopops pricing
    import-catalogue`); `price_selector` is read when the page has no structured data."""

    __tablename__ = "competitor_products"
    sku: Mapped[str] = mapped_column(String(64), primary_key=True)
    competitor: Mapped[str] = mapped_column(String(64), primary_key=True)
    url: Mapped[str] = mapped_column(Text)
    price_selector: Mapped[str | None] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at = mapped_column(UtcDateTime, nullable=False)


class CrawlState(Base):
    """What the last crawl of a page learnt, for a conditional request the next time."""

    __tablename__ = "crawl_state"
    url: Mapped[str] = mapped_column(String(2048), primary_key=True)
    etag: Mapped[str | None] = mapped_column(Text)
    last_modified: Mapped[str | None] = mapped_column(String(64))
    fetched_at = mapped_column(UtcDateTime, nullable=False)


class CompetitorPrice(Base):
    """One observation per SKU, competitor and day (the day's last crawl wins; an unchanged
    re-crawl leaves the row alone). A price is stored only with status `ok` or `out_of_stock`
    (the price shown beside "sold out", for the record); any other status has none."""

    __tablename__ = "competitor_prices"
    sku: Mapped[str] = mapped_column(String(64), primary_key=True)
    competitor: Mapped[str] = mapped_column(String(64), primary_key=True)
    observed_on = mapped_column(Date, primary_key=True)    # the competitor's day (its Date header, UTC)
    status: Mapped[str] = mapped_column(String(16))       # ok | out_of_stock | missing_price | parse_error | blocked | refused | http_error
    price = mapped_column(Money)
    currency: Mapped[str | None] = mapped_column(String(3))
    method: Mapped[str] = mapped_column(String(16))       # json-ld | microdata | css | none
    detail: Mapped[str] = mapped_column(Text)
    url: Mapped[str] = mapped_column(Text)
    observed_at = mapped_column(UtcDateTime, nullable=False)
    run_id: Mapped[str] = mapped_column(RunId)

    __table_args__ = (Index(None, "observed_on"),)


class PricingRule(Base):
    """The team's pricing sheet (`shopops pricing import-rules`): which SKUs drive traffic, a
    margin floor of their own, a member price."""

    __tablename__ = "pricing_rules"
    sku: Mapped[str] = mapped_column(String(64), primary_key=True)
    role: Mapped[str] = mapped_column(String(16))          # traffic | regular
    min_margin: Mapped[float | None] = mapped_column(Float)  # None: the flow's default
    member_price = mapped_column(Money)
    updated_at = mapped_column(UtcDateTime, nullable=False)


class MarketPrice(Base):
    """Per SKU and business date: the market from the competitors' valid observations, and our
    position in it."""

    __tablename__ = "market_prices"
    as_of_date = mapped_column(Date, primary_key=True)
    sku: Mapped[str] = mapped_column(String(64), primary_key=True)
    currency: Mapped[str | None] = mapped_column(String(3))
    competitors: Mapped[int] = mapped_column(Integer)      # valid observations counted
    market_average: Mapped[float | None] = mapped_column(Float)
    market_minimum: Mapped[float | None] = mapped_column(Float)
    market_maximum: Mapped[float | None] = mapped_column(Float)
    cheapest_competitor: Mapped[str | None] = mapped_column(String(64))
    our_price: Mapped[float | None] = mapped_column(Float)
    price_index: Mapped[float | None] = mapped_column(Float)  # our price / market average × 100
    run_id: Mapped[str] = mapped_column(RunId)
    computed_at = mapped_column(UtcDateTime, nullable=False)


class PriceRecommendation(Base):
    """Per SKU and business date: the price the rules recommend, and which rule and limit set it."""

    __tablename__ = "price_recommendations"
    as_of_date = mapped_column(Date, primary_key=True)
    sku: Mapped[str] = mapped_column(String(64), primary_key=True)
    role: Mapped[str] = mapped_column(String(16))
    rule: Mapped[str] = mapped_column(Text)
    our_price: Mapped[float | None] = mapped_column(Float)
    unit_cost: Mapped[float | None] = mapped_column(Float)
    min_margin: Mapped[float] = mapped_column(Float)
    floor_price: Mapped[float | None] = mapped_column(Float)
    market_average: Mapped[float | None] = mapped_column(Float)
    competitors: Mapped[int] = mapped_column(Integer)
    band_low: Mapped[float | None] = mapped_column(Float)
    band_high: Mapped[float | None] = mapped_column(Float)
    recommended_price: Mapped[float | None] = mapped_column(Float)
    change_percent: Mapped[float | None] = mapped_column(Float)
    action: Mapped[str] = mapped_column(String(16))        # keep | lower | raise | review
    bound_by: Mapped[str] = mapped_column(String(32))      # none | cost floor | max daily change | no market | no cost
    out_of_band: Mapped[bool] = mapped_column(Boolean)
    reason: Mapped[str] = mapped_column(Text)
    member_price: Mapped[float | None] = mapped_column(Float)
    member_recommended: Mapped[float | None] = mapped_column(Float)
    member_note: Mapped[str] = mapped_column(Text)
    run_id: Mapped[str] = mapped_column(RunId)
    computed_at = mapped_column(UtcDateTime, nullable=False)


class PriceAlert(Base):
    """Abnormal day-over-day moves (ours or a competitor's) and pages that stopped giving a price;
    a move is only ever between two valid prices."""

    __tablename__ = "price_alerts"
    as_of_date = mapped_column(Date, primary_key=True)
    sku: Mapped[str] = mapped_column(String(64), primary_key=True)
    competitor: Mapped[str] = mapped_column(String(64), primary_key=True)  # "ours" for our own price
    kind: Mapped[str] = mapped_column(String(24), primary_key=True)  # price move | out of stock | no price | floor binds
    previous_price: Mapped[float | None] = mapped_column(Float)
    price: Mapped[float | None] = mapped_column(Float)
    change_percent: Mapped[float | None] = mapped_column(Float)
    detail: Mapped[str] = mapped_column(Text)
    run_id: Mapped[str] = mapped_column(RunId)
    computed_at = mapped_column(UtcDateTime, nullable=False)


class CompetitorHealth(Base):
    """How well each competitor's pages could be read on a business date, so a broken selector
    is seen the day it breaks."""

    __tablename__ = "competitor_health"
    as_of_date = mapped_column(Date, primary_key=True)
    competitor: Mapped[str] = mapped_column(String(64), primary_key=True)
    pages: Mapped[int] = mapped_column(Integer)
    ok: Mapped[int] = mapped_column(Integer)
    out_of_stock: Mapped[int] = mapped_column(Integer)
    missing_price: Mapped[int] = mapped_column(Integer)
    parse_error: Mapped[int] = mapped_column(Integer)
    blocked: Mapped[int] = mapped_column(Integer)          # robots.txt or refused addresses: not counted against it
    http_error: Mapped[int] = mapped_column(Integer)
    success_rate: Mapped[float | None] = mapped_column(Float)  # readable pages / pages it may be crawled for
    previous_success_rate: Mapped[float | None] = mapped_column(Float)
    last_success_on = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(16))        # healthy | degraded | broken | not crawled
    detail: Mapped[str] = mapped_column(Text)
    run_id: Mapped[str] = mapped_column(RunId)
    computed_at = mapped_column(UtcDateTime, nullable=False)


class Quarantine(Base):
    """Records that could not be loaded, with every reason; one row per distinct record.

    Idempotent: meeting the same record again changes nothing (unless its reasons changed), so
    `run_id` is the run that first quarantined it; per-run counts live in `load_audit`.
    """

    __tablename__ = "quarantine"
    id: Mapped[int] = mapped_column(AutoId, primary_key=True, autoincrement=True)
    source: Mapped[str] = mapped_column(SourceName)
    stream: Mapped[str] = mapped_column(String(32))
    external_id: Mapped[str | None] = mapped_column(ExternalId)
    updated_at = mapped_column(UtcDateTime)
    record_hash: Mapped[str] = mapped_column(String(64))  # sha256 of the payload
    payload: Mapped[str] = mapped_column(Text)
    reasons: Mapped[str] = mapped_column(Text)  # JSON list of sentences a person can act on
    run_id: Mapped[str] = mapped_column(RunId)
    quarantined_at = mapped_column(UtcDateTime, nullable=False)

    __table_args__ = (
        UniqueConstraint("source", "stream", "record_hash"),
        Index(None, "run_id"),
    )


class RiskRescreen(Base):
    """Customers whose orders, from `since` on, must be screened again: a load changed what came
    before them (tasks/rescreen.py). Written with the load's commit, removed by the re-screen."""

    __tablename__ = "risk_rescreens"
    id: Mapped[int] = mapped_column(AutoId, primary_key=True, autoincrement=True)
    customer_key: Mapped[str] = mapped_column(String(64))
    since = mapped_column(UtcDateTime, nullable=False)


class SyncState(Base):
    """The committed cursor per source and stream: every record updated before it is loaded."""

    __tablename__ = "sync_state"
    source: Mapped[str] = mapped_column(SourceName, primary_key=True)
    stream: Mapped[str] = mapped_column(String(32), primary_key=True)
    cursor = mapped_column(UtcDateTime, nullable=False)
    run_id: Mapped[str] = mapped_column(RunId)
    updated_at = mapped_column(UtcDateTime, nullable=False)


class LoadAudit(Base):
    """Per run, source and stream: fetched = inserted + updated + unchanged + duplicates + quarantined."""

    __tablename__ = "load_audit"
    run_id: Mapped[str] = mapped_column(RunId, primary_key=True)
    source: Mapped[str] = mapped_column(SourceName, primary_key=True)
    stream: Mapped[str] = mapped_column(String(32), primary_key=True)
    window_start = mapped_column(UtcDateTime)
    window_end = mapped_column(UtcDateTime)
    started_at = mapped_column(UtcDateTime, nullable=False)
    finished_at = mapped_column(UtcDateTime)
    status: Mapped[str] = mapped_column(String(16))  # running | succeeded | failed
    fetched: Mapped[int] = mapped_column(Integer, default=0)
    inserted: Mapped[int] = mapped_column(Integer, default=0)
    updated: Mapped[int] = mapped_column(Integer, default=0)
    unchanged: Mapped[int] = mapped_column(Integer, default=0)
    duplicates: Mapped[int] = mapped_column(Integer, default=0)
    quarantined: Mapped[int] = mapped_column(Integer, default=0)
    chunks: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)


class Promotion(Base):
    """A promotion as data: from a marketplace (Shopify price rule, WooCommerce coupon) or the
    team's calendar. `parameters`, the scope lists and `codes` are JSON text."""

    __tablename__ = "promotions"
    promotion_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    origin: Mapped[str] = mapped_column(String(64))       # calendar, or the source it came from
    name: Mapped[str] = mapped_column(Text)
    type: Mapped[str] = mapped_column(String(16))         # percentage | fixed | threshold | gift | flash | member
    parameters: Mapped[str] = mapped_column(Text)         # percent, amount, tiers, gift_sku, gift_cost, phases …
    starts_at = mapped_column(UtcDateTime, nullable=False)
    ends_at = mapped_column(UtcDateTime, nullable=False)
    scope_skus: Mapped[str | None] = mapped_column(Text)        # JSON list; empty: every SKU
    scope_categories: Mapped[str | None] = mapped_column(Text)  # JSON list
    scope_channels: Mapped[str | None] = mapped_column(Text)    # JSON list of source names; empty: all
    member_only: Mapped[bool] = mapped_column(Boolean, default=False)
    codes: Mapped[str | None] = mapped_column(Text)             # JSON list, upper case
    updated_at = mapped_column(UtcDateTime, nullable=False)


class PromotionAttribution(Base):
    """An order line a promotion touched (by its code, or by scope and time window), with the
    discount and gift cost it carried and how much of it was kept after refunds."""

    __tablename__ = "promotion_attributions"
    promotion_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    source: Mapped[str] = mapped_column(SourceName, primary_key=True)
    external_order_id: Mapped[str] = mapped_column(ExternalId, primary_key=True)
    line_id: Mapped[str] = mapped_column(ExternalId, primary_key=True)
    matched_by: Mapped[str] = mapped_column(String(8))         # code | scope
    created_at = mapped_column(UtcDateTime, nullable=False)
    sku: Mapped[str] = mapped_column(String(64))
    quantity: Mapped[int] = mapped_column(Integer)
    kept_quantity: Mapped[int] = mapped_column(Integer)        # after refunds
    gross = mapped_column(Money, nullable=False)               # quantity × unit price, before discounts
    discount = mapped_column(Money, nullable=False)            # given on the line
    kept_discount = mapped_column(Money, nullable=False)       # on the units not refunded
    is_gift: Mapped[bool] = mapped_column(Boolean, default=False)
    gift_cost = mapped_column(Money, nullable=False)           # kept gift units × their unit cost
    expected_discount = mapped_column(Money)                   # what the rules give the order (thresholds)
    run_id: Mapped[str] = mapped_column(RunId)
    __table_args__ = (Index("ix_promotion_attributions_order", "source", "external_order_id"),)


class PromotionReview(Base):
    """One promotion reviewed on one date: what it did against its baseline, what it cost, and the
    verdict with its reason and uncertainty. `inputs` (JSON) keeps every number the verdict used."""

    __tablename__ = "promotion_reviews"
    promotion_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    review_date = mapped_column(Date, primary_key=True)
    provisional: Mapped[bool] = mapped_column(Boolean)         # still running on the review date
    type: Mapped[str] = mapped_column(String(16))
    days: Mapped[int] = mapped_column(Integer)
    orders: Mapped[int] = mapped_column(Integer)
    units: Mapped[int] = mapped_column(Integer)
    sales = mapped_column(Money, nullable=False)               # net of discounts and refunds, in scope
    aov = mapped_column(Money)
    new_customers: Mapped[int] = mapped_column(Integer)
    new_customer_repeat_rate: Mapped[float | None] = mapped_column(Float)
    conversion_rate: Mapped[float | None] = mapped_column(Float)  # none: no traffic data
    baseline_method: Mapped[str] = mapped_column(Text)
    baseline_sales = mapped_column(Money)
    lift_sales = mapped_column(Money)
    lift_percent: Mapped[float | None] = mapped_column(Float)
    lift_percent_low: Mapped[float | None] = mapped_column(Float)
    lift_percent_high: Mapped[float | None] = mapped_column(Float)
    pull_forward_margin = mapped_column(Money)                 # margin lost after the end (a dip is negative)
    cannibalised_margin = mapped_column(Money)                 # siblings' margin lost during it
    discount_cost = mapped_column(Money, nullable=False)
    gift_cost = mapped_column(Money, nullable=False)
    shipping_cost = mapped_column(Money, nullable=False)
    incremental_margin = mapped_column(Money)                  # at list price, net of dip and siblings
    incremental_margin_low = mapped_column(Money)
    incremental_margin_high = mapped_column(Money)
    roi: Mapped[float | None] = mapped_column(Float)
    roi_low: Mapped[float | None] = mapped_column(Float)
    roi_high: Mapped[float | None] = mapped_column(Float)
    verdict: Mapped[str] = mapped_column(String(16))           # repeat | adjust | stop | not enough data
    reason: Mapped[str] = mapped_column(Text)
    inputs: Mapped[str] = mapped_column(Text)
    run_id: Mapped[str] = mapped_column(RunId)
    computed_at = mapped_column(UtcDateTime, nullable=False)


# --- support desk and satisfaction surveys ----------------------------------------------------
class Ticket(Base):
    """A support-desk ticket as last exported. `level` is the complaint level the SLA applies to
    (general / urgent / major, from the desk's priority); customer_key as in `orders`."""

    __tablename__ = "tickets"
    desk: Mapped[str] = mapped_column(SourceName, primary_key=True)
    ticket_id: Mapped[str] = mapped_column(ExternalId, primary_key=True)
    created_at = mapped_column(UtcDateTime, nullable=False)
    updated_at = mapped_column(UtcDateTime, nullable=False)
    type: Mapped[str | None] = mapped_column(String(16))       # question | incident | problem | task
    status: Mapped[str] = mapped_column(String(16))            # new | open | pending | hold | solved | closed | deleted
    priority: Mapped[str | None] = mapped_column(String(16))
    level: Mapped[str] = mapped_column(String(8))              # general | urgent | major
    is_complaint: Mapped[bool] = mapped_column(Boolean)
    channel: Mapped[str | None] = mapped_column(String(16))    # email | web | chat …
    cause: Mapped[str | None] = mapped_column(String(32))      # delivery_delay, description_mismatch, quality …
    sku: Mapped[str | None] = mapped_column(String(64))
    store: Mapped[str | None] = mapped_column(SourceName)      # the order's source
    order_number: Mapped[str | None] = mapped_column(String(64))
    customer_key: Mapped[str | None] = mapped_column(String(64))
    first_reply_at = mapped_column(UtcDateTime)
    solved_at = mapped_column(UtcDateTime)
    run_id: Mapped[str] = mapped_column(RunId)
    loaded_at = mapped_column(UtcDateTime, nullable=False)

    __table_args__ = (Index(None, "customer_key"), Index(None, "updated_at"))


class Chat(Base):
    __tablename__ = "chats"
    desk: Mapped[str] = mapped_column(SourceName, primary_key=True)
    chat_id: Mapped[str] = mapped_column(ExternalId, primary_key=True)
    started_at = mapped_column(UtcDateTime, nullable=False)
    ended_at = mapped_column(UtcDateTime)
    updated_at = mapped_column(UtcDateTime, nullable=False)
    first_response_seconds: Mapped[float | None] = mapped_column(Float)
    missed: Mapped[bool] = mapped_column(Boolean)
    department: Mapped[str | None] = mapped_column(String(128))
    run_id: Mapped[str] = mapped_column(RunId)


class SurveyInvitation(Base):
    """Every invitation decision, sent or suppressed, with its reason. One row per trigger and
    subject (an order, a ticket, a customer's quarter): re-running a date never decides twice.

    status: suppressed | pending (to send from send_after) | deferred (quiet hours, until
    send_after) | claimed (a dispatch took it) | sending (its batch is going out) | sent | failed |
    interrupted (a dispatch died while sending it: never resent, so nobody gets two)."""

    __tablename__ = "survey_invitations"
    invitation_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    trigger: Mapped[str] = mapped_column(String(16))           # delivery | complaint | relationship
    subject: Mapped[str] = mapped_column(String(160))          # source:order, desk:ticket, or the quarter
    survey: Mapped[str] = mapped_column(String(16))            # post_purchase | complaint | relationship
    customer_key: Mapped[str] = mapped_column(String(64))
    source: Mapped[str | None] = mapped_column(SourceName)     # the order's marketplace, when there is one
    external_order_id: Mapped[str | None] = mapped_column(ExternalId)
    ticket_id: Mapped[str | None] = mapped_column(ExternalId)
    channel: Mapped[str | None] = mapped_column(String(8))     # email | sms
    decided_on = mapped_column(Date, nullable=False)
    status: Mapped[str] = mapped_column(String(12))
    reason: Mapped[str] = mapped_column(Text)
    send_after = mapped_column(UtcDateTime)
    sent_at = mapped_column(UtcDateTime)
    expires_at = mapped_column(UtcDateTime)
    provider_id: Mapped[str | None] = mapped_column(String(64))  # the SMTP Message-ID or the SMS sid
    run_id: Mapped[str] = mapped_column(RunId)
    updated_at = mapped_column(UtcDateTime, nullable=False)

    __table_args__ = (UniqueConstraint("trigger", "subject"), Index(None, "customer_key", "status"),
                      Index(None, "decided_on"))


class SurveyResponse(Base):
    """A response pulled from the survey provider. `validity` says whether it counts: valid, or
    tampered / expired / replayed / unknown (not counted; kept for the record)."""

    __tablename__ = "survey_responses"
    response_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    invitation_id: Mapped[str | None] = mapped_column(String(40))
    survey: Mapped[str | None] = mapped_column(String(16))
    via: Mapped[str | None] = mapped_column(String(8))         # email | sms
    nps: Mapped[int | None] = mapped_column(Integer)           # 0–10
    csat: Mapped[int | None] = mapped_column(Integer)          # 1–5
    comment: Mapped[str | None] = mapped_column(Text)
    submitted_at = mapped_column(UtcDateTime, nullable=False)
    updated_at = mapped_column(UtcDateTime, nullable=False)
    validity: Mapped[str] = mapped_column(String(12))
    run_id: Mapped[str] = mapped_column(RunId)

    __table_args__ = (Index(None, "invitation_id"),)


class SatisfactionScore(Base):
    """One measure for one cell on one date: NPS and CSAT by channel / category / week (and the
    service levels), with the sample size, a 95% interval and a verdict against the target
    ("too few responses" when the cell cannot say anything)."""

    __tablename__ = "satisfaction_scores"
    score_date = mapped_column(Date, primary_key=True)
    measure: Mapped[str] = mapped_column(String(32), primary_key=True)    # nps | csat | first_reply_sla | …
    dimension: Mapped[str] = mapped_column(String(16), primary_key=True)  # all | channel | via | category | week | level
    cell: Mapped[str] = mapped_column(String(128), primary_key=True)
    period_start = mapped_column(Date, nullable=False)
    responses: Mapped[int] = mapped_column(Integer)
    score: Mapped[float | None] = mapped_column(Float)
    low: Mapped[float | None] = mapped_column(Float)
    high: Mapped[float | None] = mapped_column(Float)
    target: Mapped[float | None] = mapped_column(Float)
    verdict: Mapped[str] = mapped_column(String(24))
    run_id: Mapped[str] = mapped_column(RunId)


class SlaBreach(Base):
    """A complaint past its first-reply deadline (breached) or close to it (at risk) on a date."""

    __tablename__ = "sla_breaches"
    score_date = mapped_column(Date, primary_key=True)
    desk: Mapped[str] = mapped_column(SourceName, primary_key=True)
    ticket_id: Mapped[str] = mapped_column(ExternalId, primary_key=True)
    state: Mapped[str] = mapped_column(String(12))          # breached | at risk
    level: Mapped[str] = mapped_column(String(8))
    created_at = mapped_column(UtcDateTime, nullable=False)
    due_at = mapped_column(UtcDateTime, nullable=False)
    first_reply_at = mapped_column(UtcDateTime)
    hours_late: Mapped[float | None] = mapped_column(Float)
    cause: Mapped[str | None] = mapped_column(String(32))
    sku: Mapped[str | None] = mapped_column(String(64))
    escalated: Mapped[bool] = mapped_column(Boolean)
    run_id: Mapped[str] = mapped_column(RunId)


class ComplaintCause(Base):
    """Complaints per SKU and cause over the look-back before a date (replenishment reads them)."""

    __tablename__ = "complaint_causes"
    score_date = mapped_column(Date, primary_key=True)
    sku: Mapped[str] = mapped_column(String(64), primary_key=True)
    cause: Mapped[str] = mapped_column(String(32), primary_key=True)
    complaints: Mapped[int] = mapped_column(Integer)
    units_sold: Mapped[int] = mapped_column(Integer)
    rank: Mapped[int] = mapped_column(Integer)              # 1 = the SKU's most frequent cause
    run_id: Mapped[str] = mapped_column(RunId)


class BackfillChunk(Base):
    """One chunk of a backfill and how far it got; a backfill started again with the same
    arguments (the same `backfill_key`) resumes from its first unfinished chunk."""

    __tablename__ = "backfill_chunks"
    backfill_key: Mapped[str] = mapped_column(String(32), primary_key=True)
    chunk: Mapped[int] = mapped_column(Integer, primary_key=True)   # 0, 1, … in date order
    flow: Mapped[str] = mapped_column(String(64))
    first_date = mapped_column(Date, nullable=False)
    last_date = mapped_column(Date, nullable=False)                  # inclusive
    status: Mapped[str] = mapped_column(String(12))                  # pending | running | completed | failed
    attempts: Mapped[int] = mapped_column(Integer)
    started_at = mapped_column(UtcDateTime)
    finished_at = mapped_column(UtcDateTime)
    error: Mapped[str | None] = mapped_column(Text)
    run_id: Mapped[str | None] = mapped_column(RunId, nullable=True)   # the backfill run that last ran it


class FileDrop(Base):
    """Each export file a file-drop source has seen, by the checksum of its content: a file is
    loaded once however often (and under whatever name) it is dropped again."""

    __tablename__ = "file_drops"
    source: Mapped[str] = mapped_column(SourceName, primary_key=True)
    checksum: Mapped[str] = mapped_column(String(64), primary_key=True)   # sha256 of the bytes
    file_name: Mapped[str] = mapped_column(String(255))
    status: Mapped[str] = mapped_column(String(12))                       # processed | failed
    rows: Mapped[int] = mapped_column(Integer)                            # data rows in the file
    orders: Mapped[int] = mapped_column(Integer)                          # order versions in them
    reason: Mapped[str | None] = mapped_column(Text)                      # why it failed
    moved_to: Mapped[str] = mapped_column(Text)                           # where the file went
    run_id: Mapped[str] = mapped_column(RunId)
    processed_at = mapped_column(UtcDateTime, nullable=False)


class FxRate(Base):
    """A dated exchange rate: one unit of `currency` is `rate` units of the reporting currency
    (SHOPOPS_REPORTING_CURRENCY). A day without a rate (a weekend) uses the last earlier one."""

    __tablename__ = "fx_rates"
    day = mapped_column(Date, primary_key=True)
    currency: Mapped[str] = mapped_column(String(3), primary_key=True)
    rate = mapped_column(Numeric(20, 10), nullable=False)
    source: Mapped[str] = mapped_column(String(255))                 # the file it came from
    loaded_at = mapped_column(UtcDateTime, nullable=False)


TABLES = Base.metadata.tables
