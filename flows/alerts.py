"""Alerts a person acts on: a failed or crashed run of any shopops flow, and orders that have not
loaded for too long. Both go through the notification block SHOPOPS_ALERT_BLOCK (and the log)."""

from __future__ import annotations

from datetime import datetime, timezone

from prefect import flow
from prefect.artifacts import create_table_artifact
from prefect.runtime import flow_run

from connectors.sources import load_sources
from shopops.blocks import notify
from shopops.logs import get_logger, install_redaction, redact
from shopops.settings import get_settings
from tasks.operations.freshness import loaded_up_to, stale
from warehouse.engine import get_engine
from warehouse.migrate import check_schema


def notify_failure(flow, flow_run, state) -> None:
    """Flow hook (on_failure, on_crashed): tell the alert block which run failed and why."""
    log = get_logger("shopops.alerts")
    if flow_run.parent_task_run_id:  # a subflow: its parent (daily-operations, a backfill) fails too and reports it
        return
    block = get_settings().alert_block
    reason = redact(state.message or state.name or "no message")
    subject = f"shopops: {flow_run.name} ({flow.name}) {(state.name or state.type.value).lower()}"
    body = (f"{subject}\n\nWhy: {reason}\nFlow run id: {flow_run.id}\nParameters: {redact(str(flow_run.parameters))}\n"
            "Re-run it from the Prefect UI (the deployment's Run button with the same parameters) once the cause "
            "is fixed; see docs/operations.md.")
    if not block:
        log.warning("%s — no SHOPOPS_ALERT_BLOCK set, so this is logged only", subject)
        return
    try:
        notify(block, subject, body)
    except Exception as error:  # a hook must not hide the run's own failure
        log.error("could not send the failure alert through %s: %s", block, redact(str(error)))


FAILURE_HOOKS = {"on_failure": [notify_failure], "on_crashed": [notify_failure]}


@flow(name="orders-freshness", log_prints=False, **FAILURE_HOOKS,
      flow_run_name=lambda: f"orders freshness · {(flow_run.parameters or {}).get('now') or 'scheduled time'}",
      description="Alert when a source's orders have not loaded for more than SHOPOPS_FRESHNESS_ALERT_HOURS.")
def orders_freshness(now: datetime | None = None, max_age_hours: float | None = None) -> dict:
    """Check every source's committed order cursor against the clock.

    Args:
        now: The moment to check at (UTC). Empty: now.
        max_age_hours: Oldest acceptable load, in hours. Empty: SHOPOPS_FRESHNESS_ALERT_HOURS.
    """
    install_redaction()
    settings = get_settings()
    now = (now or datetime.now(timezone.utc)).astimezone(timezone.utc)
    hours = max_age_hours or settings.freshness_alert_hours
    engine = get_engine()
    check_schema(engine)
    sources = [config.name for config in load_sources(settings.resolved_sources_file())]
    cursors = loaded_up_to(engine, sources)
    late = stale(cursors, now, hours)
    create_table_artifact(key="orders-freshness", table=[
        {"source": name, "loaded up to": f"{cursor:%Y-%m-%d %H:%M} UTC" if cursor else "never",
         "stale": name in late} for name, cursor in cursors.items()],
        description=f"Orders loaded per source at {now:%Y-%m-%d %H:%M} UTC (alert above {hours:g} h)")
    if late:
        detail = "; ".join(f"{name}: last loaded {_age(cursor, now)}" for name, cursor in late.items())
        message = (f"orders-freshness: {len(late)} source(s) have no orders loaded for more than {hours:g} h — "
                   f"{detail}. Look at the latest ingest-orders runs (their error names the source and the cause).")
        get_logger("shopops.alerts").error(message)
        raise RuntimeError(message)  # the failure hook sends it to the alert block
    return {"checked": len(sources), "stale": 0, "max_age_hours": hours}


def _age(cursor: datetime | None, now: datetime) -> str:
    if cursor is None:
        return "never"
    return f"{(now - cursor).total_seconds() / 3600:.1f} h ago ({cursor:%Y-%m-%d %H:%M} UTC)"
