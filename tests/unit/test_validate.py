"""The Great Expectations contract: failing rows become sentences on their records."""

from datetime import datetime, timezone
import pandas as pd
import pytest

from tasks.validate import ContractValidator, RunResults

NOW = datetime(2026, 11, 22, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def validator():
    return ContractValidator()


def lines(**columns):
    base = {"rid": [0, 1, 2], "line_id": ["a", "b", "c"], "sku": ["S1", "S2", "S3"], "sku_known": [True, True, True],
            "quantity": pd.array([1, 2, 3], dtype="Int64"), "unit_price": pd.array([10_000] * 3, dtype="Int64"),
            "discount": pd.array([0] * 3, dtype="Int64"), "line_total": pd.array([10_000] * 3, dtype="Int64"),
            "refunded_quantity": pd.array([0, 0, 0], dtype="Int64")}
    base.update(columns)
    return pd.DataFrame(base)


def test_clean_lines_pass(validator):
    findings = validator.validate("order_lines", lines(), NOW)
    assert findings.reasons.rids() == set() and not findings.failures


def test_each_broken_rule_names_the_line_the_rule_and_the_value(validator):
    frame = lines(quantity=pd.array([-1, 2, 3], dtype="Int64"), sku_known=[True, False, True],
                  refunded_quantity=pd.array([0, 0, 4], dtype="Int64"))
    findings = validator.validate("order_lines", frame, NOW)
    assert findings.reasons.by_rid[0] == [
        "line a (S1): order_lines: quantity must be a whole number from 1 to 10,000 (got -1)",
        "line a (S1): order_lines: more units refunded than ordered (got 0)",
    ]
    assert findings.reasons.by_rid[1] == ["line b (S2): order_lines: the SKU is not in the product catalogue (got 'S2')"]
    assert findings.reasons.by_rid[2] == ["line c (S3): order_lines: more units refunded than ordered (got 4)"]
    assert findings.failures["order_lines: the SKU is not in the product catalogue"] == 1


def test_impossible_dates_and_negative_money_on_orders(validator):
    frame = pd.DataFrame({
        "rid": [0, 1], "external_id": ["1", "2"], "status": ["paid", "paid"], "currency": ["USD", "usd"],
        "created_at": pd.to_datetime(["1970-01-01", "2026-11-01"], utc=True),
        "updated_at": pd.to_datetime(["2026-11-01", "2026-10-01"], utc=True),
        **{c: pd.array([100_000, -10_000], dtype="Int64") for c in ("subtotal", "discount_total", "shipping_total", "tax_total")},
        "total": pd.array([100_000, 100_000], dtype="Int64"), "refunded_total": pd.array([0, 110_000], dtype="Int64"),
        "line_count": [1, 1],
    })
    findings = validator.validate("orders", frame, NOW)
    assert findings.reasons.by_rid[0] == ["orders: created_at is impossible (before 2000 or in the future) (got 1970-01-01T00:00:00+00:00)"]
    second = findings.reasons.by_rid[1]
    assert "orders: updated_at is earlier than created_at (got 2026-10-01T00:00:00+00:00)" in second
    assert "orders: currency is not a three-letter ISO code (got 'usd')" in second
    assert "orders: refunds exceed the order total (got 11.0000)" in second
    assert "orders: tax_total is negative (got -1.0000)" in second


def test_merged_run_results_add_up_chunks(validator):
    first = validator.validate("order_lines", lines(quantity=pd.array([0, 1, 1], dtype="Int64")), NOW)
    second = validator.validate("order_lines", lines(), NOW)
    merged = RunResults()
    merged.add("order_lines", first.result)
    merged.add("order_lines", second.result)
    quantity = next(r for r in merged.merged["order_lines"].results
                    if r.expectation_config.kwargs.get("column") == "quantity" and "max_value" in r.expectation_config.kwargs)
    assert quantity.result["element_count"] == 6 and quantity.result["unexpected_count"] == 1
    assert quantity.success is False and merged.merged["order_lines"].success is False


def test_columns_no_rule_reads_are_left_out_and_findings_stay_the_same(validator):
    from tasks.validate import _suite_columns

    frame = lines(quantity=pd.array([-1, 2, 3], dtype="Int64")).assign(
        title=["a\tb", None, "c"], source="shop", external_order_id=["1", "2", "3"])
    assert _suite_columns("order_lines", frame) == [
        "rid", "line_id", "sku", "sku_known", "quantity", "unit_price", "discount", "line_total", "refunded_quantity"]
    assert validator.validate("order_lines", frame, NOW).reasons.by_rid == validator.validate(
        "order_lines", lines(quantity=pd.array([-1, 2, 3], dtype="Int64")), NOW).reasons.by_rid
