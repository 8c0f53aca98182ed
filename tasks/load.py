"""One chunk of orders: decide what each record is, then write it all in one transaction.

Every fetched record ends in exactly one bucket, so that
    fetched = inserted + updated + unchanged + duplicates + quarantined
- duplicates: an older or repeated copy within the chunk, or a version this run already stored;
- quarantined: it breaks the contract (parse failures or a Great Expectations rule);
- inserted / updated: new to the warehouse, or newer than what it holds;
- unchanged: the warehouse already holds this version or a newer one (older never overwrites newer).
The cursor, when given, is written in the same transaction, so it never runs ahead of the data.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime

import numpy as np
import orjson
import pandas as pd
from sqlalchemy import Connection, bindparam, text

from tasks.clean import RiskRules, assess_risk, dedupe
from tasks.normalize.common import LINE_COLUMNS, ORDER_COLUMNS, REFUND_COLUMNS, Normalized, Reasons, record_hashes
from tasks.rescreen import queue_chunk_customers
from tasks.validate import ContractValidator, RunResults
from warehouse import state
from warehouse.io import analyze_scratch, create_temp_table, insert_frame, lock_source, read_frame, stage_like
from warehouse.sql_names import sql_name, sql_names
from warehouse.types import UtcDateTime, units_of

STREAM = "orders"


@dataclass
class Counts:
    fetched: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    duplicates: int = 0
    quarantined: int = 0

    def __iadd__(self, other: "Counts") -> "Counts":
        for name, value in asdict(other).items():
            setattr(self, name, getattr(self, name) + value)
        return self

    def reconciles(self) -> bool:
        return self.fetched == self.inserted + self.updated + self.unchanged + self.duplicates + self.quarantined


@dataclass(frozen=True)
class Catalogue:
    skus: frozenset[str]
    fragile_skus: frozenset[str]


@dataclass
class Prepared:
    """A validated chunk, ready for the warehouse."""

    normalized: Normalized
    candidates: np.ndarray      # one rid per order (its newest version) plus every keyless record
    repeats: np.ndarray         # in-chunk copies: duplicates
    rejected: set[int]
    reasons: Reasons
    failures: dict[str, int]
    results: RunResults = field(default_factory=RunResults)

    def payloads(self, rids) -> np.ndarray:
        return np.asarray(self.normalized.payload, dtype=object)[np.asarray(rids, dtype=np.int64)]

    def hashes(self, rids) -> list[str]:
        """sha256 of the records' JSON: computed only for records headed for quarantine."""
        return record_hashes(self.payloads(rids).tolist())


class QuarantineLimitExceeded(RuntimeError):
    pass


def prepare(normalized: Normalized, catalogue: Catalogue, validator: ContractValidator, now: datetime) -> Prepared:
    """Dedupe, then check every candidate against the contract. No IO."""
    versions = dedupe(normalized.keys)
    candidates = np.concatenate([versions.latest, versions.keyless])
    wanted = lambda frame: frame[frame["rid"].isin(candidates)]  # noqa: E731
    lines = wanted(normalized.lines)
    lines = lines.assign(sku_known=lines["sku"].isin(catalogue.skus))
    reasons = Reasons()
    reasons.merge(_only(normalized.reasons, candidates))
    failures: dict[str, int] = {}
    results = RunResults()
    for table, frame in (("orders", wanted(normalized.orders)), ("order_lines", lines),
                         ("refunds", wanted(normalized.refunds)), ("customers", wanted(normalized.contacts))):
        findings = validator.validate(table, frame, now)
        reasons.merge(findings.reasons)
        results.add(table, findings.result)
        for sentence, rows in findings.failures.items():
            failures[sentence] = failures.get(sentence, 0) + rows
    for rid in versions.keyless:  # cannot be loaded without an id and a version time
        if not reasons.by_rid[int(rid)]:
            reasons.by_rid[int(rid)].append("orders: the record has no id or no parsable updated_at")
    rejected = reasons.rids() & set(candidates.tolist())
    return Prepared(normalized, candidates, versions.repeats, rejected, reasons, failures, results)


def check_quarantine_limit(source: str, prepared: Prepared, max_share: float, min_failures: int) -> None:
    fetched, rejected = len(prepared.normalized), len(prepared.rejected)
    if rejected < min_failures or rejected <= max_share * fetched:
        return
    parse_failures = sum(1 for rid in prepared.rejected
                         if any(r.startswith("unparsable") for r in prepared.reasons.by_rid[rid]))
    causes = sorted(prepared.failures.items(), key=lambda item: -item[1])
    if parse_failures:
        causes.append(("values that could not be parsed", parse_failures))
    detail = "; ".join(f"{sentence}: {rows} rows" for sentence, rows in causes[:6])
    raise QuarantineLimitExceeded(
        f"{source} {STREAM}: {rejected} of {fetched} records ({rejected / fetched:.1%}) failed validation, "
        f"above the {max_share:.0%} limit — {detail}. They are in the quarantine table; fix the cause "
        "or raise SHOPOPS_QUARANTINE_MAX_SHARE, then re-run."
    )


def commit(conn: Connection, prepared: Prepared, *, run_id: str, fetched_at: datetime,
           rules: RiskRules, catalogue: Catalogue, cursor: datetime | None, replay: bool = False) -> Counts:
    """Write one prepared chunk inside the caller's transaction; returns its counts. A `replay`
    (a restore from raw_orders) also rewrites the orders holding exactly the version replayed:
    they are rebuilt from their payload; only a newer version still wins."""
    n = prepared.normalized
    source = n.source
    lock_source(conn, source)
    counts = Counts(fetched=len(n), duplicates=len(prepared.repeats))

    keys = n.keys.set_index("rid")
    keyed_rids = keys.index[keys["external_id"].notna() & keys["updated_at"].notna()].to_numpy()
    _stage_keys(conn, keys.loc[keyed_rids, "external_id"].unique())
    seen = _existing_versions(conn, source)
    current = _current_versions(conn, source)

    candidates = keys.loc[np.intersect1d(prepared.candidates, keyed_rids)].reset_index()
    candidates = candidates.merge(seen, on=["external_id", "updated_at"], how="left")
    already_this_run = (candidates["seen_by_run"] == run_id).to_numpy()
    rejected = candidates["rid"].isin(prepared.rejected).to_numpy() & ~already_this_run
    candidates = candidates.merge(current, on="external_id", how="left")
    accepted = ~already_this_run & ~rejected
    if replay:
        wins = (candidates["updated_at"] >= candidates["current_updated_at"]).to_numpy()
    else:
        wins = (candidates["updated_at"] > candidates["current_updated_at"]).to_numpy()
    newer = candidates["current_updated_at"].isna().to_numpy() | wins
    is_new = candidates["current_updated_at"].isna().to_numpy()
    apply = candidates[accepted & newer]
    counts.duplicates += int(already_this_run.sum())
    counts.inserted += int((accepted & is_new).sum())
    counts.updated += int((accepted & newer & ~is_new).sum())
    counts.unchanged += int((accepted & ~newer).sum())

    keyless = np.setdiff1d(prepared.candidates, keyed_rids)
    quarantine_rids, keyless_repeats = _keyless_to_quarantine(conn, prepared, keyless, source, run_id)
    counts.duplicates += keyless_repeats
    quarantine_rids = np.concatenate([candidates.loc[rejected, "rid"].to_numpy(), quarantine_rids])
    counts.quarantined += len(quarantine_rids)

    _store_raw_versions(conn, prepared, keyed_rids, seen, run_id, fetched_at)
    _apply_orders(conn, prepared, apply, run_id, fetched_at, rules, catalogue)
    _quarantine(conn, prepared, quarantine_rids, run_id, fetched_at)
    state.add_counts(conn, run_id, source, STREAM, counts)
    if cursor is not None:
        state.advance_cursor(conn, source, STREAM, cursor, run_id, fetched_at)
    return counts


def mark_deleted(conn: Connection, source: str, deletions: list[tuple[str, datetime]], run_id: str,
                 now: datetime) -> int:
    """Orders the source deleted become tombstones: status `deleted`, `is_deleted`, and the deletion
    as their newest version (so no older copy can bring them back). Returns the orders newly marked."""
    if not deletions:
        return 0
    lock_source(conn, source)
    frame = pd.DataFrame(deletions, columns=["external_id", "deleted_at"]).sort_values("deleted_at")
    frame = frame.drop_duplicates("external_id", keep="last")
    frame["deleted_at"] = pd.to_datetime(frame["deleted_at"], utc=True)
    create_temp_table(conn, "stg_deleted", "external_id VARCHAR(64) PRIMARY KEY, deleted_at TIMESTAMPTZ")
    insert_frame(conn, "stg_deleted", frame, ["external_id", "deleted_at"])
    analyze_scratch(conn, "stg_deleted")
    result = conn.execute(text(
        "UPDATE orders SET is_deleted = true, status = 'deleted', run_id = :run_id, loaded_at = :now, "
        "updated_at = (SELECT CASE WHEN s.deleted_at > orders.updated_at THEN s.deleted_at ELSE orders.updated_at END "
        "FROM stg_deleted s WHERE s.external_id = orders.external_id) "
        "WHERE source = :source AND is_deleted = false AND external_id IN (SELECT external_id FROM stg_deleted)"
    ).bindparams(bindparam("now", type_=UtcDateTime)), {"source": source, "run_id": run_id, "now": now})
    return result.rowcount


def quarantine_only(conn: Connection, prepared: Prepared, run_id: str, now: datetime) -> None:
    """When a chunk is refused as a whole, its bad records are still recorded for diagnosis."""
    _quarantine(conn, prepared, np.asarray(sorted(prepared.rejected), dtype=np.int64), run_id, now)


# --- classification queries -----------------------------------------------------------

_VERSIONS = text(
    "SELECT r.external_id, r.updated_at, r.run_id AS seen_by_run FROM raw_orders r "
    "JOIN stg_keys k ON r.external_id = k.external_id WHERE r.source = :source"
).columns(updated_at=UtcDateTime)
_CURRENT = text(
    "SELECT o.external_id, o.updated_at AS current_updated_at FROM orders o "
    "JOIN stg_keys k ON o.external_id = k.external_id WHERE o.source = :source"
).columns(current_updated_at=UtcDateTime)


def _stage_keys(conn: Connection, external_ids) -> None:
    create_temp_table(conn, "stg_keys", "external_id VARCHAR(64) PRIMARY KEY")
    insert_frame(conn, "stg_keys", pd.DataFrame({"external_id": external_ids}), ["external_id"])
    analyze_scratch(conn, "stg_keys")


def _existing_versions(conn: Connection, source: str) -> pd.DataFrame:
    frame = read_frame(conn, _VERSIONS, {"source": source}, ["external_id", "updated_at", "seen_by_run"])
    return _utc(frame, "updated_at")


def _current_versions(conn: Connection, source: str) -> pd.DataFrame:
    frame = read_frame(conn, _CURRENT, {"source": source}, ["external_id", "current_updated_at"])
    return _utc(frame, "current_updated_at")


def _utc(frame: pd.DataFrame, name: str) -> pd.DataFrame:
    frame[name] = pd.to_datetime(frame[name], utc=True).astype("datetime64[us, UTC]")
    return frame


# --- writes -----------------------------------------------------------------------------

def _store_raw_versions(conn, prepared: Prepared, keyed_rids, seen: pd.DataFrame, run_id: str, fetched_at) -> None:
    """Every distinct version fetched, once; the newest copy of a repeated version wins nothing."""
    keys = prepared.normalized.keys
    versions = keys[keys["rid"].isin(keyed_rids)].drop_duplicates(["external_id", "updated_at"])
    versions = versions.merge(seen[["external_id", "updated_at"]].assign(known=True),
                              on=["external_id", "updated_at"], how="left")
    versions = versions[versions["known"].isna()]
    if versions.empty:
        return
    versions = versions.reset_index(drop=True)
    frame = pd.DataFrame({
        "source": prepared.normalized.source,
        "external_id": versions["external_id"],
        "updated_at": versions["updated_at"],
        "payload": prepared.payloads(versions["rid"].to_numpy()),
        "fetched_at": pd.Timestamp(fetched_at),
        "run_id": run_id,
    })
    insert_frame(conn, "raw_orders", frame, ["source", "external_id", "updated_at", "payload", "fetched_at", "run_id"])


def _apply_orders(conn, prepared: Prepared, apply: pd.DataFrame, run_id: str, loaded_at,
                  rules: RiskRules, catalogue: Catalogue) -> None:
    if apply.empty:
        return
    n = prepared.normalized
    rids = apply["rid"].to_numpy()
    orders = n.orders[n.orders["rid"].isin(rids)].copy()
    lines = n.lines[n.lines["rid"].isin(rids)]
    refunds = n.refunds[n.refunds["rid"].isin(rids)]

    create_temp_table(conn, "stg_apply", "external_id VARCHAR(64) PRIMARY KEY, customer_key VARCHAR(64), created_at TIMESTAMPTZ, rid INTEGER")
    insert_frame(conn, "stg_apply", orders, ["external_id", "customer_key", "created_at", "rid"])
    analyze_scratch(conn, "stg_apply")
    queue_chunk_customers(conn, n.source)
    history = _customer_history(conn, n.source)
    fragile = lines.loc[lines["sku"].isin(catalogue.fragile_skus), "rid"].unique()
    orders = orders.merge(assess_risk(orders, history, fragile, rules), on="rid").merge(
        _screen_inputs(history), on="rid", how="left")
    inputs = ["risk_prior_orders", "risk_prior_total"]
    orders[inputs] = orders[inputs].fillna(0).astype(np.int64)  # no row: no earlier order
    orders["run_id"], orders["loaded_at"] = run_id, pd.Timestamp(loaded_at)

    for table, column in (("order_lines", "external_order_id"), ("refunds", "external_order_id"), ("orders", "external_id")):
        conn.execute(text(f"DELETE FROM {sql_name(table)} WHERE source = :source AND {sql_name(column)} IN "
                          "(SELECT external_id FROM stg_apply)"),
                     {"source": n.source})
    order_columns = [c for c in ORDER_COLUMNS if c != "rid"] + ["risk_level", "risk_reasons", "risk_prior_orders",
                                                               "risk_prior_total", "run_id", "loaded_at"]
    insert_frame(conn, "orders", orders, order_columns)
    insert_frame(conn, "order_lines", lines, [c for c in LINE_COLUMNS if c != "rid"])
    insert_frame(conn, "refunds", refunds, [c for c in REFUND_COLUMNS if c != "rid"])
    _upsert_customers(conn, n, rids, loaded_at)


_HISTORY = text(
    "SELECT s.rid, COUNT(o.external_id) AS prior_orders, SUM(o.total) AS prior_total "
    "FROM stg_apply s JOIN orders o ON o.customer_key = s.customer_key AND o.created_at < s.created_at "
    "AND NOT (o.source = :source AND o.external_id = s.external_id) "
    "GROUP BY s.rid"
)


def _customer_history(conn, source: str) -> pd.DataFrame:
    """Each order's customer's earlier orders already in the warehouse (for risk screening)."""
    history = read_frame(conn, _HISTORY, {"source": source}, ["rid", "prior_orders", "prior_total"])
    history["prior_total"] = pd.to_numeric(history["prior_total"], errors="coerce").astype(float)
    return history.astype({"rid": np.int64})


def _screen_inputs(history: pd.DataFrame) -> pd.DataFrame:
    """Per rid, the history the flags were worked out from, as the orders table keeps it: the
    count, and the total in ten-thousandths (money's form on the way to the warehouse)."""
    return pd.DataFrame({
        "rid": history["rid"].to_numpy(),
        "risk_prior_orders": history["prior_orders"].fillna(0).to_numpy(dtype=np.int64),
        "risk_prior_total": units_of(history["prior_total"].fillna(0)),
    })


def _upsert_customers(conn, n: Normalized, rids: np.ndarray, now) -> None:
    contacts = n.contacts[n.contacts["rid"].isin(rids)].sort_values("order_created_at", kind="stable")
    if contacts.empty:
        return
    grouped = contacts.groupby("customer_key", sort=False)
    latest = grouped.last()  # last non-null contact detail of the newest order
    frame = pd.DataFrame({
        "customer_key": latest.index,
        "email": latest["email"].to_numpy(),
        "phone": latest["phone"].to_numpy(),
        "accepts_marketing": latest["accepts_marketing"].to_numpy(),
        "country": latest["country"].to_numpy(),
        "first_order_at": grouped["order_created_at"].min().to_numpy(),
        "last_order_at": grouped["order_created_at"].max().to_numpy(),
        "first_source": n.source,
        "updated_at": pd.Timestamp(now),
    })
    columns = list(frame.columns)
    insert_frame(conn, stage_like(conn, "customers"), frame, columns)
    newer = "excluded.last_order_at >= customers.last_order_at"
    # In key order: two sources share customers (one key per e-mail), and loads of two sources
    # that upsert the same customers in different orders deadlock on PostgreSQL.
    conn.execute(text(
        f"INSERT INTO customers ({sql_names(columns)}) SELECT {sql_names(columns)} FROM stg_customers WHERE true "
        "ORDER BY customer_key "
        "ON CONFLICT (customer_key) DO UPDATE SET "
        f"email = CASE WHEN {newer} THEN COALESCE(excluded.email, customers.email) ELSE COALESCE(customers.email, excluded.email) END, "
        f"phone = CASE WHEN {newer} THEN COALESCE(excluded.phone, customers.phone) ELSE COALESCE(customers.phone, excluded.phone) END, "
        f"accepts_marketing = CASE WHEN {newer} THEN COALESCE(excluded.accepts_marketing, customers.accepts_marketing) "
        "ELSE COALESCE(customers.accepts_marketing, excluded.accepts_marketing) END, "
        f"country = CASE WHEN {newer} THEN COALESCE(excluded.country, customers.country) ELSE COALESCE(customers.country, excluded.country) END, "
        "first_order_at = CASE WHEN excluded.first_order_at < customers.first_order_at THEN excluded.first_order_at ELSE customers.first_order_at END, "
        f"last_order_at = CASE WHEN {newer} THEN excluded.last_order_at ELSE customers.last_order_at END, "
        "updated_at = excluded.updated_at"
    ))


def _keyless_to_quarantine(conn, prepared: Prepared, keyless: np.ndarray, source: str, run_id: str) -> tuple[np.ndarray, int]:
    """Keyless records are quarantined once per run: repeats (same payload) are duplicates."""
    if keyless.size == 0:
        return keyless, 0
    hashes = pd.Series(prepared.hashes(keyless), index=keyless)
    first = ~hashes.duplicated()
    create_temp_table(conn, "stg_hashes", "record_hash VARCHAR(64) PRIMARY KEY")
    insert_frame(conn, "stg_hashes", pd.DataFrame({"record_hash": hashes[first].unique()}), ["record_hash"])
    earlier = read_frame(conn, text(
        "SELECT q.record_hash FROM quarantine q JOIN stg_hashes h ON q.record_hash = h.record_hash "
        "WHERE q.source = :source AND q.stream = :stream AND q.run_id = :run_id"),
        {"source": source, "stream": STREAM, "run_id": run_id}, ["record_hash"])
    fresh = first & ~hashes.isin(set(earlier["record_hash"]))
    return hashes.index[fresh.to_numpy()].to_numpy(), int((~fresh).sum())


def _quarantine(conn, prepared: Prepared, rids: np.ndarray, run_id: str, now) -> None:
    """One row per distinct record, idempotent: seeing it again changes nothing unless its reasons did."""
    if rids.size == 0:
        return
    keys = prepared.normalized.keys.set_index("rid").loc[rids].reset_index(drop=True)
    frame = pd.DataFrame({
        "source": prepared.normalized.source,
        "stream": STREAM,
        "external_id": keys["external_id"],
        "updated_at": keys["updated_at"],
        "record_hash": prepared.hashes(rids),
        "payload": prepared.payloads(rids),
        "reasons": [orjson.dumps(prepared.reasons.by_rid[int(r)]).decode() for r in rids],
        "run_id": run_id,
        "quarantined_at": pd.Timestamp(now),
    }).drop_duplicates("record_hash")
    state.upsert_quarantine(conn, frame)


def _only(reasons: Reasons, rids: np.ndarray) -> Reasons:
    keep = set(rids.tolist())
    out = Reasons()
    for rid, texts in reasons.by_rid.items():
        if rid in keep and texts:
            out.by_rid[rid].extend(texts)
    return out
