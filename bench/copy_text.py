"""How fast a chunk becomes PostgreSQL COPY input (warehouse.io.copy_text), without a database.

    python -m bench.copy_text --rows 100000

A 14-column frame shaped like `orders` (text, timestamps, money in ten-thousandths, missing
values); prints the best of five runs in ms and µs per row.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd


def order_like_frame(rows: int) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    moments = lambda: pd.to_datetime(rng.integers(1_700_000_000, 1_800_000_000, rows), unit="s", utc=True)  # noqa: E731
    return pd.DataFrame({
        "source": ["shop-us"] * rows,
        "external_id": rng.integers(10**12, 10**13, rows).astype(str),
        "order_number": [f"#{i}" for i in range(rows)],
        "status": rng.choice(["paid", "fulfilled", "refunded"], rows),
        "currency": ["USD"] * rows,
        "created_at": moments(),
        "updated_at": moments(),
        "subtotal": pd.array(rng.integers(0, 10**9, rows), dtype="Int64"),
        "discount_total": pd.array(rng.integers(0, 10**7, rows), dtype="Int64"),
        "total": pd.array(rng.integers(-10**5, 10**9, rows), dtype="Int64"),
        "customer_key": pd.Series(rng.integers(0, 10**15, rows).astype(str)).where(rng.random(rows) > 0.1),
        "line_count": rng.integers(1, 5, rows),
        "risk_reasons": pd.Series(["cash on delivery"] * rows).where(rng.random(rows) > 0.8),
        "is_deleted": np.zeros(rows, dtype=bool),
    })


def main() -> int:
    from warehouse.io import copy_text

    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000)
    rows = parser.parse_args().rows
    frame = order_like_frame(rows)
    money = {"subtotal", "discount_total", "total"}
    runs = []
    for _ in range(5):
        began = time.perf_counter()
        copy_text(frame, money)
        runs.append(time.perf_counter() - began)
    best = min(runs)
    print(f"COPY input of {rows:,} order rows × {frame.shape[1]} columns: best {1000 * best:.0f} ms "
          f"({1e6 * best / rows:.2f} µs per row)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
