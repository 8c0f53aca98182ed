"""A Shopify shop's catalogue: products (with costs) and a snapshot of inventory levels.

The catalogue is small (thousands of SKUs), so it is read whole each run: that also heals any
missed change, and inventory levels need every variant to map items to SKUs. Only changed rows
are written, so a run that finds nothing new leaves the tables exactly as they were. Products
come from the shop marked as the catalogue master; other shops only add SKUs the master lacks.
Purchasing attributes (supplier, pack size, lead time) are never touched here: they come from
the supplier catalogue (`shopops products import-supply`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone

import numpy as np
import orjson
import pandas as pd
from sqlalchemy import Engine, select, text

from connectors.shopify import ShopifyConnector
from shopops.logs import get_logger
from tasks.load import Counts
from tasks.normalize.catalog import normalize_levels, normalize_variants
from tasks.normalize.common import Reasons, record_hashes
from tasks.snapshots import write_day_changes
from tasks.validate import ContractValidator
from warehouse import state
from warehouse.engine import write_transaction
from warehouse.io import create_temp_table, insert_frame, read_frame, upsert_frame
from warehouse.models import InventoryLevel, Product
from warehouse.types import UtcDateTime, units

CATALOGUE_COLUMNS = ["title", "category", "vendor", "status", "is_presale", "unit_cost", "list_price",
                     "listed_at", "source_updated_at"]
LEVEL_COLUMNS = ["location_name", "available", "source_updated_at"]


@dataclass
class CatalogReport:
    source: str
    products: Counts = field(default_factory=Counts)
    inventory: Counts = field(default_factory=Counts)
    inventory_removed: int = 0


def sync_shopify_catalog(connector: ShopifyConnector, engine: Engine, *, run_id: str, is_master: bool,
                         currency: str | None, validator: ContractValidator, now: datetime) -> CatalogReport:
    log = get_logger("shopops.catalog")
    report = CatalogReport(connector.name)
    products = [p for page in connector.products() for p in page]
    item_ids = [v.get("inventory_item_id") for p in products if isinstance(p, dict)
                for v in (p.get("variants") or []) if isinstance(v, dict) and v.get("inventory_item_id")]
    costs = [c for page in connector.inventory_item_costs(item_ids) for c in page] if is_master else []
    variants, reasons = normalize_variants(products, costs)
    findings = validator.validate("products", variants, now)
    reasons.merge(findings.reasons)

    locations = {str(loc.get("id")): loc.get("name") for loc in connector.locations() if isinstance(loc, dict)}
    levels_raw = [lvl for page in connector.inventory_levels([int(i) for i in locations if i.isdigit()]) for lvl in page]
    good = variants[~variants["rid"].isin(reasons.rids()) & variants["sku"].notna()] if len(variants) else variants
    sku_by_item = dict(zip(good["inventory_item_id"], good["sku"])) if len(good) else {}
    levels = normalize_levels(levels_raw, sku_by_item, locations)
    level_reasons = Reasons()
    level_reasons.add(levels.loc[levels["sku"].isna() & levels["inventory_item_id"].notna(), "rid"],
                      "inventory_levels: the inventory item belongs to no variant with a valid SKU")
    level_reasons.merge(validator.validate("inventory_levels", levels, now).reasons)

    with write_transaction(engine) as conn:
        started = datetime.now(timezone.utc)
        for stream in ("products", "inventory_levels"):
            state.start_audit(conn, run_id, connector.name, stream, None, None, started)
        report.products = _write_products(conn, connector.name, variants, reasons, products, is_master, currency, run_id, now)
        report.inventory, report.inventory_removed = _write_levels(conn, connector.name, levels, level_reasons, levels_raw, run_id, now)
        # Dated by the shop's clock (its HTTP Date header), which is when it read its stock.
        read_at = connector.server_time or datetime.now(timezone.utc)
        _snapshot_levels(conn, connector.name, run_id, taken_at=read_at)
        _snapshot_prices(conn, run_id, taken_at=read_at)
        state.add_counts(conn, run_id, connector.name, "products", report.products)
        state.add_counts(conn, run_id, connector.name, "inventory_levels", report.inventory)
        for stream in ("products", "inventory_levels"):
            state.finish_audit(conn, run_id, connector.name, stream, "succeeded", datetime.now(timezone.utc))
    p, i = report.products, report.inventory
    log.info("%s: catalogue — %d variants (%d new, %d changed, %d quarantined); %d inventory levels "
             "(%d new, %d changed, %d removed, %d quarantined)", connector.name, p.fetched, p.inserted,
             p.updated, p.quarantined, i.fetched, i.inserted, i.updated, report.inventory_removed, i.quarantined)
    return report


def _write_products(conn, source, variants, reasons, products, is_master, currency, run_id, now) -> Counts:
    counts = Counts(fetched=len(variants))
    bad = variants["rid"].isin(reasons.rids()) if len(variants) else pd.Series(dtype=bool)
    counts.quarantined = int(bad.sum())
    _quarantine(conn, source, "products", variants.loc[bad, "rid"].to_numpy() if len(variants) else [],
                reasons, [_variant_payload(products, variants, r) for r in variants.loc[bad, "rid"]] if len(variants) else [],
                run_id, now)
    rows = variants[~bad] if len(variants) else variants
    if rows.empty:
        return counts
    # Typed through the model, so money comes back as Decimal on SQLite too.
    existing = read_frame(conn, select(Product.sku, Product.source, *(getattr(Product, c) for c in CATALOGUE_COLUMNS)))
    for money in ("unit_cost", "list_price"):
        existing[money] = units(existing[money])
    merged = rows.merge(existing, on="sku", how="left", suffixes=("", "_old"), indicator=True)
    is_new = (merged["_merge"] == "left_only").to_numpy()
    ours = is_master | (merged["source"] == source).to_numpy()
    changed = ~is_new & ours & _differs(merged, CATALOGUE_COLUMNS)
    counts.inserted, counts.updated = int(is_new.sum()), int(changed.sum())
    counts.unchanged = len(merged) - counts.inserted - counts.updated
    write = merged[is_new | changed].copy()
    write["currency"], write["source"], write["run_id"], write["updated_at"] = currency, source, run_id, pd.Timestamp(now)
    write["pack_size"], write["moq"] = 1, 1  # defaults until the supplier catalogue says otherwise
    columns = ["sku", *CATALOGUE_COLUMNS, "currency", "source", "run_id", "updated_at"]
    upsert_frame(conn, "products", write[write["sku"].isin(merged.loc[changed, "sku"])][columns],
                 ["sku"], [c for c in columns if c != "sku"])
    upsert_frame(conn, "products", write[~write["sku"].isin(merged.loc[changed, "sku"])][columns + ["pack_size", "moq"]],
                 ["sku"], [])
    return counts


def _write_levels(conn, source, levels, reasons, levels_raw, run_id, now) -> tuple[Counts, int]:
    counts = Counts(fetched=len(levels))
    bad = levels["rid"].isin(reasons.rids())
    counts.quarantined = int(bad.sum())
    _quarantine(conn, source, "inventory_levels", levels.loc[bad, "rid"].to_numpy(), reasons,
                [orjson.dumps(levels_raw[r]).decode() for r in levels.loc[bad, "rid"]], run_id, now)
    rows = levels[~bad].drop_duplicates(["location_id", "sku"], keep="last")
    counts.duplicates = int((~bad).sum()) - len(rows)
    existing = read_frame(conn, text(
        "SELECT location_id, sku, location_name AS location_name_old, available AS available_old, "
        "source_updated_at AS source_updated_at_old FROM inventory_levels WHERE source = :source"
    ).columns(source_updated_at_old=UtcDateTime), {"source": source})
    merged = rows.merge(existing, on=["location_id", "sku"], how="outer", indicator=True)
    is_new = (merged["_merge"] == "left_only").to_numpy()
    gone = merged[merged["_merge"] == "right_only"]
    present = merged[merged["_merge"] != "right_only"]
    changed = (present["_merge"] == "both").to_numpy() & _differs(present, LEVEL_COLUMNS)
    counts.inserted = int(is_new[merged["_merge"] != "right_only"].sum())
    counts.updated = int(changed.sum())
    counts.unchanged = len(present) - counts.inserted - counts.updated
    write = present[(present["_merge"] == "left_only").to_numpy() | changed].copy()
    write["source"], write["fetched_at"], write["run_id"] = source, pd.Timestamp(now), run_id
    write["available"] = write["available"].astype("Int64")
    upsert_frame(conn, "inventory_levels", write[["source", "location_id", "sku", *LEVEL_COLUMNS, "fetched_at", "run_id"]],
                 ["source", "location_id", "sku"], [*LEVEL_COLUMNS, "fetched_at", "run_id"])
    if not gone.empty:
        create_temp_table(conn, "stg_gone", "location_id VARCHAR(64), sku VARCHAR(64)")
        insert_frame(conn, "stg_gone", gone, ["location_id", "sku"])
        conn.execute(text("DELETE FROM inventory_levels WHERE source = :source AND EXISTS (SELECT 1 FROM stg_gone g "
                          "WHERE g.location_id = inventory_levels.location_id AND g.sku = inventory_levels.sku)"),
                     {"source": source})
    return counts, len(gone)


def _snapshot_levels(conn, source: str, run_id: str, taken_at: datetime) -> None:
    """The day's changes in the shop's stock, as rows of inventory_snapshots (sparse, see
    tasks/snapshots.py). A level the shop no longer has is recorded as 0. Dated by when the stock
    was read, never by a backfill's window."""
    current = read_frame(conn, select(InventoryLevel.source, InventoryLevel.location_id, InventoryLevel.sku,
                                      InventoryLevel.available).where(InventoryLevel.source == source))
    write_day_changes(conn, "inventory_snapshots", ["source", "location_id", "sku"], ["available"], current,
                      {"source": source}, taken_at.date(), run_id, taken_at, absent={"available": 0})


def _snapshot_prices(conn, run_id: str, taken_at: datetime) -> None:
    """The day's changes of our list prices and unit costs, as rows of price_snapshots (sparse)."""
    current = read_frame(conn, select(Product.sku, Product.list_price, Product.unit_cost, Product.currency))
    write_day_changes(conn, "price_snapshots", ["sku"], ["list_price", "unit_cost", "currency"], current, {},
                      taken_at.date(), run_id, taken_at)


def _differs(merged: pd.DataFrame, columns: list[str]) -> np.ndarray:
    """Row-wise: does any column differ from its `_old` counterpart (nulls equal to nulls)?"""
    out = np.zeros(len(merged), dtype=bool)
    for column in columns:
        new, old = merged[column], merged[f"{column}_old"]
        if isinstance(new.dtype, pd.DatetimeTZDtype) or column.endswith("_at"):
            new, old = pd.to_datetime(new, utc=True), pd.to_datetime(old, utc=True)
        both_null = (new.isna() & old.isna()).to_numpy()
        equal = (new.astype(object) == old.astype(object)).to_numpy()
        out |= ~(both_null | equal)
    return out


def _variant_payload(products: list[dict], variants: pd.DataFrame, rid: int) -> str:
    flat = [(p, v) for p in products if isinstance(p, dict) for v in (p.get("variants") or [])]
    product, variant = flat[rid]
    return orjson.dumps({"product_id": product.get("id"), "product_title": product.get("title"), "variant": variant}).decode()


def _quarantine(conn, source, stream, rids, reasons: Reasons, payload_texts: list[str], run_id, now) -> None:
    if len(rids) == 0:
        return
    frame = pd.DataFrame({
        "source": source, "stream": stream, "external_id": None, "updated_at": pd.NaT,
        "record_hash": record_hashes(payload_texts), "payload": payload_texts,
        "reasons": [orjson.dumps(reasons.by_rid[int(r)]).decode() for r in rids],
        "run_id": run_id, "quarantined_at": pd.Timestamp(now),
    }).drop_duplicates("record_hash")
    frame["updated_at"] = pd.to_datetime(frame["updated_at"], utc=True)
    state.upsert_quarantine(conn, frame)
