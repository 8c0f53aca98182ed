"""The data contract of each canonical table, as Great Expectations suites.

Each `Rule` is one expectation plus the sentence a person reads in the quarantine table when a
row breaks it. `show` names the column whose offending value is quoted in that sentence; it is
never a column that could hold personal data. Building the GE objects is left to
tasks/validate.py, which imports Great Expectations lazily (the import takes seconds).

Catalogue membership is checked through the precomputed boolean `sku_known` (a vectorised
lookup), because a value set of thousands of SKUs makes GE copy it over and over (~0.4 s a batch).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone

from warehouse.models import CANONICAL_STATUSES

EARLIEST_PLAUSIBLE = datetime(2000, 1, 1, tzinfo=timezone.utc)
LATEST_ALLOWED = {"$PARAMETER": "latest_allowed"}  # now + 1 day, given at validation time
# A pair rule says nothing when one side is missing: the not-null rules report that.
_BOTH_PRESENT = {"ignore_row_if": "either_value_is_missing"}
MONEY_COLUMNS = ("subtotal", "discount_total", "shipping_total", "tax_total", "total", "refunded_total")
# Columns holding money (ten-thousandths in frames): quoted in sentences as amounts.
AMOUNTS = {*MONEY_COLUMNS, "unit_price", "discount", "line_total", "amount", "unit_cost", "list_price"}


@dataclass(frozen=True)
class Rule:
    expectation: str
    kwargs: dict = field(default_factory=dict)
    says: str = ""
    show: str | None = None


def _not_null(column: str, what: str) -> Rule:
    return Rule("ExpectColumnValuesToNotBeNull", {"column": column}, f"{what} is missing or unparsable")


def _not_negative(column: str, what: str) -> Rule:
    return Rule("ExpectColumnValuesToBeBetween", {"column": column, "min_value": 0}, f"{what} is negative", column)


SUITES: dict[str, list[Rule]] = {
    "orders": [
        _not_null("external_id", "the order id"),
        _not_null("created_at", "created_at"),
        Rule("ExpectColumnValuesToBeBetween",
             {"column": "created_at", "min_value": EARLIEST_PLAUSIBLE, "max_value": LATEST_ALLOWED},
             "created_at is impossible (before 2000 or in the future)", "created_at"),
        _not_null("updated_at", "updated_at"),
        Rule("ExpectColumnPairValuesAToBeGreaterThanB",
             {"column_A": "updated_at", "column_B": "created_at", "or_equal": True, **_BOTH_PRESENT},
             "updated_at is earlier than created_at", "updated_at"),
        Rule("ExpectColumnValuesToBeInSet", {"column": "status", "value_set": list(CANONICAL_STATUSES)},
             "the order status is not one we know", "status"),
        Rule("ExpectColumnValuesToMatchRegex", {"column": "currency", "regex": r"^[A-Z]{3}$"},
             "currency is not a three-letter ISO code", "currency"),
        _not_null("currency", "currency"),
        *[_not_null(c, c) for c in MONEY_COLUMNS],
        *[_not_negative(c, c) for c in MONEY_COLUMNS],
        Rule("ExpectColumnPairValuesAToBeGreaterThanB",
             {"column_A": "total", "column_B": "refunded_total", "or_equal": True, **_BOTH_PRESENT},
             "refunds exceed the order total", "refunded_total"),
        Rule("ExpectColumnValuesToBeBetween", {"column": "line_count", "min_value": 1},
             "the order has no line items", "line_count"),
    ],
    "order_lines": [
        _not_null("line_id", "the line id"),
        _not_null("sku", "the SKU"),
        Rule("ExpectColumnValuesToBeInSet", {"column": "sku_known", "value_set": [True]},
             "the SKU is not in the product catalogue", "sku"),
        _not_null("quantity", "quantity"),
        Rule("ExpectColumnValuesToBeBetween", {"column": "quantity", "min_value": 1, "max_value": 10_000},
             "quantity must be a whole number from 1 to 10,000", "quantity"),
        _not_null("unit_price", "unit price"),
        _not_negative("unit_price", "unit price"),
        _not_null("discount", "line discount"),
        _not_negative("discount", "line discount"),
        _not_negative("line_total", "line total (the discount is larger than the line)"),
        _not_negative("refunded_quantity", "refunded quantity"),
        Rule("ExpectColumnPairValuesAToBeGreaterThanB",
             {"column_A": "quantity", "column_B": "refunded_quantity", "or_equal": True, **_BOTH_PRESENT},
             "more units refunded than ordered", "refunded_quantity"),
    ],
    "refunds": [
        _not_null("external_id", "the refund id"),
        _not_null("created_at", "the refund date"),
        Rule("ExpectColumnValuesToBeBetween",
             {"column": "created_at", "min_value": EARLIEST_PLAUSIBLE, "max_value": LATEST_ALLOWED},
             "the refund date is impossible", "created_at"),
        _not_null("amount", "the refund amount"),
        _not_negative("amount", "the refund amount"),
    ],
    "products": [
        _not_null("sku", "the SKU"),
        _not_negative("unit_cost", "unit cost"),
        _not_negative("list_price", "list price"),
        Rule("ExpectColumnValuesToBeUnique", {"column": "sku"},
             "the SKU is used by more than one variant", "sku"),
    ],
    "inventory_levels": [
        _not_null("sku", "the SKU of the inventory item"),
        _not_null("location_id", "the location"),
        _not_null("available", "the available quantity"),
    ],
    "customers": [
        Rule("ExpectColumnValuesToMatchRegex", {"column": "customer_key", "regex": r"^[0-9a-f]{64}$"},
             "the customer key is not a hash"),
        Rule("ExpectColumnValuesToMatchRegex", {"column": "country", "regex": r"^[A-Z]{2}$"},
             "the customer's country is not a two-letter ISO code", "country"),
    ],
}

# Columns GE reports for each failing row: `rid` ties it to its record, the rest make the
# sentence precise ("line 7 (SKU-00042): quantity ...").
INDEX_COLUMNS: dict[str, list[str]] = {
    "orders": ["rid"],
    "order_lines": ["rid", "line_id", "sku"],
    "refunds": ["rid", "external_id"],
    "customers": ["rid"],
    "products": ["rid", "sku"],
    "inventory_levels": ["rid"],
}
