"""`restore-orders`: rebuild orders, lines, refunds and customers from the raw payloads already in
the warehouse (raw_orders), without asking the marketplaces. The work is in tasks/restore.py."""

from __future__ import annotations

import uuid
from datetime import datetime, timezone

from prefect import flow
from prefect.artifacts import create_table_artifact
from prefect.runtime import flow_run

from connectors.sources import load_sources
from flows.alerts import FAILURE_HOOKS
from flows.ingest import progress_tracker, summary_row
from shopops.logs import get_logger, install_redaction
from shopops.settings import get_settings
from tasks.ingest import STAGES
from tasks.restore import count_versions, restore_orders_of
from tasks.validate import ContractValidator
from warehouse.engine import get_engine
from warehouse.migrate import check_schema


@flow(**FAILURE_HOOKS, name="restore-orders", log_prints=False,
      description="Rebuild orders, lines, refunds and customers from the stored raw payloads (after a fix to a "
                  "normaliser or a rule, or after rows were lost): same clean, validate and load, no marketplace call.")
def restore_orders(sources: list[str] | None = None, start: datetime | None = None,
                   end: datetime | None = None) -> list[dict]:
    """Replay the newest stored version of every order.

    Args:
        sources: Source names from sources.yaml; empty means all of them.
        start: Only orders whose newest version was updated at or after this moment (UTC).
        end: Only orders whose newest version was updated before this moment (UTC).
    """
    install_redaction()
    log = get_logger("shopops.flows")
    settings, engine = get_settings(), get_engine()
    check_schema(engine)
    configs = load_sources(settings.resolved_sources_file(), sources)
    run_id = str(flow_run.id or uuid.uuid4())
    start = start.astimezone(timezone.utc) if start else None
    end = end.astimezone(timezone.utc) if end else None
    if start and end and start >= end:
        raise ValueError(f"start {start.isoformat()} is not before end {end.isoformat()}")

    reports, failures = [], {}
    for config in configs:  # one after the other: a restore is rare, and each source's chunks are big already
        total = count_versions(engine, config.name, start, end)
        log.info("%s: %d order(s) to restore from raw_orders", config.name, total)
        progress = progress_tracker(f"{config.name}: restoring {total} orders from raw payloads")
        on_progress = (lambda done, update=progress, total=total: update(done / total)) if progress and total else None
        try:
            reports.append(restore_orders_of(config, engine, run_id=run_id, settings=settings,
                                             validator=ContractValidator.shared(), now=datetime.now(timezone.utc),
                                             start=start, end=end, on_progress=on_progress))
        except Exception as exc:  # the other sources still restore
            failures[config.name] = f"{type(exc).__name__}: {exc}"
            log.error("%s: restore failed: %s", config.name, exc)

    fetch_only = {"deleted", *(f"{stage} (s)" for stage in STAGES)}  # an ingest's, not a restore's
    summary = [{key: value for key, value in summary_row(report).items() if key not in fetch_only} for report in reports]
    summary += [{"source": name, "status": "failed", "error": why} for name, why in failures.items()]
    create_table_artifact(table=summary, key="restore-orders-summary",
                          description=f"Orders restored from raw payloads, run {run_id}")
    if failures:
        raise RuntimeError("restore-orders: " + "; ".join(f"{name}: {why}" for name, why in failures.items()))
    return summary
