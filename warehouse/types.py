"""Column types shared by every table: exact money and UTC timestamps on both backends."""

from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import DateTime, Numeric
from sqlalchemy.types import TypeDecorator

# Exact decimal money. PostgreSQL keeps NUMERIC exactly; on SQLite the value round-trips
# exactly at this scale (SQLAlchemy quantizes on read), which covers any real order amount.
MONEY_SCALE = 4
Money = Numeric(18, MONEY_SCALE, asdecimal=True)


class UtcDateTime(TypeDecorator):
    """A timestamp that is always UTC: timestamptz on PostgreSQL, naive-UTC text on SQLite.

    Naive datetimes are refused on the way in, so a local time can never be stored by mistake.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: the warehouse stores UTC only")
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)
