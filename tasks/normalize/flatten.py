"""Nested lists (line items, refunds) into flat rows that remember their parent."""

from __future__ import annotations

import numpy as np
import pandas as pd


def flatten(lists) -> tuple[np.ndarray, list[dict]]:
    """Every item of every nested list (a column of line items, refunds…), with its parent's position.

    An item that is not a JSON object becomes `{}`, so that its missing fields are reported
    by validation instead of the item quietly disappearing.
    """
    parents: list[int] = []
    items: list[dict] = []
    for position, nested in enumerate(lists.tolist() if hasattr(lists, "tolist") else lists):
        if type(nested) is list and nested:
            parents.extend([position] * len(nested))
            items.extend(item if type(item) is dict else {} for item in nested)
    return np.asarray(parents, dtype=np.int64), items


def sum_by(parents, values, size: int) -> pd.Series:
    """Exact integer sums of `values` per parent position 0..size-1 (missing values count as zero)."""
    parents = np.asarray(parents, dtype=np.int64)
    if parents.size == 0:
        return pd.Series(np.zeros(size, dtype=np.int64)).astype("Int64")
    numbers = pd.Series(pd.array(np.asarray(values, dtype=object) if not hasattr(values, "dtype") else values,
                                 dtype="Int64")).fillna(0)
    sums = numbers.groupby(parents).sum()
    return sums.reindex(range(size), fill_value=0).astype("Int64").reset_index(drop=True)
