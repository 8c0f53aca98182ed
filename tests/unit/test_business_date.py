"""The business date of a run without `as_of`: its scheduled time, in the business time zone."""

from datetime import date, datetime, timezone
from types import SimpleNamespace

import pytest

from flows.business_date import business_date
from shopops.settings import reset_settings_cache


@pytest.mark.parametrize("zone, expected", [("UTC", date(2026, 11, 30)), ("Europe/Berlin", date(2026, 12, 1)),
                                            ("America/New_York", date(2026, 11, 30))])
def test_a_run_scheduled_late_in_the_utc_day_is_for_the_date_of_the_business_zone(monkeypatch, zone, expected):
    # Scheduled for 23:30 UTC: already 00:30 the next day in Berlin, still 18:30 in New York.
    import flows.business_date as module

    scheduled = datetime(2026, 11, 30, 23, 30, tzinfo=timezone.utc)
    monkeypatch.setattr(module, "flow_run", SimpleNamespace(scheduled_start_time=scheduled))
    monkeypatch.setenv("SHOPOPS_BUSINESS_TIMEZONE", zone)
    reset_settings_cache()
    assert business_date(None) == expected


def test_an_explicit_date_wins_and_a_datetime_becomes_its_date():
    assert business_date(date(2026, 5, 4)) == date(2026, 5, 4)
    assert business_date(datetime(2026, 5, 4, 23, 0)) == date(2026, 5, 4)
