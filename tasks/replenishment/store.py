"""Writing a plan: one business date's rows replace whatever an earlier run wrote for it."""

from __future__ import annotations

from datetime import date, datetime

import pandas as pd
from sqlalchemy import Connection

from warehouse.io import replace_rows_of_day
from warehouse.models import ReplenishmentSuggestion, StockAlert

ALERT_ORDER = ("critical", "warning", "watch")
SUGGESTION_COLUMNS = [c.name for c in ReplenishmentSuggestion.__table__.columns]
ALERT_COLUMNS = [c.name for c in StockAlert.__table__.columns]


def replace_plan(conn: Connection, rows: pd.DataFrame, as_of: date, run_id: str, computed_at: datetime) -> pd.DataFrame:
    """Delete the date's suggestions and alerts, insert the new ones (in the caller's transaction);
    returns the alerts, most urgent first."""
    stamped = rows.assign(run_id=run_id, computed_at=pd.Timestamp(computed_at))
    alerts = stamped[stamped["level"].isin(ALERT_ORDER)].rename(columns={"level_reason": "reason"})
    urgency = alerts["level"].map({level: rank for rank, level in enumerate(ALERT_ORDER)})
    alerts = alerts.assign(_urgency=urgency).sort_values(["_urgency", "revenue_at_risk", "sku"],
                                                         ascending=[True, False, True]).drop(columns="_urgency")
    replace_rows_of_day(conn, "replenishment_suggestions", as_of, stamped[SUGGESTION_COLUMNS])
    replace_rows_of_day(conn, "stock_alerts", as_of, alerts[ALERT_COLUMNS])
    return alerts.reset_index(drop=True)
