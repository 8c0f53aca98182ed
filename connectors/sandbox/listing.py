"""Order listings: filter, sort and paginate a store's orders as seen at sandbox time t.

All of it is numpy over the store's columns. A listing is sorted by (key, order id, copy) where
copy is 0, or 1 for the second appearance of a duplicated order, and keys are negated for
descending order so that one ascending search serves both. Paging through a listing reuses it
from a small cache keyed by (filter, t), so a 1M-order walk sorts once, not once per page.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from .state import state_at, visible_versions
from .store import StoreData

SORT_KEYS = ("id", "created_at", "updated_at", "include")
_CACHED_LISTINGS = 4  # each is a few arrays of the listed rows; enough for a paging client or two


@dataclass(frozen=True)
class OrderFilter:
    statuses: tuple[int, ...] | None = None   # status codes of the store's kind; None = any
    updated: tuple[int, int] | None = None     # inclusive epoch bounds of the shown version
    created: tuple[int, int] | None = None     # inclusive epoch bounds
    include: tuple[int, ...] | None = None     # only these order ids (WooCommerce `include`)
    sort: str = "id"
    descending: bool = False


@dataclass
class Snapshot:
    """The visible orders at one instant, with the columns filters look at."""
    rows: np.ndarray
    versions: np.ndarray
    updated: np.ndarray
    status: np.ndarray


@dataclass
class Listing:
    rows: np.ndarray      # store row of each listed row
    versions: np.ndarray  # version shown
    copy: np.ndarray      # 0, or 1 for a duplicate's second appearance
    key: np.ndarray       # sort key (negated when descending)
    tie: np.ndarray       # order id (negated when descending)

    @classmethod
    def sorted_by(cls, rows: np.ndarray, key: np.ndarray, tie: np.ndarray) -> Listing:
        """A listing of distinct rows in ascending (key, tie) order (catalogue endpoints)."""
        order = np.lexsort((tie, key))
        zeros = np.zeros(len(rows), dtype=np.int8)
        return cls(rows[order], zeros, zeros.astype(np.int64), key[order], tie[order])

    def __len__(self) -> int:
        return len(self.rows)

    def position(self, key: int, tie: int, copy: int) -> int:
        """Index of the first row at or after (key, tie, copy) in listing order."""
        low = int(np.searchsorted(self.key, key, side="left"))
        high = int(np.searchsorted(self.key, key, side="right"))
        same_key = self.tie[low:high]
        first = low + int(np.searchsorted(same_key, tie, side="left"))
        last = low + int(np.searchsorted(same_key, tie, side="right"))
        return min(first + copy, last)

    def row_key(self, index: int) -> tuple[int, int, int]:
        return int(self.key[index]), int(self.tie[index]), int(self.copy[index])


class OrderIndex:
    """One store's listings, thread-safe; results are cached per (filter, clock second)."""

    def __init__(self, store: StoreData) -> None:
        self.store = store
        self._lock = threading.Lock()
        self._snapshot: tuple[int, Snapshot] | None = None
        self._listings: OrderedDict[tuple[OrderFilter, int], Listing] = OrderedDict()

    def snapshot(self, moment: int) -> Snapshot:
        with self._lock:
            if self._snapshot is not None and self._snapshot[0] == moment:
                return self._snapshot[1]
        versions = visible_versions(self.store, moment)
        rows = np.flatnonzero(versions >= 0)
        state = state_at(self.store, rows, versions[rows])
        snapshot = Snapshot(rows, versions[rows], state.updated, state.status_codes())
        with self._lock:
            self._snapshot = (moment, snapshot)
        return snapshot

    def listing(self, order_filter: OrderFilter, moment: int) -> Listing:
        cache_key = (order_filter, moment)
        with self._lock:
            if cache_key in self._listings:
                self._listings.move_to_end(cache_key)
                return self._listings[cache_key]
        listing = self._build(order_filter, self.snapshot(moment))
        with self._lock:
            self._listings[cache_key] = listing
            while len(self._listings) > _CACHED_LISTINGS:
                self._listings.popitem(last=False)
        return listing

    def _build(self, order_filter: OrderFilter, snapshot: Snapshot) -> Listing:
        store = self.store
        keep = np.ones(len(snapshot.rows), dtype=bool)
        if order_filter.statuses is not None:
            keep &= np.isin(snapshot.status, order_filter.statuses)
        if order_filter.updated is not None:
            low, high = order_filter.updated
            keep &= (snapshot.updated >= low) & (snapshot.updated <= high)
        rows, versions, updated = snapshot.rows[keep], snapshot.versions[keep], snapshot.updated[keep]
        if order_filter.created is not None:
            low, high = order_filter.created
            inside = (store.created[rows] >= low) & (store.created[rows] <= high)
            rows, versions, updated = rows[inside], versions[inside], updated[inside]
        if order_filter.include is not None:
            wanted = np.asarray(order_filter.include, dtype=np.int64)
            inside = np.isin(store.ids.order[rows], wanted)
            rows, versions, updated = rows[inside], versions[inside], updated[inside]

        ids = store.ids.order[rows]
        if order_filter.sort == "updated_at":
            key = updated
        elif order_filter.sort == "created_at":
            key = store.created[rows]
        elif order_filter.sort == "include":
            listed = {order_id: rank for rank, order_id in enumerate(order_filter.include or ())}
            key = np.array([listed[order_id] for order_id in ids.tolist()], dtype=np.int64)
        else:
            key = ids
        sign = -1 if order_filter.descending else 1
        key, tie = key * sign, ids * sign
        # Rows are in creation order and ids grow with it: id and created_at need no sort.
        if order_filter.sort in ("updated_at", "include"):
            order = np.lexsort((tie, key))
        else:
            order = np.arange(len(rows))[::sign]
        rows, versions, key, tie = rows[order], versions[order], key[order], tie[order]

        appearances = 1 + store.anomalies.duplicated[rows].astype(np.int64)
        first = np.cumsum(appearances) - appearances
        copy = np.arange(int(appearances.sum())) - np.repeat(first, appearances)
        return Listing(np.repeat(rows, appearances), np.repeat(versions, appearances), copy,
                       np.repeat(key, appearances), np.repeat(tie, appearances))
