"""Risk flags that do not depend on the order orders were loaded in.

A chunk screens its orders against the customer's orders already in the warehouse (tasks/clean.py).
An earlier order of the same customer that arrives later changes what the later orders should say:
it may come in a later chunk (a backfill loads a month's orders by update time), from another
source, or in another run. So each load queues, in its own transaction, every customer it wrote an
order for, from that order's creation on (`risk_rescreens`); each run ends, once its last source has
loaded (tasks/ingest.finish_source_run), by screening the queued customers' orders again against the
warehouse as it is then, and removing what it handled.

Each order keeps the count and total of the earlier orders its flags were worked out from, so only
the orders whose history is no longer that are screened again: most orders of a backfill arrive
after their customer's earlier ones, and cost the re-screen one window scan and no rewrite.

Re-screens run one at a time across processes, and each holds the load locks of the sources its
customers have orders in: the last re-screen of an order saw every load committed before it,
whatever order the loads came in. A run that stops before its re-screen leaves its customers
queued for the next.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sqlalchemy import Connection, Engine, bindparam, text
from sqlalchemy.exc import DBAPIError

from shopops.logs import get_logger
from tasks.clean import RiskRules, assess_risk
from warehouse.engine import write_transaction
from warehouse.io import analyze_scratch, create_temp_table, insert_frame, lock_name, lock_source, read_frame
from warehouse.types import MONEY_UNIT, UtcDateTime, units_of

BATCH = 50_000        # queued rows per re-screen transaction
ATTEMPTS = 3          # a batch that meets a lock conflict is tried again this often

_QUEUE_CHUNK = text(
    # The chunk's orders (stg_apply) and the versions they replace, which may have had another
    # customer or creation time: one row per customer, from its earliest.
    "INSERT INTO risk_rescreens (customer_key, since) SELECT customer_key, MIN(created_at) FROM ("
    "  SELECT customer_key, created_at FROM stg_apply WHERE customer_key IS NOT NULL"
    "  UNION ALL SELECT o.customer_key, o.created_at FROM orders o JOIN stg_apply s ON o.external_id = s.external_id"
    "  WHERE o.source = :source AND o.customer_key IS NOT NULL"
    ") touched GROUP BY customer_key"
)
# The first `limit` queued rows, and every other row of the same customers: a customer queued by
# several chunks is screened once.
_QUEUED = text(
    "SELECT id, customer_key, since FROM risk_rescreens WHERE id <= :last AND customer_key IN ("
    "  SELECT customer_key FROM risk_rescreens WHERE id <= :last ORDER BY id LIMIT :limit)"
).columns(since=UtcDateTime)
# The orders of the queued customers from the queued time on whose flags were worked out from a
# history that is no longer the customer's: the count and total of the customer's orders created
# strictly before each (a window without the order's peers at the same moment, as the first
# screen counts them), compared with what the order was screened with. Only those come back, with
# whether a line is of a fragile category (looked up per order through the line and product keys).
_STALE = text(
    "SELECT h.source, h.external_id, h.customer_key, CAST(h.total AS FLOAT) AS total, h.billing_country, "
    "h.shipping_country, h.payment_method, h.risk_level, h.risk_reasons, h.prior_orders, "
    "CAST(h.prior_total AS FLOAT) AS prior_total, "
    "EXISTS (SELECT 1 FROM order_lines l JOIN products p ON p.sku = l.sku "
    "  WHERE l.source = h.source AND l.external_order_id = h.external_id AND p.category IN :categories) AS fragile "
    "FROM (SELECT o.source, o.external_id, o.customer_key, o.created_at, o.total, o.billing_country, "
    "  o.shipping_country, o.payment_method, o.risk_level, o.risk_reasons, o.risk_prior_orders, "
    "  o.risk_prior_total, t.since, COUNT(*) OVER earlier AS prior_orders, "
    "  COALESCE(SUM(o.total) OVER earlier, 0) AS prior_total "
    "  FROM orders o JOIN stg_rescreen t ON o.customer_key = t.customer_key "
    "  WINDOW earlier AS (PARTITION BY o.customer_key ORDER BY o.created_at "
    "    RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW EXCLUDE GROUP)) h "
    "WHERE h.created_at >= h.since AND (h.risk_prior_orders IS NULL OR h.risk_prior_total IS NULL "
    "  OR h.risk_prior_orders <> h.prior_orders OR ROUND(h.risk_prior_total, 4) <> ROUND(h.prior_total, 4))"
).bindparams(bindparam("categories", expanding=True))
_SOURCES = text("SELECT DISTINCT o.source FROM orders o JOIN stg_rescreen t ON o.customer_key = t.customer_key")
_UPDATE = text(
    "UPDATE orders SET risk_level = c.risk_level, risk_reasons = c.risk_reasons, "
    "risk_prior_orders = c.risk_prior_orders, risk_prior_total = c.risk_prior_units / 10000.0 FROM stg_risk c "
    "WHERE orders.source = c.source AND orders.external_id = c.external_id"
)


@dataclass
class Rescreened:
    customers: int = 0
    orders: int = 0
    changed: int = 0


def queue_chunk_customers(conn: Connection, source: str) -> None:
    """Queue the customers of the orders staged in `stg_apply`, before those orders replace their
    older versions (inside the load's transaction)."""
    conn.execute(_QUEUE_CHUNK, {"source": source})


def rescreen_queued(engine: Engine, rules: RiskRules, *, batch: int = BATCH) -> Rescreened:
    """Screen again the orders of every customer queued so far, from the time they were queued for
    on, whose earlier orders are no longer those they were screened with. What loads still running
    queue meanwhile is left to their own runs' re-screens, so a run that is done does not wait for
    the others."""
    done = Rescreened()
    with engine.connect() as conn:
        last = conn.execute(text("SELECT MAX(id) FROM risk_rescreens")).scalar()
    while last is not None:
        for attempt in range(1, ATTEMPTS + 1):
            try:
                with write_transaction(engine) as conn:
                    handled = _rescreen_batch(conn, rules, batch, last)
                break
            except DBAPIError as exc:  # a deadlock or serialisation failure: the batch is undone
                if attempt == ATTEMPTS:
                    raise
                get_logger("shopops.ingest").warning("risk re-screen: %s; trying the batch again",
                                                     str(exc.orig or exc).splitlines()[0])
                time.sleep(attempt)
        if handled is None:
            break
        done.customers += handled.customers
        done.orders += handled.orders
        done.changed += handled.changed
    return done


def _rescreen_batch(conn: Connection, rules: RiskRules, batch: int, last: int) -> Rescreened | None:
    lock_name(conn, "shopops:risk-rescreen")
    queued = read_frame(conn, _QUEUED, {"last": last, "limit": batch}, ["id", "customer_key", "since"])
    if queued.empty:
        return None
    pending = queued.groupby("customer_key", as_index=False)["since"].min()
    create_temp_table(conn, "stg_rescreen", "customer_key VARCHAR(64) PRIMARY KEY, since TIMESTAMPTZ")
    insert_frame(conn, "stg_rescreen", pending.assign(since=pd.to_datetime(pending["since"], utc=True)),
                 ["customer_key", "since"])
    analyze_scratch(conn, "stg_rescreen")
    # The loads of the sources these customers have orders in wait until this batch commits, so
    # no order read below is replaced before its new flags are written. An order of a source that
    # appears after this was loaded later than the queue was read: that load's own queue entry,
    # left for the next re-screen, covers it.
    locked = sorted(conn.execute(_SOURCES).scalars())
    for source in locked:
        lock_source(conn, source)
    stale = read_frame(conn, _STALE, {"categories": sorted(rules.fragile_categories) or [""]})
    screened = _screened_again(stale[stale["source"].isin(locked)], rules)
    changed = int(((screened["risk_level"] != screened["old_level"])
                   | (screened["risk_reasons"].fillna("") != screened["old_reasons"].fillna(""))).sum())
    if not screened.empty:
        create_temp_table(conn, "stg_risk", "source VARCHAR(64), external_id VARCHAR(64), risk_level VARCHAR(8), "
                                            "risk_reasons TEXT, risk_prior_orders INTEGER, risk_prior_units BIGINT")
        insert_frame(conn, "stg_risk", screened, ["source", "external_id", "risk_level", "risk_reasons",
                                                  "risk_prior_orders", "risk_prior_units"])
        analyze_scratch(conn, "stg_risk")
        conn.execute(_UPDATE)
    create_temp_table(conn, "stg_rescreen_ids", "id BIGINT PRIMARY KEY")
    insert_frame(conn, "stg_rescreen_ids", queued[["id"]], ["id"])
    conn.execute(text("DELETE FROM risk_rescreens WHERE id IN (SELECT id FROM stg_rescreen_ids)"))
    return Rescreened(len(pending), len(screened), changed)


def _screened_again(stale: pd.DataFrame, rules: RiskRules) -> pd.DataFrame:
    """The flags of the stale orders from the history the warehouse holds now, with that history as
    the inputs to keep (`risk_prior_orders`; `risk_prior_units`, the total in ten-thousandths) and
    the flags they had (`old_level`, `old_reasons`)."""
    stale = stale.rename(columns={"risk_level": "old_level", "risk_reasons": "old_reasons"})
    stale["rid"] = np.arange(len(stale))
    # Ten-thousandths, as the first screen and the warehouse hold money.
    stale["total"] = units_of(stale["total"])
    stale["risk_prior_orders"] = stale["prior_orders"].astype(np.int64)
    stale["risk_prior_units"] = units_of(stale["prior_total"])
    history = pd.DataFrame({"rid": stale["rid"], "prior_orders": stale["risk_prior_orders"],
                            "prior_total": stale["risk_prior_units"] / MONEY_UNIT})
    fragile_rids = stale["rid"].to_numpy()[stale["fragile"].astype(bool).to_numpy()]
    return stale.merge(assess_risk(stale, history, fragile_rids, rules), on="rid")
