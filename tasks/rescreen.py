"""Risk flags that do not depend on the order orders were loaded in.

A chunk screens its orders against the customer's orders already in the warehouse (tasks/clean.py).
An earlier order of the same customer that arrives later changes what the later orders should say:
it may come in a later chunk (a backfill loads a month's orders by update time), from another
source, or in another run. So each load queues, in its own transaction, every customer it wrote an
order for, from that order's creation on (`risk_rescreens`); each source's run ends by screening the
queued customers' orders again against the warehouse as it is then, and removing what it handled.

Re-screens run one at a time across processes, and each holds the load locks of the sources whose
flags it rewrites: the last re-screen of an order saw every load committed before it, whatever order
the loads came in. A run that stops before its re-screen leaves its customers queued for the next.
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
from warehouse.io import create_temp_table, insert_frame, lock_name, lock_source, read_frame
from warehouse.types import MONEY_UNIT, UtcDateTime

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
# Every order of the queued customers (their history), and for those from the queued time on
# whether a line is of a fragile category: looked up per order through the line and product keys,
# which is several times faster than a join the planner starts from every fragile line there is.
_ORDERS = text(
    "SELECT o.source, o.external_id, o.customer_key, o.created_at, CAST(o.total AS FLOAT) AS total, "
    "o.billing_country, o.shipping_country, o.payment_method, o.risk_level, o.risk_reasons, t.since, "
    "CASE WHEN o.created_at >= t.since THEN EXISTS (SELECT 1 FROM order_lines l JOIN products p ON p.sku = l.sku "
    "  WHERE l.source = o.source AND l.external_order_id = o.external_id AND p.category IN :categories) "
    "ELSE FALSE END AS fragile "
    "FROM orders o JOIN stg_rescreen t ON o.customer_key = t.customer_key"
).columns(created_at=UtcDateTime, since=UtcDateTime).bindparams(bindparam("categories", expanding=True))
_UPDATE = text(
    "UPDATE orders SET risk_level = c.risk_level, risk_reasons = c.risk_reasons FROM stg_risk c "
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
    on; only flags that differ are written. What loads still running queue meanwhile is left to
    their own runs' re-screens, so a run that is done does not wait for the others."""
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
    orders = read_frame(conn, _ORDERS, {"categories": sorted(rules.fragile_categories) or [""]})
    affected = _screened_again(orders, rules)
    changed = affected[(affected["risk_level"] != affected["old_level"])
                       | (affected["risk_reasons"].fillna("") != affected["old_reasons"].fillna(""))]
    if not changed.empty:
        for source in sorted(changed["source"].unique()):  # no load of these sources is half-written
            lock_source(conn, source)
        create_temp_table(conn, "stg_risk", "source VARCHAR(64), external_id VARCHAR(64), risk_level VARCHAR(8), "
                                            "risk_reasons TEXT")
        insert_frame(conn, "stg_risk", changed, ["source", "external_id", "risk_level", "risk_reasons"])
        conn.execute(_UPDATE)
    create_temp_table(conn, "stg_rescreen_ids", "id BIGINT PRIMARY KEY")
    insert_frame(conn, "stg_rescreen_ids", queued[["id"]], ["id"])
    conn.execute(text("DELETE FROM risk_rescreens WHERE id IN (SELECT id FROM stg_rescreen_ids)"))
    return Rescreened(len(pending), len(affected), len(changed))


def _screened_again(orders: pd.DataFrame, rules: RiskRules) -> pd.DataFrame:
    """The flags of the orders created at or after their customer's queued time, from every order of
    the customer created strictly before each (as the first screen counts them); `fragile` marks
    the orders with a line of a fragile category."""
    orders["created_at"] = pd.to_datetime(orders["created_at"], utc=True)
    orders["since"] = pd.to_datetime(orders["since"], utc=True)
    # Ten-thousandths, summed exactly: the first screen sums the warehouse's exact decimals.
    orders["units"] = np.rint(pd.to_numeric(orders["total"]).to_numpy(dtype=float) * MONEY_UNIT).astype(np.int64)
    at_time = orders.groupby(["customer_key", "created_at"], sort=True).agg(n=("units", "size"), units=("units", "sum"))
    per_customer = at_time.groupby(level="customer_key")
    at_time["prior_orders"] = per_customer["n"].cumsum() - at_time["n"]
    at_time["prior_units"] = per_customer["units"].cumsum() - at_time["units"]
    affected = orders[orders["created_at"] >= orders["since"]].reset_index(drop=True)
    history = at_time.reindex(pd.MultiIndex.from_frame(affected[["customer_key", "created_at"]]))
    affected["rid"] = np.arange(len(affected))
    fragile_rids = affected["rid"].to_numpy()[affected["fragile"].astype(bool).to_numpy()]
    flags = assess_risk(
        affected.assign(total=affected["units"]),
        pd.DataFrame({"rid": affected["rid"], "prior_orders": history["prior_orders"].to_numpy(),
                      "prior_total": history["prior_units"].to_numpy() / MONEY_UNIT}),
        fragile_rids, rules)
    return affected.rename(columns={"risk_level": "old_level", "risk_reasons": "old_reasons"}).merge(flags, on="rid")
