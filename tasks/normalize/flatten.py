"""Nested lists (line items, refunds) into flat rows that remember their parent."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pandas as pd


def flatten(records: list[dict], key: str) -> tuple[np.ndarray, list[dict]]:
    """Every item of `record[key]` for every record, with its parent's position.

    An item that is not a JSON object becomes `{}`, so that its missing fields are reported
    by validation instead of the item quietly disappearing.
    """
    parents: list[int] = []
    items: list[dict] = []
    for position, record in enumerate(records):
        nested = record.get(key) if isinstance(record, dict) else None
        if isinstance(nested, list) and nested:
            parents.extend([position] * len(nested))
            items.extend(item if isinstance(item, dict) else {} for item in nested)
    return np.asarray(parents, dtype=np.int64), items


def sum_by(parents, values: pd.Series, size: int, zero=Decimal("0")) -> pd.Series:
    """Sum `values` per parent position 0..size-1 (missing values count as zero)."""
    parents = np.asarray(parents, dtype=np.int64)
    if isinstance(zero, int):
        weights = pd.to_numeric(pd.Series(values), errors="coerce").fillna(0).to_numpy(dtype=np.float64)
        return pd.Series(np.bincount(parents, weights=weights, minlength=size).astype(np.int64))
    if parents.size == 0:
        return pd.Series([zero] * size, dtype=object)
    filled = pd.Series(values, dtype=object).reset_index(drop=True)
    filled = filled.where(filled.notna(), zero)
    sums = filled.groupby(parents).sum()
    return sums.reindex(range(size), fill_value=zero).astype(object)
