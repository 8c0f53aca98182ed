"""Dedupe and risk screening on hand-built frames."""

import numpy as np
import pandas as pd

from tasks.clean import RiskRules, assess_risk, dedupe
from warehouse.types import MONEY_UNIT


def test_dedupe_keeps_the_newest_version_and_sets_apart_records_without_keys():
    keys = pd.DataFrame({
        "rid": [0, 1, 2, 3, 4, 5],
        "external_id": ["A", "A", "B", None, "A", "C"],
        "updated_at": pd.to_datetime(["2026-01-02", "2026-01-03", "2026-01-01", "2026-01-01", "2026-01-03", None], utc=True),
    })
    result = dedupe(keys)
    assert result.latest.tolist() == [1, 2]          # A's newest (first of the tie), and B
    assert result.repeats.tolist() == [0, 4]         # A's older version, and the repeated newest copy
    assert result.keyless.tolist() == [3, 5]         # no id; no parsable updated_at


RULES = RiskRules(history_multiple=3.0, history_min_orders=2, new_customer_amount=500.0,
                  fragile_categories=frozenset({"Glassware"}), known_payment_methods=frozenset({"paypal", "shopify_payments"}))


def test_risk_flags_and_tiered_levels():
    orders = pd.DataFrame({
        "rid": [0, 1, 2, 3, 4],
        "total": pd.array([90, 400, 600, 50, 20], dtype="Int64") * MONEY_UNIT,
        "customer_key": ["k0", "k1", "k2", "k3", "k4"],
        "billing_country": ["US", "US", "US", "US", "DE"],
        "shipping_country": ["US", "US", "US", "FR", "DE"],
        "payment_method": ["paypal", "paypal", "paypal", "cash_on_delivery", "bitcoin"],
    })
    # k0: 3 prior orders averaging 30 -> 90 is exactly 3x, not above it; k1: 2 prior averaging 100 -> 400 > 300.
    history = pd.DataFrame({"rid": [0, 1, 3, 4], "prior_orders": [3, 2, 1, 5], "prior_total": [90.0, 200.0, 50.0, 100.0]})
    risk = assess_risk(orders, history, fragile_rids=np.array([4]), rules=RULES).set_index("rid")
    assert risk.loc[0, "risk_level"] == "none" and risk.loc[0, "risk_reasons"] is None
    assert risk.loc[1, "risk_level"] == "medium"
    assert risk.loc[1, "risk_reasons"] == "amount far above the customer's history"
    assert risk.loc[2, "risk_reasons"] == "new customer with a high amount"  # no history at all, 600 >= 500
    assert risk.loc[3, "risk_level"] == "medium"  # ship/bill mismatch (1) + cash on delivery (1)
    assert risk.loc[3, "risk_reasons"] == "shipping country differs from billing country; cash on delivery"
    assert risk.loc[4, "risk_level"] == "medium"  # unknown payment method (1) + fragile goods (1)
    assert risk.loc[4, "risk_reasons"] == "unknown payment method; fragile or special goods"
