"""A shop's purchase orders, as the purchasing system holds them: what refilled the stock ledger,
and what is on order for the SKUs out of stock at the anchor.

- Every receipt of the ledger is a purchase-order line for the units received. It was ordered
  the SKU's lead time before it arrived; a few lines (LATE_SHARE) came 1-3 days late, i.e. were
  ordered that much earlier, so `expected_on = ordered_on + lead time` is before `received_on`.
- Of the SKUs out of stock at the anchor (never pre-sale or dead stock), OPEN_ORDER_SHARE are on
  order: ordered 0-2 days after running out, for the demand of the lead time plus COVER_DAYS,
  in whole packs and at least the MOQ. Some are overdue at the anchor, as in real life.

One SKU per purchase order; numbers follow ordered_on, then SKU. The lines are built once for the
whole history; an export "as of" a day leaves out what was not ordered yet and shows what had
not arrived yet as open.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .catalogue import Catalogue
from .stock_ledger import StockLedger

NOT_RECEIVED = -1          # received_on of a line still open at the anchor
LATE_SHARE = 0.08          # receipts that arrived after their expected day
LATE_DAYS = (1, 3)         # by this many days (inclusive)
OPEN_ORDER_SHARE = 0.6     # SKUs out of stock at the anchor that are already on order
ORDER_DELAY_DAYS = 2       # an open order is placed 0..2 days after the stock-out began
COVER_DAYS = 30            # an open order covers the lead time plus this many days of demand
RECENT_DAYS = 28           # demand rate: the in-stock days of the 4 weeks before running out


@dataclass
class PurchaseOrderLines:
    """Columns, one row per line, sorted by (ordered_on, sku, received_on); po number = row + 1.
    Days are UTC epoch days."""
    sku: np.ndarray            # catalogue index
    quantity: np.ndarray
    ordered_on: np.ndarray
    expected_on: np.ndarray
    received_on: np.ndarray    # NOT_RECEIVED = still open at the anchor

    def __len__(self) -> int:
        return len(self.sku)


def build_purchase_orders(rng: np.random.Generator, catalogue: Catalogue, ledger: StockLedger) -> PurchaseOrderLines:
    # Per-SKU draws first, a fixed number of them, so the receipts' count does not shift them.
    on_order = rng.random(catalogue.size) < OPEN_ORDER_SHARE
    order_delay = rng.integers(0, ORDER_DELAY_DAYS + 1, catalogue.size)
    parts = [_receipt_lines(rng, catalogue, ledger), _open_lines(catalogue, ledger, on_order, order_delay)]
    lines = PurchaseOrderLines(*(np.concatenate([getattr(part, name) for part in parts]) for name in
                                 ("sku", "quantity", "ordered_on", "expected_on", "received_on")))
    order = np.lexsort((lines.received_on, lines.sku, lines.ordered_on))
    return PurchaseOrderLines(lines.sku[order], lines.quantity[order], lines.ordered_on[order],
                              lines.expected_on[order], lines.received_on[order])


def _receipt_lines(rng: np.random.Generator, catalogue: Catalogue, ledger: StockLedger) -> PurchaseOrderLines:
    day, sku = np.nonzero(ledger.received > 0)
    late = rng.random(len(sku)) < LATE_SHARE
    delay = np.where(late, rng.integers(LATE_DAYS[0], LATE_DAYS[1] + 1, len(sku)), 0)
    lead = catalogue.lead_time_days[sku].astype(np.int64)
    received_on = ledger.first_day + day.astype(np.int64)
    ordered_on = received_on - lead - delay
    return PurchaseOrderLines(sku.astype(np.int64), ledger.received[day, sku], ordered_on, ordered_on + lead,
                              received_on)


def stock_out_start(ledger: StockLedger) -> np.ndarray:
    """Per SKU, the index of the first day of the stock-out running at the anchor (the day after
    the last day that ended in stock; 0 when none did); meaningful for SKUs out at the anchor."""
    in_stock = ~ledger.out_of_stock
    ever = in_stock.any(axis=0)
    last_in_stock = ledger.day_count - 1 - np.argmax(in_stock[::-1], axis=0)
    return np.where(ever, last_in_stock + 1, 0)


def recent_demand(ledger: StockLedger, until: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per SKU, (units sold, in-stock days) over the RECENT_DAYS before day index `until`.

    Days that ended out of stock say nothing about demand and are left out."""
    day = np.arange(ledger.day_count)[:, None]
    counted = (day < until) & (day >= until - RECENT_DAYS) & ~ledger.out_of_stock
    return (ledger.sold * counted).sum(axis=0), counted.sum(axis=0)


def _open_lines(catalogue: Catalogue, ledger: StockLedger, on_order: np.ndarray,
                order_delay: np.ndarray) -> PurchaseOrderLines:
    presale = catalogue.product_is_presale[catalogue.product]
    sku = np.flatnonzero(ledger.out_of_stock[-1] & ~presale & ~catalogue.is_dead_stock & on_order)
    starts = stock_out_start(ledger)
    units, days = recent_demand(ledger, starts)
    start = starts[sku]
    lead = catalogue.lead_time_days[sku].astype(np.int64)
    # ceil(units / days x (lead + COVER_DAYS)) in integers, then whole packs, at least the MOQ.
    need = -(-units[sku] * (lead + COVER_DAYS) // np.maximum(days[sku], 1))
    pack = catalogue.pack_size[sku].astype(np.int64)
    quantity = np.maximum(-(-need // pack) * pack, catalogue.moq[sku].astype(np.int64))
    ordered_on = ledger.first_day + start + order_delay[sku]
    return PurchaseOrderLines(sku, quantity, ordered_on, ordered_on + lead, np.full(len(sku), NOT_RECEIVED))
