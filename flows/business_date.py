"""The business date a flow run computes for: its `as_of`, else the date it was scheduled for in the
business time zone (SHOPOPS_BUSINESS_TIMEZONE), so a late or re-run run computes the same answer
as the one on time, as a plain date."""

from __future__ import annotations

from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

from prefect.runtime import flow_run

from shopops.settings import get_settings


def business_date(as_of: date | None) -> date:
    if as_of is None:
        scheduled = flow_run.scheduled_start_time or datetime.now(timezone.utc)
        as_of = scheduled.astimezone(ZoneInfo(get_settings().business_timezone)).date()
    return date(as_of.year, as_of.month, as_of.day)  # Prefect may hand over a datetime or a pendulum subclass
