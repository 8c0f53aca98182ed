"""Property tests: whatever shape a record arrives in, normalising and checking it never crashes,
and every record that cannot be loaded is rejected with at least one reason a person can read."""

from datetime import datetime, timezone

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from tasks.load import Catalogue, prepare
from tasks.normalize import normalize_amazon_orders, normalize_shopify_orders, normalize_woocommerce_orders
from tasks.normalize.file_drop import FileLayout, normalize_file_orders, order_records
from tasks.validate import ContractValidator
from tests.unit.test_normalize import SECRET, shopify_order, woo_order

NOW = datetime(2026, 11, 20, tzinfo=timezone.utc)
CATALOGUE = Catalogue(frozenset({"MUG-1", "SKU-1", "SKU-A", "SKU-B", "SKU-C"}), frozenset())

scalars = st.one_of(
    st.none(), st.booleans(), st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=12),
    st.sampled_from(["", "N/A", "12.5", "-3", "2026-11-19T10:00:00Z", "2026-13-45", "1e400", "٣", "0x10"]),
)
json_values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=3)
                           | st.dictionaries(st.text(max_size=6), inner, max_size=3), max_leaves=6)


def mutated(base: dict) -> st.SearchStrategy:
    """The base record with some fields replaced by arbitrary JSON, some removed, or a nested
    list's first item replaced; now and then not an object at all."""
    keys = sorted(base)

    @st.composite
    def build(draw):
        if draw(st.integers(0, 19)) == 0:
            return draw(json_values)
        record = dict(base)
        for key in draw(st.lists(st.sampled_from(keys), max_size=4, unique=True)):
            if draw(st.booleans()):
                record[key] = draw(json_values)
            else:
                del record[key]
        for key in keys:
            first = record[key][0] if isinstance(record.get(key), list) and record[key] else None
            if isinstance(first, dict) and first and draw(st.booleans()):
                item = dict(record[key][0])
                item[draw(st.sampled_from(sorted(item)))] = draw(json_values)
                record[key] = [item] + record[key][1:]
        return record

    return build()


def amazon_order() -> dict:
    return {"AmazonOrderId": "171-0000001-1234567", "PurchaseDate": "2026-11-18T10:00:00Z",
            "LastUpdateDate": "2026-11-19T10:00:00Z", "OrderStatus": "Shipped",
            "OrderTotal": {"CurrencyCode": "EUR", "Amount": "25.00"}, "PaymentMethod": "Other",
            "MarketplaceId": "A1PA6795UKMFR9", "ShippingAddress": {"CountryCode": "DE"},
            "BuyerInfo": {"BuyerEmail": "abc@marketplace.amazon.de"},
            "OrderItems": [{"OrderItemId": "1", "SellerSKU": "MUG-1", "QuantityOrdered": 2,
                            "ItemPrice": {"CurrencyCode": "EUR", "Amount": "20.00"},
                            "ItemTax": {"CurrencyCode": "EUR", "Amount": "3.80"},
                            "ShippingPrice": {"CurrencyCode": "EUR", "Amount": "1.20"},
                            "PromotionDiscount": {"CurrencyCode": "EUR", "Amount": "0.00"}}]}


LAYOUT = FileLayout({"external_id": "id", "updated_at": "modified", "created_at": "created", "status": "status",
                     "total": "total", "sku": "sku", "quantity": "qty", "unit_price": "price"}, currency="EUR")


def file_drop_normalizer(records, source, secret):
    """File rows (one per line) → order records → the canonical model, as tasks.ingest_files does."""
    rows = [r if isinstance(r, dict) else {} for r in records]
    return normalize_file_orders(order_records(rows, LAYOUT), source, secret, LAYOUT)


FILE_ROW = {"id": "A1", "modified": "2026-11-19 10:00:00", "created": "2026-11-19 09:00:00", "status": "paid",
            "total": "25.00", "sku": "SKU-1", "qty": "2", "price": "12.50"}

SOURCES = {
    "shopify": (normalize_shopify_orders, shopify_order()),
    "woocommerce": (normalize_woocommerce_orders, woo_order()),
    "amazon": (normalize_amazon_orders, amazon_order()),
    "file_drop": (file_drop_normalizer, FILE_ROW),
}


@pytest.fixture(scope="module")
def validator():
    return ContractValidator.shared()


@pytest.mark.parametrize("kind", sorted(SOURCES))
def test_no_record_shape_crashes_the_pipeline_and_every_rejection_has_a_reason(kind, validator):
    normalize, base = SOURCES[kind]

    @settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(st.lists(mutated(base), min_size=1, max_size=6))
    def check(records):
        batch = normalize(records, "fuzz", SECRET)
        prepared = prepare(batch, CATALOGUE, validator, NOW)
        for rid in prepared.rejected:
            texts = prepared.reasons.by_rid[rid]
            assert texts and all(isinstance(t, str) and t for t in texts)
        # every candidate either loads or is rejected; a loadable one has its key and version
        keys = batch.keys.set_index("rid")
        for rid in set(prepared.candidates.tolist()) - prepared.rejected:
            assert keys.loc[rid, "external_id"] is not None and keys.loc[rid, "updated_at"] is not None

    check()


@pytest.mark.parametrize("kind", sorted(SOURCES))
def test_the_unchanged_base_record_loads_clean(kind, validator):
    normalize, base = SOURCES[kind]
    prepared = prepare(normalize([base], "fuzz", SECRET), CATALOGUE, validator, NOW)
    assert prepared.rejected == set(), prepared.reasons.by_rid
