"""Dated exchange rates: the sheet import, and net sales converted at each day's rate (both backends)."""

from datetime import date
from decimal import Decimal

import pandas as pd
import pytest

from tasks.fx import MissingRate, import_fx_rates
from tasks.operations.net_sales import net_sales_by_day
from tests.builders import insert_orders

RATES = (
    "date,currency,rate\n"
    "2026-11-06,USD,0.9250\n"      # a Friday
    "2026-11-09,USD,0.9300\n"      # the Monday after
    "2026-11-09,JPY,0.0061\n"
    "2026-11-10,usd,0.9\n"         # line 5: not an ISO code
    "2026-11-11,CHF,-1.05\n"       # line 6: not positive
    "2026-11-31,CHF,1.05\n"        # line 7: no such day
    "2026-11-12,SEK,0.087\n"       # lines 8 and 9: the same day twice
    "2026-11-12,SEK,0.088\n"
)


def orders(*rows) -> pd.DataFrame:
    return pd.DataFrame([{"external_id": i, "created_at": pd.Timestamp(at, tz="UTC"), "sku": "A", "quantity": q,
                          "unit_price": p, "discount": d, "code": None} for i, at, q, p, d in rows])


def test_the_rates_sheet_loads_good_rows_and_names_every_bad_one(engine, tmp_path):
    path = tmp_path / "rates.csv"
    path.write_text(RATES)
    result = import_fx_rates(engine, path)
    assert result.loaded == 3
    assert result.problems == [
        "line 5: currency must be a three-letter ISO code (currency usd)",
        "line 6: rate must be a positive number (currency CHF)",
        "line 7: date must be YYYY-MM-DD (currency CHF)",
        "line 8: the date and currency appear more than once (currency SEK)",
        "line 9: the date and currency appear more than once (currency SEK)",
    ]
    path.write_text("date,currency,rate\n2026-11-06,USD,0.9260\n")  # a correction replaces the rate
    assert import_fx_rates(engine, path).loaded == 1
    table = net_sales_by_day(engine, date(2026, 11, 7), date(2026, 11, 8), reporting="EUR")
    assert table.empty


def test_net_sales_convert_at_the_days_rate_or_the_last_earlier_one(engine, tmp_path):
    path = tmp_path / "rates.csv"
    path.write_text(RATES)
    import_fx_rates(engine, path)
    insert_orders(engine, orders(("US1", "2026-11-07T15:00", 2, 10.00, 1.00),   # a Saturday: Friday's rate
                                 ("US2", "2026-11-09T09:00", 1, 33.33, 0.0)), source="us", currency="USD")
    insert_orders(engine, orders(("EU1", "2026-11-07T10:00", 1, 12.50, 0.0)), source="eu", currency="EUR")

    table = net_sales_by_day(engine, date(2026, 11, 7), date(2026, 11, 10), reporting="EUR")
    rows = {(r.day, r.source): r for r in table.itertuples()}
    saturday = rows[(date(2026, 11, 7), "us")]
    assert (saturday.currency, saturday.gross, saturday.net) == ("USD", Decimal("20"), Decimal("19"))  # originals kept
    assert saturday.rate == Decimal("0.925")
    assert (saturday.gross_eur, saturday.discounts_eur, saturday.net_eur) == (
        Decimal("18.5000"), Decimal("0.9250"), Decimal("17.5750"))
    assert rows[(date(2026, 11, 9), "us")].net_eur == Decimal("30.9969")   # 33.33 × 0.93
    euro = rows[(date(2026, 11, 7), "eu")]
    assert (euro.rate, euro.net_eur) == (Decimal(1), Decimal("12.5000"))
    assert sum(table["net_eur"]) == Decimal("61.0719")


@pytest.mark.parametrize("currency, day", [("GBP", "2026-11-08"), ("USD", "2026-11-05")])
def test_a_currency_without_a_rate_by_that_day_is_an_error_naming_both(engine, tmp_path, currency, day):
    path = tmp_path / "rates.csv"
    path.write_text(RATES)
    import_fx_rates(engine, path)
    insert_orders(engine, orders(("X1", f"{day}T12:00", 1, 5.0, 0.0)), source="x", currency=currency)
    with pytest.raises(MissingRate, match=f"no {currency} → EUR rate on or before {day}"):
        net_sales_by_day(engine, date(2026, 11, 1), date(2026, 11, 30), reporting="EUR")
