"""Ground truth: what the API shows for a store at a given sandbox time, as DataFrames.

Tests compute expected numbers from here instead of hard-coding them. Values are the clean
generated ones: a malformed order is flagged in `malformed` (its wire form is damaged, its
truth is not), so `total = subtotal - discount_total + shipping_total + tax_total` holds on
every row.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import numpy as np
import pandas as pd

from .anomalies import MALFORMED_KINDS, NOT_MALFORMED
from .basket import gather_segments
from .catalogue import CATEGORY_NAMES, DAY, SUPPLIERS
from .clock import SandboxClock
from .config import as_utc
from .state import FINANCIAL_STATUSES, INVISIBLE, state_at, visible_versions
from .stock_exports import PURCHASE_ORDER_COLUMNS, STOCK_HISTORY_COLUMNS, StockBook
from .store import StoreData
from .wire import NEVER, money_list


def _decimals(cents: np.ndarray) -> list[Decimal]:
    return [Decimal(text) for text in money_list(cents)]


def _utc(seconds: np.ndarray) -> pd.Series:
    values = np.where(seconds == NEVER, np.datetime64("NaT"), seconds.astype("datetime64[s]"))
    return pd.Series(values.astype("datetime64[s]")).dt.tz_localize("UTC")


class Truth:
    def __init__(self, store: StoreData, clock: SandboxClock, stock: StockBook | None = None) -> None:
        self.store = store
        self._clock = clock
        self._stock = stock

    def _moment(self, now: datetime | None) -> int:
        return self._clock.epoch_seconds() if now is None else int(as_utc(now).timestamp())

    def orders(self, now: datetime | None = None) -> pd.DataFrame:
        """One row per generated order; `visible` says whether the API lists it at `now`."""
        store, moment = self.store, self._moment(now)
        basket, life = store.basket, store.life
        rows = np.arange(store.order_count)
        versions = visible_versions(store, moment)
        visible = versions != INVISIBLE
        state = state_at(store, rows, np.maximum(versions, 0))
        status = np.array(state.status_names(), dtype=object)
        refunded = np.where(visible & state.refunded, life.refund_total, 0)
        # How late the shown version became visible; for a created but still hidden order, its creation.
        slot = np.maximum(versions, 0)
        lag_minutes = np.where(store.created <= moment, store.anomalies.visibility_lag[rows, slot] // 60, 0)
        malformed = store.anomalies.malformed
        frame = pd.DataFrame({
            "id": store.ids.order,
            "created_at": _utc(store.created),
            "updated_at": _utc(np.where(visible, state.updated, NEVER)),
            "visible": visible,
            "version": versions.astype(np.int64),
            "status": pd.Series(np.where(visible, status, None), dtype=object),
            "currency": store.config.currency,
            "subtotal": _decimals(basket.subtotal),
            "discount_total": _decimals(basket.discount_total),
            "shipping_total": _decimals(basket.shipping),
            "tax_total": _decimals(basket.tax_total),
            "total": _decimals(basket.total),
            "refunded_total": _decimals(refunded),
            "customer_email": store.customers.emails(store.customer),
            "line_count": np.diff(basket.line_offsets),
            "malformed": pd.Series([MALFORMED_KINDS[k] if k != NOT_MALFORMED else None for k in malformed.tolist()],
                                   dtype=object),  # None, not NaN, for clean orders
            "duplicated": store.anomalies.duplicated,
            "late_visibility_minutes": lag_minutes.astype(np.int64),
        })
        if store.kind == "shopify":
            financial = np.array(FINANCIAL_STATUSES, dtype=object)[state.financial_status()]
            frame["financial_status"] = pd.Series(np.where(visible, financial, None), dtype=object)
            frame["fulfillment_status"] = pd.Series(np.where(visible & state.fulfilled, "fulfilled", None), dtype=object)
        return frame

    def lines(self, now: datetime | None = None) -> pd.DataFrame:
        """The lines of the orders visible at `now`, with the units refunded as of the shown version."""
        store, moment = self.store, self._moment(now)
        basket, life = store.basket, store.life
        versions = visible_versions(store, moment)
        rows = np.flatnonzero(versions != INVISIBLE)
        state = state_at(store, rows, versions[rows])
        counts = np.diff(basket.line_offsets)[rows]
        lines, _ = gather_segments(basket.line_offsets, rows)
        refund_shown = np.zeros(store.order_count, dtype=bool)
        refund_shown[rows] = state.refunded
        order_of_refund_line = np.repeat(np.arange(store.order_count), np.diff(life.refund_line_offsets))
        shown = refund_shown[order_of_refund_line]
        refunded_units = np.bincount(life.refund_line[shown], weights=life.refund_quantity[shown],
                                     minlength=len(basket.sku)).astype(np.int64)
        return pd.DataFrame({
            "order_id": np.repeat(store.ids.order[rows], counts),
            "line_id": store.ids.line[lines],
            "sku": [store.catalogue.sku_codes[s] for s in basket.sku[lines].tolist()],
            "quantity": basket.quantity[lines],
            "unit_price": _decimals(basket.unit_price[lines]),
            "discount": _decimals(basket.discount[lines]),
            "refunded_quantity": refunded_units[lines],
        })

    def products(self) -> pd.DataFrame:
        catalogue = self.store.catalogue
        product = catalogue.product
        titles = [catalogue.product_title[p] if catalogue.option[s] < 0 else
                  f"{catalogue.product_title[p]} - {catalogue.variant_title(s)}"
                  for s, p in enumerate(product.tolist())]
        return pd.DataFrame({
            "sku": catalogue.sku_codes,
            "title": titles,
            "category": [CATEGORY_NAMES[c] for c in catalogue.product_category[product].tolist()],
            "unit_cost": _decimals(catalogue.unit_cost),
            "list_price": _decimals(catalogue.list_price),
            "pack_size": catalogue.pack_size.astype(np.int64),
            "moq": catalogue.moq.astype(np.int64),
            "lead_time_days": catalogue.lead_time_days.astype(np.int64),
            "lead_time_std_days": catalogue.lead_time_std_days,
            "supplier": [SUPPLIERS[s] for s in catalogue.product_supplier[product].tolist()],
            "created_at": _utc(catalogue.product_created[product]),
            "is_presale": catalogue.product_is_presale[product],
            "is_best_seller": catalogue.is_best_seller,
            "is_dead_stock": catalogue.is_dead_stock,
        })

    def stock_outs(self) -> pd.DataFrame:
        """Out-of-stock periods; `end` is NaT for one still running at the anchor."""
        catalogue = self.store.catalogue
        sku, slot = np.nonzero(catalogue.stock_out_start != NEVER)
        order = np.lexsort((catalogue.stock_out_start[sku, slot], sku))
        sku, slot = sku[order], slot[order]
        return pd.DataFrame({
            "sku": [catalogue.sku_codes[s] for s in sku.tolist()],
            "start": _utc(catalogue.stock_out_start[sku, slot]),
            "end": _utc(catalogue.stock_out_end[sku, slot]),
        })

    # -- stock history and purchase orders (Shopify shops; another store has none) ---------------
    def _shops(self) -> list[str]:
        return [self.store.name] if self.store.kind == "shopify" else []

    def stock_history(self, until: datetime | None = None) -> pd.DataFrame:
        """Closing stock per day, location and SKU: `date` (UTC day, a midnight), `location` (the
        location id as text, as in the CSV), `sku`, `available`; up to the day of `until` (default
        the clock), at most the anchor's. The rows of write_stock_history_csv for this shop."""
        if self._stock is None:
            return pd.DataFrame(columns=[c for c in STOCK_HISTORY_COLUMNS if c != "stock_pool"])
        frame = self._stock.stock_history(self._shops(), self._moment(until) // DAY)
        return frame.drop(columns="stock_pool")

    def purchase_orders(self, as_of: datetime | None = None) -> pd.DataFrame:
        """The rows of write_purchase_orders_csv for this shop at `as_of` (default the clock); dates
        are midnights, NaT where the CSV field is empty."""
        if self._stock is None:
            return pd.DataFrame(columns=PURCHASE_ORDER_COLUMNS)
        return self._stock.purchase_orders(self._shops(), self._moment(as_of) // DAY)
