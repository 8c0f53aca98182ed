"""What happens to an order after checkout; each event is a new version with a later updated_at.

created (paid, authorized, pending or failed) -> paid (pending payments) -> fulfilled 1-3 days
later -> for some a refund 3-20 days later; or a cancellation within a day instead. Payment on
delivery (COD) arrives days after fulfilment. Event instants strictly increase within an order,
so "the state at version k" is simply "every event at or before event k".
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .basket import Basket, expand_segments, segment_sums
from .wire import NEVER

DAY, HOUR, MINUTE = 86_400, 3_600, 60
CARD, PAYPAL, BANK_TRANSFER, CASH_ON_DELIVERY = 0, 1, 2, 3
PAYMENT_SHARES = {
    "shopify": (0.68, 0.28, 0.0, 0.04),
    "woocommerce": (0.55, 0.30, 0.10, 0.05),
    "amazon": (0.93, 0.0, 0.05, 0.02),  # Amazon's own payments; invoices; cash on delivery
}
PAID, AUTHORIZED, PENDING, FAILED = 0, 1, 2, 3
CANCEL_REASONS = ("customer", "inventory", "fraud", "declined", "other")
CANCEL_REASON_SHARES = (0.5, 0.15, 0.1, 0.1, 0.15)
REFUND_NOTES = ("Damaged in transit", "Customer changed their mind", "Wrong size ordered",
                "Item not as described", "Arrived too late", "Order cancelled")
NOTE_ORDER_CANCELLED = len(REFUND_NOTES) - 1
RESTOCK_TYPES = ("return", "no_restock", "cancel")
RESTOCK_RETURN, RESTOCK_NONE, RESTOCK_CANCEL = 0, 1, 2
EVENT_SLOTS = 4


@dataclass
class Lifecycle:
    payment_method: np.ndarray   # int8: CARD, PAYPAL, BANK_TRANSFER, CASH_ON_DELIVERY
    initial_payment: np.ndarray  # int8: PAID, AUTHORIZED, PENDING, FAILED
    paid_at: np.ndarray          # when the money arrived (captured), NEVER if it did not
    fulfilled_at: np.ndarray
    cancelled_at: np.ndarray
    cancel_reason: np.ndarray    # int8 index into CANCEL_REASONS
    closed_at: np.ndarray        # Shopify archives an order once paid and fulfilled, or cancelled
    refund_at: np.ndarray        # the refund object's instant (a refund event, or a paid order's cancel)
    refund_full: np.ndarray
    refund_note: np.ndarray      # int8 index into REFUND_NOTES
    refund_restock: np.ndarray   # int8 index into RESTOCK_TYPES
    refund_total: np.ndarray     # cents, 0 without refund
    refund_line_offsets: np.ndarray  # CSR over the refund lines below
    refund_line: np.ndarray      # global line index
    refund_quantity: np.ndarray
    refund_subtotal: np.ndarray
    refund_tax: np.ndarray
    event_time: np.ndarray       # (n, 4) sorted event instants, NEVER-padded



def _seconds(rng: np.random.Generator, low: float, high: float, size: int) -> np.ndarray:
    return rng.uniform(low, high, size).astype(np.int64)


def _initial_payment(rng: np.random.Generator, kind: str, method: np.ndarray) -> np.ndarray:
    draw = rng.random(len(method))
    initial = np.full(len(method), PAID, dtype=np.int8)
    if kind == "shopify":
        initial[(method == CARD) & (draw < 0.10)] = AUTHORIZED  # captured at fulfilment
    elif kind == "amazon":
        initial[(method == CARD) & (draw < 0.20)] = PENDING  # "Pending" until Amazon clears it, minutes to hours
    else:
        initial[(method == CARD) & (draw < 0.015)] = FAILED
        initial[(method == PAYPAL) & (draw < 0.08)] = PENDING
    initial[(method == BANK_TRANSFER) | (method == CASH_ON_DELIVERY)] = PENDING
    return initial


def run_lifecycle(rng: np.random.Generator, kind: str, created: np.ndarray, basket: Basket,
                  refund_rate: float, cancellation_rate: float) -> Lifecycle:
    n = len(created)
    method = rng.choice(4, size=n, p=PAYMENT_SHARES[kind]).astype(np.int8)
    initial = _initial_payment(rng, kind, method)
    failed = initial == FAILED
    cancelled = ~failed & (rng.random(n) < cancellation_rate)
    proceeds = ~failed & ~cancelled

    # Money that is still pending at checkout arrives later: PayPal in minutes, transfers in days.
    paid_before_shipping = np.where(method == BANK_TRANSFER, _seconds(rng, 0.5 * DAY, 3 * DAY, n),
                                    _seconds(rng, 5 * MINUTE, 2 * HOUR, n))
    waits_for_money = (initial == PENDING) & (method != CASH_ON_DELIVERY)
    ships_from = np.where(waits_for_money, created + paid_before_shipping, created)
    fulfilled_at = np.where(proceeds, ships_from + _seconds(rng, DAY, 3 * DAY, n), NEVER)
    paid_at = np.select(
        [initial == PAID, initial == AUTHORIZED, waits_for_money, method == CASH_ON_DELIVERY],
        [created, fulfilled_at, ships_from, fulfilled_at + _seconds(rng, 2 * DAY, 6 * DAY, n)],
        default=NEVER)
    paid_at = np.where(proceeds | (cancelled & (initial == PAID)), paid_at, NEVER)

    cancelled_at = np.where(cancelled, created + _seconds(rng, 10 * MINUTE, 23 * HOUR, n), NEVER)
    cancel_reason = rng.choice(len(CANCEL_REASONS), size=n, p=CANCEL_REASON_SHARES).astype(np.int8)
    closed_at = np.where(cancelled, cancelled_at, np.where(proceeds, np.maximum(paid_at, fulfilled_at), NEVER))

    refunded_later = proceeds & (rng.random(n) < refund_rate)
    refund_event = np.where(refunded_later,
                            np.maximum(fulfilled_at, paid_at) + _seconds(rng, 3 * DAY, 20 * DAY, n), NEVER)
    refunded_at_cancel = cancelled & (initial == PAID)  # the money goes back when it is cancelled
    has_refund = refunded_later | refunded_at_cancel
    refund_at = np.where(refunded_at_cancel, cancelled_at, refund_event)
    refund_full = refunded_at_cancel | (refunded_later & (rng.random(n) < 0.4))
    refund_note = np.where(refunded_at_cancel, NOTE_ORDER_CANCELLED,
                           rng.integers(0, NOTE_ORDER_CANCELLED, n)).astype(np.int8)
    refund_restock = np.where(refunded_at_cancel, RESTOCK_CANCEL,
                              np.where(rng.random(n) < 0.75, RESTOCK_RETURN, RESTOCK_NONE)).astype(np.int8)

    # Refund lines: every line for a full refund, one line (some of its units) for a partial one.
    offsets = basket.line_offsets
    line_count = np.diff(offsets)
    chosen_line = offsets[:-1] + np.floor(rng.random(n) * line_count).astype(np.int64)
    starts = np.where(refund_full, offsets[:-1], chosen_line)
    counts = np.where(has_refund, np.where(refund_full, line_count, 1), 0)
    refund_line = expand_segments(starts, counts)
    refund_line_offsets = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    ordered = basket.quantity[refund_line]
    full_per_line = np.repeat(refund_full, counts)
    partial_units = 1 + np.floor(rng.random(len(refund_line)) * ordered).astype(np.int64)
    refund_quantity = np.where(full_per_line, ordered, partial_units)
    # Pro rata, rounded half up; a full line comes back to the cent.
    refund_subtotal = (basket.line_net[refund_line] * refund_quantity * 2 + ordered) // (2 * ordered)
    refund_tax = (basket.tax[refund_line] * refund_quantity * 2 + ordered) // (2 * ordered)
    refund_total = segment_sums(refund_subtotal + refund_tax, refund_line_offsets)
    refund_total = refund_total + np.where(refund_full, basket.shipping + basket.shipping_tax, 0)

    paid_event = np.where(initial == PENDING, paid_at, NEVER)
    candidates = np.stack([created, paid_event, fulfilled_at, refund_event, cancelled_at], axis=1)
    event_time = np.sort(candidates, axis=1)[:, :EVENT_SLOTS]

    return Lifecycle(method, initial, paid_at, fulfilled_at, cancelled_at, cancel_reason, closed_at,
                     refund_at, refund_full, refund_note, refund_restock, refund_total,
                     refund_line_offsets, refund_line, refund_quantity, refund_subtotal, refund_tax,
                     event_time)
