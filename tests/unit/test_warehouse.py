"""The warehouse on SQLite and PostgreSQL: migrations match the models; bulk writes are exact."""

from datetime import datetime, timezone
from decimal import Decimal

import pandas as pd
import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import select

from warehouse.engine import write_transaction
from warehouse.io import insert_frame, upsert_frame
from warehouse.migrate import SchemaNotCurrent, check_schema
from warehouse.models import Base, Order, Product


def test_migrations_build_exactly_the_models(engine):
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)
    assert differences == []
    check_schema(engine)  # at head: no error


def test_an_unmigrated_warehouse_is_refused_with_the_fix(tmp_path):
    from warehouse.engine import get_engine

    with pytest.raises(SchemaNotCurrent, match="Run `shopops db upgrade`"):
        check_schema(get_engine(f"sqlite:///{tmp_path / 'empty.db'}"))


def order_row(external_id: str, total: str, created: str) -> dict:
    money = Decimal(total)
    return {
        "source": "s", "external_id": external_id, "order_number": "#1", "status": "paid", "source_status": "paid",
        "currency": "USD", "created_at": pd.Timestamp(created), "updated_at": pd.Timestamp(created),
        "processed_at": pd.NaT, "cancelled_at": pd.NaT, "closed_at": pd.NaT,
        "subtotal": money, "discount_total": Decimal("0"), "shipping_total": Decimal("0"), "tax_total": Decimal("0"),
        "total": money, "refunded_total": Decimal("0"), "customer_key": None, "payment_method": None,
        "billing_country": None, "shipping_country": None, "discount_codes": None, "line_count": 1, "item_count": 1,
        "risk_level": "none", "risk_reasons": None, "is_deleted": False, "run_id": "r", "loaded_at": pd.Timestamp(created),
    }


def test_bulk_insert_keeps_money_exact_and_times_in_utc(engine):
    frame = pd.DataFrame([
        order_row("1", "0.10", "2026-11-01T05:30:00Z"),
        order_row("2", "123456789.1234", "2026-03-08T07:00:00.123456Z"),
        order_row("3", "0.3", "2026-01-01T00:00:00+02:00"),
    ])
    with write_transaction(engine) as conn:
        insert_frame(conn, "orders", frame, list(frame.columns))
    with engine.connect() as conn:
        rows = {r.external_id: r for r in conn.execute(select(Order.external_id, Order.total, Order.created_at))}
    assert rows["1"].total == Decimal("0.10") and rows["2"].total == Decimal("123456789.1234")
    assert sum(r.total for r in rows.values()) == Decimal("123456789.5234")  # 0.10 + 123456789.1234 + 0.3, exact
    assert rows["1"].created_at == datetime(2026, 11, 1, 5, 30, tzinfo=timezone.utc)
    assert rows["2"].created_at == datetime(2026, 3, 8, 7, 0, 0, 123456, tzinfo=timezone.utc)
    assert rows["3"].created_at == datetime(2025, 12, 31, 22, 0, tzinfo=timezone.utc)


def test_upsert_updates_only_the_named_columns_and_defaults_fill_new_rows(engine):
    now = pd.Timestamp("2026-11-22T00:00:00Z")
    with write_transaction(engine) as conn:
        upsert_frame(conn, "products", pd.DataFrame({"sku": ["A"], "title": ["Mug"], "pack_size": [6], "updated_at": [now]}),
                     ["sku"], ["title", "updated_at"])
        upsert_frame(conn, "products", pd.DataFrame({"sku": ["A", "B"], "title": ["Big mug", "Cup"], "updated_at": [now, now]}),
                     ["sku"], ["title", "updated_at"])
    with engine.connect() as conn:
        rows = {r.sku: r for r in conn.execute(select(Product.sku, Product.title, Product.pack_size, Product.is_presale))}
    assert (rows["A"].title, rows["A"].pack_size) == ("Big mug", 6)
    assert (rows["B"].title, rows["B"].pack_size, rows["B"].is_presale) == ("Cup", 1, False)


def test_money_in_ten_thousandths_is_stored_exactly_negative_zero_and_largest(engine):
    units = [125000, -5, 0, -1_234_567_890, 999_999_999_999_999_999]  # 12.5, -0.0005, 0, …, just under 10^14
    frame = pd.DataFrame([order_row(str(i), "0", "2026-11-01T05:30:00Z") for i in range(len(units))])
    frame["total"] = pd.array(units, dtype="Int64")
    with write_transaction(engine) as conn:
        insert_frame(conn, "orders", frame, list(frame.columns))
    with engine.connect() as conn:
        stored = dict(conn.execute(select(Order.external_id, Order.total)).all())
    largest = Decimal("99999999999999.9999") if engine.dialect.name == "postgresql" else Decimal("1e14")
    # SQLite keeps NUMERIC as a double: exact to 15 significant digits (amounts below 10^11 with 4 decimals).
    assert stored == {"0": Decimal("12.5"), "1": Decimal("-0.0005"), "2": Decimal("0"), "3": Decimal("-123456.789"),
                      "4": largest}


def test_bulk_insert_keeps_text_exactly_and_tells_empty_from_missing(engine):
    """COPY input is CSV: every character that means something to CSV or to COPY's text format
    must arrive as it was, and an empty text must not become NULL (nor NULL an empty text)."""
    texts = ["", None, 'say "hi", then\tleave\nnow\r\n', "back\\slash \\N", "café ✓ 注文", "  padded  ", ",", '"', "\\."]
    frame = pd.DataFrame([order_row(str(i), "1", "2026-11-01T05:30:00Z") for i in range(len(texts))])
    frame["discount_codes"] = texts
    frame["line_count"] = pd.array([0, 2, -3, 4, 5, 6, 7, 8, 2**31 - 1], dtype="Int64")
    frame["processed_at"] = pd.to_datetime([None, "2026-11-01T06:00:00.5Z"] + [None] * 7, utc=True, format="ISO8601")
    frame["is_deleted"] = [False, True] * 4 + [True]
    with write_transaction(engine) as conn:
        insert_frame(conn, "orders", frame, list(frame.columns))
    with engine.connect() as conn:
        rows = {int(r.external_id): r for r in conn.execute(
            select(Order.external_id, Order.discount_codes, Order.line_count, Order.processed_at, Order.is_deleted))}
    assert [rows[i].discount_codes for i in range(len(texts))] == texts
    assert [rows[i].line_count for i in (0, 2, 8)] == [0, -3, 2**31 - 1]
    assert rows[1].processed_at == datetime(2026, 11, 1, 6, 0, 0, 500000, tzinfo=timezone.utc)
    assert rows[0].processed_at is None and rows[2].processed_at is None
    assert [rows[i].is_deleted for i in (0, 1, 8)] == [False, True, True]
