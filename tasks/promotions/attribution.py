"""Which order lines each promotion touched, and what it cost on them.

An order belongs to a promotion when it was created inside the promotion's window on one of its
channels and either carries one of its codes, or — for a promotion without codes — has a line in
its scope that was discounted (or a gift line). The lines touched are the order's lines in scope
and its gift lines.

Costs follow what the customer kept: a refunded unit gives its discount back (the refund pays the
discounted price), and a returned gift costs nothing; a gift that stays costs its unit cost even
when the item that earned it went back. For threshold promotions the rules' discount is worked
out from the order's in-scope subtotal (a tier applies from exactly its spend), so an order given
more or less than the rules say is visible.
"""

from __future__ import annotations

import json
from decimal import Decimal

import numpy as np
import pandas as pd

from tasks.promotions.calendar import as_list, tiers_of

ATTRIBUTION_COLUMNS = ["promotion_id", "source", "external_order_id", "line_id", "matched_by", "created_at", "sku",
                       "quantity", "kept_quantity", "gross", "discount", "kept_discount", "is_gift", "gift_cost",
                       "expected_discount"]


def attribute(promotions: pd.DataFrame, orders: pd.DataFrame, lines: pd.DataFrame,
              unit_costs: pd.Series) -> pd.DataFrame:
    """Attribution rows for every promotion.

    orders: source, external_id, created_at (UTC), discount_codes (comma-separated).
    lines: source, external_order_id, line_id, sku, category, quantity, refunded_quantity,
        unit_price, discount (floats).
    unit_costs: unit cost by SKU (for gifts without a gift_cost).
    """
    if promotions.empty or orders.empty:
        return pd.DataFrame(columns=ATTRIBUTION_COLUMNS)
    orders = orders.sort_values("created_at", kind="stable").reset_index(drop=True)
    created = orders["created_at"].to_numpy(dtype="datetime64[ns]")
    order_codes = _order_codes(orders)
    lines = lines.assign(gross=lines["quantity"] * lines["unit_price"],
                         kept_quantity=(lines["quantity"] - lines["refunded_quantity"]).clip(lower=0))
    lines["order"] = _order_positions(orders, lines)
    # The lines in order of their order, as positions: a sorted copy of every line would double
    # the memory of the biggest frame here; each promotion takes only its window's lines.
    order = lines["order"].to_numpy()
    known = np.flatnonzero(order >= 0)
    by_order = known[np.argsort(order[known], kind="stable")]
    line_starts = np.searchsorted(order[by_order], np.arange(len(orders) + 1))

    parts = [_attribute_one(p, orders, created, order_codes, lines, by_order, line_starts, unit_costs)
             for p in promotions.itertuples(index=False)]
    parts = [part for part in parts if not part.empty]
    if not parts:
        return pd.DataFrame(columns=ATTRIBUTION_COLUMNS)
    return pd.concat(parts, ignore_index=True)[ATTRIBUTION_COLUMNS]


def _attribute_one(promotion, orders: pd.DataFrame, created: np.ndarray, order_codes: pd.DataFrame,
                   lines: pd.DataFrame, by_order: np.ndarray, line_starts: np.ndarray,
                   unit_costs: pd.Series) -> pd.DataFrame:
    parameters = json.loads(promotion.parameters or "{}")
    start = np.searchsorted(created, pd.Timestamp(promotion.starts_at).to_datetime64(), side="left")
    end = np.searchsorted(created, pd.Timestamp(promotion.ends_at).to_datetime64(), side="left")
    if end <= start:
        return pd.DataFrame()
    # Orders are sorted by creation, so the window's orders are one slice.
    window = np.arange(start, end)
    channels = as_list(promotion.scope_channels)
    if channels:
        window = window[orders["source"].iloc[start:end].isin(channels).to_numpy()]
    codes = set(as_list(promotion.codes))
    if codes:  # only the orders with a code matter, and their lines
        with_code = order_codes.loc[order_codes["code"].isin(codes), "order"].unique()
        window, matched_by = np.intersect1d(window, with_code), "code"
    else:
        matched_by = "scope"
    positions = _lines_of(window, by_order, line_starts)
    if positions.size == 0:
        return pd.DataFrame()
    # The matching reads a few columns of the window's lines; whole rows are taken for the lines touched.
    picked = lines[["sku", "category", "gross", "discount", "order"]].iloc[positions]
    gift_skus = _gift_skus(parameters)
    in_scope = _in_scope(picked, as_list(promotion.scope_skus), as_list(promotion.scope_categories))
    is_gift = picked["sku"].isin(gift_skus).to_numpy() & np.isclose(
        picked["gross"].to_numpy() - picked["discount"].to_numpy(), 0.0)
    if codes:
        touched = in_scope | is_gift
    else:
        signal = (in_scope & (picked["discount"].to_numpy() > 0)) | is_gift
        matched_orders = np.unique(picked["order"].to_numpy()[signal])
        touched = np.isin(picked["order"].to_numpy(), matched_orders) & (in_scope | is_gift)
    rows = lines.iloc[positions[touched]].assign(is_gift=is_gift[touched])
    if rows.empty:
        return pd.DataFrame()
    order = orders.iloc[rows["order"].to_numpy()]
    gift_cost = _gift_unit_cost(parameters, rows["sku"], unit_costs)
    kept_share = np.where(rows["quantity"] > 0, rows["kept_quantity"] / rows["quantity"].where(rows["quantity"] > 0, 1), 0)
    result = pd.DataFrame({
        "promotion_id": promotion.promotion_id,
        "source": rows["source"].to_numpy(), "external_order_id": rows["external_order_id"].to_numpy(),
        "line_id": rows["line_id"].to_numpy(), "matched_by": matched_by,
        "created_at": order["created_at"].to_numpy(), "sku": rows["sku"].to_numpy(),
        "quantity": rows["quantity"].to_numpy(), "kept_quantity": rows["kept_quantity"].to_numpy(),
        "gross": rows["gross"].to_numpy(), "discount": rows["discount"].to_numpy(),
        "kept_discount": (rows["discount"] * kept_share).round(4).to_numpy(),
        "is_gift": rows["is_gift"].to_numpy(),
        "gift_cost": np.where(rows["is_gift"], rows["kept_quantity"] * gift_cost, 0.0).round(4),
        "expected_discount": np.nan,
    })
    if promotion.type == "threshold":
        result["expected_discount"] = _threshold_share(result, parameters)
    return result


def _order_positions(orders: pd.DataFrame, lines: pd.DataFrame) -> np.ndarray:
    """Position in `orders` of each line's order (-1: not there). The (source, id) pairs become one
    integer each, coded over both frames at once: an index of millions of string pairs would cost
    several times the memory of the lines themselves."""
    ids, _ = pd.factorize(pd.concat([orders["external_id"], lines["external_order_id"]], ignore_index=True))
    sources, names = pd.factorize(pd.concat([orders["source"], lines["source"]], ignore_index=True))
    key = np.where((ids >= 0) & (sources >= 0), ids.astype(np.int64) * (len(names) + 1) + sources, -1)
    order_key, line_key = key[:len(orders)], key[len(orders):]
    sorter = np.argsort(order_key, kind="stable")
    found = sorter[np.searchsorted(order_key, line_key, sorter=sorter).clip(max=len(orders) - 1)]
    return np.where((order_key[found] == line_key) & (line_key >= 0), found, -1)


def _lines_of(orders: np.ndarray, by_order: np.ndarray, line_starts: np.ndarray) -> np.ndarray:
    """Positions of the lines of `orders` (sorted order positions), order by order."""
    starts, counts = line_starts[orders], line_starts[orders + 1] - line_starts[orders]
    total = int(counts.sum())
    within = np.arange(total) - np.repeat(np.cumsum(counts) - counts, counts)
    return by_order[np.repeat(starts, counts) + within]


def threshold_discount(subtotal: np.ndarray, parameters: dict) -> np.ndarray:
    """The discount a threshold promotion's rules give an order of `subtotal` (in-scope, before
    discounts): the highest tier whose spend the subtotal reaches, exactly at the spend included."""
    subtotal = np.asarray(subtotal, dtype=float)
    off = np.zeros(len(subtotal))
    for spend, amount in reversed(tiers_of(parameters)):  # lowest tier first; higher ones overwrite
        off = np.where(subtotal + 1e-9 >= float(spend), float(amount), off)
    return off


def _threshold_share(result: pd.DataFrame, parameters: dict) -> np.ndarray:
    """The rules' discount of each order, spread over its in-scope lines by their gross."""
    goods = result[~result["is_gift"]]
    key = [goods["source"], goods["external_order_id"]]
    subtotal = goods.groupby(key, sort=False)["gross"].transform("sum")
    expected = pd.Series(threshold_discount(subtotal.to_numpy(), parameters), index=goods.index)
    share = (expected * goods["gross"] / subtotal.where(subtotal > 0)).fillna(0.0)
    return share.reindex(result.index).fillna(0.0).round(4).to_numpy()


def _order_codes(orders: pd.DataFrame) -> pd.DataFrame:
    """(order position, upper-case code) for every code on every order."""
    codes = orders["discount_codes"].dropna().astype(str).str.upper().str.split(",")  # most orders have none
    exploded = codes.explode()
    exploded = exploded[exploded.str.strip() != ""]
    return pd.DataFrame({"order": exploded.index.to_numpy(), "code": exploded.str.strip().to_numpy()})


def _in_scope(lines: pd.DataFrame, skus: list[str], categories: list[str]) -> np.ndarray:
    if not skus and not categories:
        return np.ones(len(lines), dtype=bool)
    return (lines["sku"].isin(skus) | lines["category"].isin(categories)).to_numpy()


def _gift_skus(parameters: dict) -> list[str]:
    skus = [parameters.get("gift_sku")] + [phase.get("gift_sku") for phase in parameters.get("phases") or []
                                           if isinstance(phase, dict)]
    return [str(sku) for sku in skus if sku]


def _gift_unit_cost(parameters: dict, skus: pd.Series, unit_costs: pd.Series) -> np.ndarray:
    stated = parameters.get("gift_cost")
    if stated not in (None, ""):
        return np.full(len(skus), float(Decimal(str(stated))))
    costs = pd.Series(skus.to_numpy(dtype=object)).map(unit_costs)  # plain text: a categorical maps to categories
    return pd.to_numeric(costs, errors="coerce").fillna(0.0).to_numpy(dtype=float)

