"""Cleaning decisions on canonical frames: which version of each order counts, and its risk.

Plain functions on DataFrames, testable without a warehouse or Prefect.
"""

from __future__ import annotations

from dataclasses import dataclass
import numpy as np
import pandas as pd

from warehouse.types import MONEY_UNIT


@dataclass(frozen=True)
class Dedup:
    latest: np.ndarray       # rids of the newest version of each keyed order in the batch
    repeats: np.ndarray      # rids of older or repeated copies (counted as duplicates)
    keyless: np.ndarray      # rids without an id or a parsable updated_at (quarantined)


def dedupe(keys: pd.DataFrame) -> Dedup:
    """Keep the newest version of each order; a tie keeps the first seen.

    `keys` has rid, external_id, updated_at. A record with no id or no parsable updated_at
    cannot be placed among versions and is kept apart (it will be quarantined, not dropped).
    """
    keyed = keys["external_id"].notna().to_numpy() & keys["updated_at"].notna().to_numpy()
    candidates = keys[keyed].sort_values(["external_id", "updated_at", "rid"], ascending=[True, False, True], kind="stable")
    first = ~candidates["external_id"].duplicated()
    return Dedup(
        latest=np.sort(candidates.loc[first, "rid"].to_numpy()),
        repeats=np.sort(candidates.loc[~first, "rid"].to_numpy()),
        keyless=keys.loc[~keyed, "rid"].to_numpy(),
    )


@dataclass(frozen=True)
class RiskRules:
    history_multiple: float
    history_min_orders: int
    new_customer_amount: float
    fragile_categories: frozenset[str]
    known_payment_methods: frozenset[str]

    @classmethod
    def from_settings(cls, settings) -> "RiskRules":
        return cls(settings.risk_history_multiple, settings.risk_history_min_orders,
                   settings.risk_new_customer_amount, frozenset(settings.risk_fragile_categories),
                   frozenset(settings.risk_known_payment_methods))


RISK_LEVELS = ("none", "low", "medium", "high")


def assess_risk(orders: pd.DataFrame, history: pd.DataFrame, fragile_rids: np.ndarray, rules: RiskRules) -> pd.DataFrame:
    """Flags for manual review (SPEC §3), with a tiered level.

    `orders.total` is in ten-thousandths; `history` has, per order rid, the customer's prior
    orders: `prior_orders` and `prior_total` (in currency units, as the warehouse holds them).
    Amount rules weigh 2 (they are the strongest signal of fraud), the others 1; the level is
    none (0), low (1), medium (2) or high (3+). Returns `risk_level` and `risk_reasons` by rid.
    """
    frame = orders[["rid", "total", "customer_key", "billing_country", "shipping_country", "payment_method"]].merge(
        history, on="rid", how="left")
    prior_orders = frame["prior_orders"].fillna(0).to_numpy(dtype=np.int64)
    prior_total = frame["prior_total"].fillna(0).to_numpy(dtype=np.float64)
    total = frame["total"].astype("Float64").to_numpy(dtype=np.float64, na_value=np.nan) / MONEY_UNIT
    known_customer = frame["customer_key"].notna().to_numpy()
    average = np.divide(prior_total, prior_orders, out=np.zeros_like(prior_total), where=prior_orders > 0)

    method = frame["payment_method"].fillna("").str.lower()
    checks = [
        (2, "amount far above the customer's history",
         known_customer & (prior_orders >= rules.history_min_orders) & (total > rules.history_multiple * average)),
        (2, "new customer with a high amount",
         (prior_orders == 0) & (total >= rules.new_customer_amount)),
        (1, "shipping country differs from billing country",
         frame["billing_country"].notna().to_numpy() & frame["shipping_country"].notna().to_numpy()
         & (frame["billing_country"] != frame["shipping_country"]).to_numpy()),
        (1, "cash on delivery",
         method.isin(["cash_on_delivery", "cod"]).to_numpy()),
        (1, "unknown payment method",
         ~method.isin(["cash_on_delivery", "cod"]).to_numpy() & ~method.isin(list(rules.known_payment_methods)).to_numpy()),
        (1, "fragile or special goods",
         frame["rid"].isin(fragile_rids).to_numpy()),
    ]
    score = np.zeros(len(frame), dtype=np.int64)
    reasons = [[] for _ in range(len(frame))]
    for weight, sentence, hit in checks:
        score += weight * hit
        for position in np.flatnonzero(hit):
            reasons[position].append(sentence)
    return pd.DataFrame({
        "rid": frame["rid"].to_numpy(),
        "risk_level": np.asarray(RISK_LEVELS)[np.minimum(score, 3)],
        "risk_reasons": pd.Series(["; ".join(r) if r else None for r in reasons], dtype=object),
    })
