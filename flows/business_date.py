"""The business date a flow run computes for: its `as_of`, else the date it was scheduled for (so a
late or re-run run computes the same answer as the one on time), as a plain date."""

from __future__ import annotations

from datetime import date, datetime, timezone

from prefect.runtime import flow_run


def business_date(as_of: date | None) -> date:
    if as_of is None:
        scheduled = flow_run.scheduled_start_time
        as_of = (scheduled.astimezone(timezone.utc) if scheduled else datetime.now(timezone.utc)).date()
    return date(as_of.year, as_of.month, as_of.day)  # Prefect may hand over a datetime or a pendulum subclass
