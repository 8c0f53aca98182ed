"""File-drop sources: exports in a folder, each loaded once, whole or not at all (SQLite and PostgreSQL)."""

import os
import shutil
import time
from datetime import datetime, timezone
from decimal import Decimal

import pytest
from sqlalchemy import select

from connectors.file_drop import FileDropFolder
from connectors.sources import ConfigError, SourceConfig
from shopops.settings import get_settings
from tasks.ingest_files import ingest_file_drop
from tasks.normalize.file_drop import FileLayout
from tasks.validate import ContractValidator
from tests.builders import insert_products
from tests.conftest import table_contents
from tests.flow.conftest import DATA_TABLES, RUN_METADATA
from warehouse.models import FileDrop, LoadAudit, Order, OrderLine, Quarantine

NOW = datetime(2026, 11, 21, 6, 0, tzinfo=timezone.utc)
OPTIONS = {
    "timezone": "Europe/Paris", "currency": "EUR",
    "columns": {"external_id": "OrderID", "updated_at": "Modified", "created_at": "Created", "status": "Status",
                "total": "Total", "sku": "SKU", "quantity": "Qty", "unit_price": "Price", "email": "Email"},
    "statuses": {"Shipped": "fulfilled", "Open": "paid", "Void": "cancelled"},
}
HEADER = "OrderID,Modified,Created,Status,Total,SKU,Qty,Price,Email\n"
# A1: two lines, 2 × 12.50 + 1 × 7.00 = 32.00. A2: one line. A3: a quantity nobody can load.
FIRST_EXPORT = HEADER + (
    "A1,2026-11-20 10:00:00,2026-11-20 09:30:00,Shipped,32.00,SKU-1,2,12.50,ann@example.com\n"
    "A1,2026-11-20 10:00:00,2026-11-20 09:30:00,Shipped,32.00,SKU-2,1,7.00,ann@example.com\n"
    "A2,2026-11-20 11:15:00,2026-11-19 23:50:00,Open,9.99,SKU-1,1,9.99,bob@example.com\n"
    "A3,2026-11-20 12:00:00,2026-11-20 11:00:00,Open,5.00,SKU-2,two,5.00,\n"
)


@pytest.fixture
def drop(tmp_path, engine, sources_file):
    """An empty drop folder, a catalogue of SKU-1 and SKU-2, and a way to run the source once."""
    folder = tmp_path / "drops"
    folder.mkdir()
    insert_products(engine, {"SKU-1": "kitchen", "SKU-2": "kitchen"}, datetime(2026, 1, 1, tzinfo=timezone.utc))
    config = SourceConfig("erp", "file_drop", folder.as_uri(), {}, {**OPTIONS, "path": str(folder)})

    def run(run_id: str = "run-1", settle_seconds: float = 60.0):
        return ingest_file_drop(FileDropFolder(config, settle_seconds), FileLayout.from_options("erp", OPTIONS),
                                engine, run_id=run_id, settings=get_settings(), validator=ContractValidator.shared(),
                                now=NOW)

    run.folder = folder
    return run


def put(folder, name: str, content: str, age_seconds: float = 600) -> None:
    """A finished export: written, then left alone for `age_seconds`."""
    path = folder / name
    path.write_text(content)
    moment = time.time() - age_seconds
    os.utime(path, (moment, moment))


def snapshot(engine) -> dict:
    return {t: table_contents(engine, t, RUN_METADATA.get(t, ())) for t in DATA_TABLES if t != "file_drops"}


def test_an_export_loads_in_utc_with_its_lines_and_its_bad_order_quarantined(drop, engine):
    put(drop.folder, "orders-1120.csv", FIRST_EXPORT)
    report = drop()

    counts = report.counts
    assert (counts.fetched, counts.inserted, counts.quarantined) == (3, 2, 1) and counts.reconciles()
    with engine.connect() as conn:
        orders = {o.external_id: o for o in conn.execute(select(Order.__table__)).all()}
        lines = conn.execute(select(OrderLine.external_order_id, OrderLine.line_id, OrderLine.sku,
                                    OrderLine.line_total).order_by(OrderLine.external_order_id, OrderLine.line_id)).all()
        quarantined = conn.execute(select(Quarantine.external_id, Quarantine.reasons)).all()
        files = conn.execute(select(FileDrop.file_name, FileDrop.status, FileDrop.rows, FileDrop.orders)).all()
    a1 = orders["A1"]
    assert (a1.status, a1.source_status, a1.currency) == ("fulfilled", "Shipped", "EUR")
    assert (a1.total, a1.subtotal, a1.line_count, a1.item_count) == (Decimal("32"), Decimal("32"), 2, 3)
    # Paris is UTC+1 in November: local 09:30 is 08:30 UTC; 2026-11-19 23:50 is 22:50 UTC.
    assert a1.created_at == datetime(2026, 11, 20, 8, 30, tzinfo=timezone.utc)
    assert orders["A2"].created_at == datetime(2026, 11, 19, 22, 50, tzinfo=timezone.utc)
    assert orders["A2"].status == "paid" and orders["A2"].customer_key != orders["A1"].customer_key
    assert lines == [("A1", "1", "SKU-1", Decimal("25")), ("A1", "2", "SKU-2", Decimal("7")),
                     ("A2", "1", "SKU-1", Decimal("9.99"))]
    assert [(q.external_id, "unparsable quantity in lines.Qty: 'two'" in q.reasons) for q in quarantined] == [("A3", True)]
    assert files == [("orders-1120.csv", "processed", 4, 3)]
    assert sorted(p.name for p in drop.folder.iterdir()) == ["processed"]
    assert (drop.folder / "processed" / "orders-1120.csv").read_text() == FIRST_EXPORT


def test_the_same_file_dropped_twice_loads_once(drop, engine):
    put(drop.folder, "orders-1120.csv", FIRST_EXPORT)
    drop("run-1")
    before = snapshot(engine)
    put(drop.folder, "orders-1120.csv", FIRST_EXPORT)         # the same name again
    put(drop.folder, "orders-1120-copy.csv", FIRST_EXPORT)    # and under another one
    report = drop("run-2")

    assert report.counts.fetched == 0 and report.status == "succeeded"
    assert snapshot(engine) == before
    assert sorted(p.name for p in (drop.folder / "processed").iterdir()) == sorted([
        "orders-1120-copy.csv", "orders-1120.csv", f"orders-1120.{_checksum(FIRST_EXPORT)[:12]}.csv"])
    with engine.connect() as conn:
        assert conn.execute(select(FileDrop.file_name)).scalars().all() == ["orders-1120.csv"]
        audit = conn.execute(select(LoadAudit.fetched).where(LoadAudit.run_id == "run-2")).scalar_one()
    assert audit == 0


def test_a_malformed_file_fails_whole_with_its_reason_and_the_others_still_load(drop, engine):
    broken = FIRST_EXPORT + "A4,2026-11-20 13:00:00,2026-11-20 12:00:00,Open,5.00,SKU-2,1,5.00,,extra\n"
    put(drop.folder, "broken.csv", broken, age_seconds=900)
    put(drop.folder, "no-qty.csv", FIRST_EXPORT.replace(",Qty,", ",Quantity,"), age_seconds=800)
    put(drop.folder, "good.csv", HEADER + "B1,2026-11-20 10:00:00,2026-11-20 09:00:00,Open,12.50,SKU-1,1,12.50,\n")

    with pytest.raises(RuntimeError, match="2 of 3 file\\(s\\) failed") as failure:
        drop()

    assert "broken.csv, line 6: 10 fields where the header has 9" in str(failure.value)
    with engine.connect() as conn:
        assert conn.execute(select(Order.external_id)).scalars().all() == ["B1"]  # nothing of broken.csv
        assert conn.execute(select(OrderLine.external_order_id)).scalars().all() == ["B1"]
        assert conn.execute(select(Quarantine.id)).all() == []
        statuses = dict(conn.execute(select(FileDrop.file_name, FileDrop.status)).all())
        audit = conn.execute(select(LoadAudit.status, LoadAudit.error)).one()
    assert statuses == {"broken.csv": "failed", "no-qty.csv": "failed", "good.csv": "processed"}
    assert audit.status == "failed" and "no-qty.csv" in audit.error
    failed = drop.folder / "failed"
    assert (failed / "broken.csv").read_text() == broken
    assert "line 6: 10 fields" in (failed / "broken.csv.reason.txt").read_text()
    assert "has no column Qty (quantity)" in (failed / "no-qty.csv.reason.txt").read_text()
    assert [p.name for p in (drop.folder / "processed").iterdir()] == ["good.csv"]


def test_a_file_whose_records_are_mostly_bad_fails_and_loads_nothing(drop, engine):
    rows = "".join(f"C{i},2026-11-20 10:00:00,2026-11-20 09:00:00,Open,n/a,SKU-1,1,1.00,\n" for i in range(12))
    put(drop.folder, "garbled.csv", HEADER + rows)
    with pytest.raises(RuntimeError, match="garbled.csv"):
        drop()
    with engine.connect() as conn:
        assert conn.execute(select(Order.external_id)).all() == []
        quarantined = conn.execute(select(Quarantine.external_id, Quarantine.reasons)).all()
    reason = (drop.folder / "failed" / "garbled.csv.reason.txt").read_text()
    assert "12 of 12 records" in reason and "total is missing or unparsable: 12 rows" in reason
    # the records are in quarantine with their reasons, as the message says
    assert sorted(q.external_id for q in quarantined) == [f"C{i}" for i in sorted(range(12), key=str)]
    assert all("unparsable money in Total: 'n/a'" in q.reasons for q in quarantined)


def test_files_still_being_written_are_left_for_a_later_run(drop, engine):
    put(drop.folder, "fresh.csv", FIRST_EXPORT, age_seconds=5)      # changed 5 s ago: still being written
    put(drop.folder, "orders.csv.part", FIRST_EXPORT)               # a copy in progress
    put(drop.folder, ".orders.csv", FIRST_EXPORT)                   # a hidden temporary
    assert drop().counts.fetched == 0
    assert sorted(p.name for p in drop.folder.iterdir()) == [".orders.csv", "fresh.csv", "orders.csv.part"]

    shutil.move(drop.folder / "orders.csv.part", drop.folder / "orders.csv")   # the copy finished
    assert drop("run-2", settle_seconds=60).counts.fetched == 3
    assert sorted(p.name for p in drop.folder.iterdir()) == [".orders.csv", "fresh.csv", "processed"]


def test_later_exports_update_orders_and_an_older_one_changes_nothing(drop, engine):
    put(drop.folder, "1-first.csv", FIRST_EXPORT, age_seconds=900)
    edited = HEADER + "A2,2026-11-20 15:00:00,2026-11-19 23:50:00,Void,9.99,SKU-1,1,9.99,bob@example.com\n"
    put(drop.folder, "2-edit.csv", edited, age_seconds=800)
    first = drop("run-1")
    assert (first.counts.inserted, first.counts.updated) == (2, 1)

    stale = HEADER + "A2,2026-11-20 11:15:00,2026-11-19 23:50:00,Shipped,9.99,SKU-1,1,9.99,bob@example.com\n"
    put(drop.folder, "3-stale.csv", stale)
    second = drop("run-2")
    assert (second.counts.fetched, second.counts.unchanged, second.counts.updated) == (1, 1, 0)
    with engine.connect() as conn:
        status = conn.execute(select(Order.status).where(Order.external_id == "A2")).scalar_one()
    assert status == "cancelled"


def test_json_lines_with_nested_lines_and_offsets(drop, engine):
    export = (
        '{"OrderID": "J1", "Modified": "2026-11-20T15:00:00Z", "Created": "2026-11-20T09:00:00-05:00", '
        '"Status": "paid", "Total": 19.5, "lines": [{"SKU": "SKU-1", "Qty": 1, "Price": "12.50"}, '
        '{"SKU": "SKU-2", "Qty": 1, "Price": 7}]}\n'
        "\n"
        '{"OrderID": "J2", "Modified": "2026-11-20T11:00:00+01:00", "Created": "2026-11-20 10:30:00", '
        '"Status": "Open", "Total": "7.00", "SKU": "SKU-2", "Qty": "1", "Price": "7.00"}\n'
    )
    put(drop.folder, "orders.jsonl", export)
    report = drop()
    assert (report.counts.inserted, report.counts.quarantined) == (2, 0)
    with engine.connect() as conn:
        rows = {o.external_id: o for o in conn.execute(select(Order.__table__)).all()}
    assert rows["J1"].created_at == datetime(2026, 11, 20, 14, 0, tzinfo=timezone.utc)   # 09:00 at UTC-5
    assert (rows["J1"].total, rows["J1"].line_count) == (Decimal("19.5"), 2)
    assert rows["J2"].updated_at == datetime(2026, 11, 20, 10, 0, tzinfo=timezone.utc)
    assert rows["J2"].created_at == datetime(2026, 11, 20, 9, 30, tzinfo=timezone.utc)   # naive: Paris time

    put(drop.folder, "bad.jsonl", '{"OrderID": "J3"}\n[1, 2]\n')
    with pytest.raises(RuntimeError):
        drop("run-2")
    assert "bad.jsonl, line 2: a JSON list, not an object" in (drop.folder / "failed" / "bad.jsonl.reason.txt").read_text()


def test_a_file_layout_that_cannot_work_is_refused_with_what_is_missing():
    with pytest.raises(ConfigError, match="must say which column holds quantity, unit_price"):
        FileLayout.from_options("erp", {"currency": "EUR", "columns": {
            k: v for k, v in OPTIONS["columns"].items() if k not in ("quantity", "unit_price")}})
    with pytest.raises(ConfigError, match="not canonical statuses"):
        FileLayout.from_options("erp", {**OPTIONS, "statuses": {"Shipped": "sent"}})
    with pytest.raises(ConfigError, match="unknown `timezone`"):
        FileLayout.from_options("erp", {**OPTIONS, "timezone": "Mars/Olympus"})


def _checksum(content: str) -> str:
    import hashlib

    return hashlib.sha256(content.encode()).hexdigest()


def test_the_ingest_flow_loads_a_file_drop_source_and_reports_a_failed_file_without_retrying(drop, engine, sources_file):
    from flows.ingest import ingest_orders

    sources_file([{"name": "erp", "kind": "file_drop", "path": "drops", **OPTIONS}])  # relative to sources.yaml
    put(drop.folder, "good.csv", FIRST_EXPORT, age_seconds=900)
    summary = ingest_orders(sources=["erp"], end=NOW)
    assert [(row["source"], row["status"], row["inserted"], row["quarantined"]) for row in summary] == [
        ("erp", "succeeded", 2, 1)]

    put(drop.folder, "broken.csv", HEADER + "A9,2026-11-20\n")
    began = time.monotonic()
    with pytest.raises(RuntimeError, match="erp orders: FilesFailed: erp: 1 of 1 file"):
        ingest_orders(sources=["erp"], end=NOW)
    assert time.monotonic() - began < 30  # not retried: a retry would find nothing left to fail and pass
    assert (drop.folder / "failed" / "broken.csv").exists()
