"""Hand-built warehouse rows for tests that need a known history rather than the sandbox's."""

from __future__ import annotations

from datetime import datetime, timezone

import pandas as pd

from warehouse.engine import write_transaction
from warehouse.io import insert_frame

MONEY = 10_000  # the warehouse's money unit: ten-thousandths


def insert_orders(engine, frame: pd.DataFrame, source: str = "shop", currency: str = "EUR") -> None:
    """One order a row, one line each: external_id, created_at (UTC), sku, quantity, unit_price,
    discount (the line's, money as floats), code (or None)."""
    now = pd.Timestamp(datetime.now(timezone.utc))
    quantity = frame["quantity"].astype("int64")
    price = (frame["unit_price"] * MONEY).round().astype("int64")
    discount = (frame["discount"] * MONEY).round().astype("int64")
    total = quantity * price - discount
    orders = pd.DataFrame({
        "source": source, "external_id": frame["external_id"], "status": "paid", "currency": currency,
        "created_at": frame["created_at"], "updated_at": frame["created_at"], "subtotal": quantity * price,
        "discount_total": discount, "shipping_total": 0, "tax_total": 0, "total": total, "refunded_total": 0,
        "customer_key": "c" + frame["external_id"], "discount_codes": frame["code"], "line_count": 1,
        "item_count": quantity, "risk_level": "none", "is_deleted": False, "run_id": "test", "loaded_at": now})
    lines = pd.DataFrame({
        "source": source, "external_order_id": frame["external_id"], "line_id": "1", "sku": frame["sku"],
        "quantity": quantity, "unit_price": price, "discount": discount, "line_total": total,
        "refunded_quantity": 0})
    with write_transaction(engine) as conn:
        insert_frame(conn, "orders", orders, list(orders.columns))
        insert_frame(conn, "order_lines", lines, list(lines.columns))


def insert_products(engine, categories: dict[str, str], listed_at: datetime, unit_cost: float = 6.0,
                    list_price: float = 10.0) -> None:
    now = pd.Timestamp(datetime.now(timezone.utc))
    products = pd.DataFrame({"sku": list(categories), "category": list(categories.values()),
                             "unit_cost": round(unit_cost * MONEY), "list_price": round(list_price * MONEY),
                             "currency": "EUR", "listed_at": pd.Timestamp(listed_at), "updated_at": now,
                             "is_presale": False, "pack_size": 1, "moq": 1})
    with write_transaction(engine) as conn:
        insert_frame(conn, "products", products, list(products.columns))
