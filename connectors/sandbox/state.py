"""What an order looks like at a given version: statuses derived from which events happened.

Versions are event slots (see lifecycle); the version shown at sandbox time t is the latest one
already visible (instant + any late-visibility lag <= t). Everything here is vectorized over a
selection of orders, so listings can filter by status without building a single dict.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .lifecycle import AUTHORIZED, BANK_TRANSFER, CASH_ON_DELIVERY, EVENT_SLOTS, FAILED
from .store import StoreData

SHOPIFY_STATUSES = ("open", "closed", "cancelled")  # the orders.json `status` filter classes
SHOPIFY_OPEN, SHOPIFY_CLOSED, SHOPIFY_CANCELLED = range(3)
FINANCIAL_STATUSES = ("pending", "authorized", "paid", "partially_refunded", "refunded", "voided")
WOO_STATUSES = ("pending", "processing", "on-hold", "completed", "cancelled", "refunded", "failed")
AMAZON_STATUSES = ("Pending", "Unshipped", "Shipped", "Canceled")
INVISIBLE = -1
_FINANCIAL = {name: code for code, name in enumerate(FINANCIAL_STATUSES)}
_WOO = {name: code for code, name in enumerate(WOO_STATUSES)}


def visible_versions(store: StoreData, moment: int) -> np.ndarray:
    """Per order: index of the latest visible event slot at `moment`, INVISIBLE if none yet."""
    visible = store.event_visible <= moment
    latest = EVENT_SLOTS - 1 - np.argmax(visible[:, ::-1], axis=1)
    shown = visible.any(axis=1)
    if store.deleted_at is not None:
        shown &= store.deleted_at > moment  # a deleted order is gone from every listing
    return np.where(shown, latest, INVISIBLE).astype(np.int8)


@dataclass
class VersionState:
    rows: np.ndarray
    updated: np.ndarray
    paid: np.ndarray
    fulfilled: np.ndarray
    cancelled: np.ndarray
    refunded: np.ndarray   # the refund object exists in this version
    closed: np.ndarray
    store: StoreData

    def shopify_status(self) -> np.ndarray:
        return np.select([self.cancelled, self.closed], [SHOPIFY_CANCELLED, SHOPIFY_CLOSED],
                         SHOPIFY_OPEN).astype(np.int8)

    def financial_status(self) -> np.ndarray:
        life = self.store.life
        full = life.refund_full[self.rows]
        return np.select(
            [self.cancelled & ~self.paid, self.refunded & full, self.refunded, self.paid,
             life.initial_payment[self.rows] == AUTHORIZED],
            [_FINANCIAL["voided"], _FINANCIAL["refunded"], _FINANCIAL["partially_refunded"], _FINANCIAL["paid"],
             _FINANCIAL["authorized"]], _FINANCIAL["pending"]).astype(np.int8)

    def woo_status(self) -> np.ndarray:
        life = self.store.life
        method = life.payment_method[self.rows]
        return np.select(
            [self.cancelled, self.refunded & life.refund_full[self.rows],
             life.initial_payment[self.rows] == FAILED, self.fulfilled,
             self.paid | (method == CASH_ON_DELIVERY), method == BANK_TRANSFER],
            [_WOO["cancelled"], _WOO["refunded"], _WOO["failed"], _WOO["completed"], _WOO["processing"],
             _WOO["on-hold"]], _WOO["pending"]).astype(np.int8)

    def amazon_status(self) -> np.ndarray:
        """Amazon's OrderStatus: Pending until the payment is authorised (Amazon then withholds
        the prices), Unshipped, Shipped, or Canceled. Refunds are not part of the Orders API."""
        cash = self.store.life.payment_method[self.rows] == CASH_ON_DELIVERY
        return np.select([self.cancelled, self.fulfilled, self.paid | cash], [3, 2, 1], 0).astype(np.int8)

    def status_codes(self) -> np.ndarray:
        """The kind's own status vocabulary (SHOPIFY_STATUSES, WOO_STATUSES or AMAZON_STATUSES)."""
        kind = self.store.kind
        return self.shopify_status() if kind == "shopify" else self.amazon_status() if kind == "amazon" else self.woo_status()

    def status_names(self) -> list[str]:
        kind = self.store.kind
        names = SHOPIFY_STATUSES if kind == "shopify" else AMAZON_STATUSES if kind == "amazon" else WOO_STATUSES
        return [names[code] for code in self.status_codes().tolist()]


def state_at(store: StoreData, rows: np.ndarray, versions: np.ndarray) -> VersionState:
    life = store.life
    updated = life.event_time[rows, versions]
    return VersionState(
        rows=rows,
        updated=updated,
        paid=life.paid_at[rows] <= updated,
        fulfilled=life.fulfilled_at[rows] <= updated,
        cancelled=life.cancelled_at[rows] <= updated,
        refunded=life.refund_at[rows] <= updated,
        closed=life.closed_at[rows] <= updated,
        store=store,
    )
