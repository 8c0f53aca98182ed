"""daily-operations: the day's load, its gate, then the four operational flows side by side.

ingest-orders runs first, up to the cut-off (the end of the business date, or now when that is
still ahead), then the marketplaces' promotions are read (replenishment stocks for them). Nothing else starts unless the load committed and the gate is open: every source's
orders loaded up to the cut-off, and the load's audit adding up (tasks/operations/gate.py). Then
replenishment, price monitoring, promotion review and the satisfaction survey run concurrently,
each as its own flow run; one failing does not stop the others, but fails this run with a summary
of which failed and why.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

from prefect import flow, task
from prefect.artifacts import create_table_artifact
from prefect.futures import wait
from prefect.runtime import flow_run
from prefect.task_runners import ThreadPoolTaskRunner

from connectors.sources import load_sources
from flows.alerts import FAILURE_HOOKS
from flows.run_lock import one_run_per_date
from flows.ingest import ingest_orders
from flows.price_monitoring import price_monitoring
from flows.promotion_review import promotion_review
from flows.replenishment import replenishment
from flows.satisfaction_survey import satisfaction_survey
from shopops.logs import get_logger, install_redaction
from shopops.settings import get_settings
from tasks.operations.gate import gate_problems
from tasks.promotions.marketplace import import_marketplace_promotions
from warehouse.engine import get_engine
from warehouse.migrate import check_schema

# The marketplaces' promotions are read once before the four (replenishment reads them too), not by the review.
PARAMETERS = {"promotion-review": {"read_marketplaces": False}}
OPERATIONS = {
    "replenishment": replenishment,
    "price-monitoring": price_monitoring,
    "promotion-review": promotion_review,
    "satisfaction-survey": satisfaction_survey,
}


class GateClosed(RuntimeError):
    pass


def _run_name() -> str:
    return f"daily operations · {(flow_run.parameters or {}).get('as_of') or 'scheduled date'}"


@task(name="operational flow", task_run_name="{name} · {as_of}")
def run_operation(name: str, as_of: date, parameters: dict) -> dict:
    return OPERATIONS[name](as_of=as_of, **{**PARAMETERS.get(name, {}), **parameters})


@flow(**FAILURE_HOOKS, name="daily-operations", flow_run_name=_run_name, log_prints=False,
      task_runner=ThreadPoolTaskRunner(max_workers=len(OPERATIONS)),
      description="Load the day's orders, check they are all in, then run replenishment, price monitoring, "
                  "promotion review and the satisfaction survey side by side.")
@one_run_per_date("daily-operations")
def daily_operations(as_of: date | None = None, ingest: bool = True, only: list[str] | None = None,
                     parameters: dict[str, dict[str, Any]] | None = None) -> dict:
    """The business date's whole day of work.

    Args:
        as_of: Business date. Empty: the date the run was scheduled for, in the business time zone.
        ingest: Load the orders first. Off: only the gate is checked against what is already loaded.
        only: Run only these of replenishment, price-monitoring, promotion-review, satisfaction-survey.
        parameters: Further parameters per flow, e.g. {"replenishment": {"reminder_block":
            "custom-webhook/purchasing"}, "satisfaction-survey": {"escalation_block": "slack-webhook/care"}}.
    """
    install_redaction()
    log = get_logger("shopops.flows")
    settings = get_settings()
    engine = get_engine()
    check_schema(engine)
    parameters = parameters or {}
    unknown = sorted((set(only or []) | set(parameters)) - set(OPERATIONS))
    if unknown:
        raise ValueError(f"daily-operations: no operational flow named {', '.join(unknown)} "
                         f"(known: {', '.join(OPERATIONS)})")
    cut_off = _cut_off(as_of, settings.business_timezone)
    configs = load_sources(settings.resolved_sources_file())
    sources = [config.name for config in configs]

    load_run_id = None
    if ingest:
        state = ingest_orders(end=cut_off, return_state=True)
        load_run_id = str(state.state_details.flow_run_id)
        if not state.is_completed():
            raise GateClosed(f"daily-operations {as_of}: the load failed, so nothing else runs — {state.message}")
    read = import_marketplace_promotions(engine, configs)  # before the four: replenishment stocks for them
    promotion_errors = {r.source: r.error for r in read if r.error}
    problems = gate_problems(engine, sources, cut_off, load_run_id)
    if problems:
        raise GateClosed(f"daily-operations {as_of}: the load gate is shut, so nothing else runs — "
                         + "; ".join(problems))
    log.info("daily operations %s: orders of %d sources loaded up to %s and reconciled; starting %s", as_of,
             len(sources), f"{cut_off:%Y-%m-%d %H:%M} UTC", ", ".join(only or OPERATIONS))

    futures = {name: run_operation.submit(name, as_of, parameters.get(name, {})) for name in (only or OPERATIONS)}
    wait(list(futures.values()))
    outcome, failures, results = {}, {}, {}
    for name, future in futures.items():
        state = future.state
        if state.is_completed():
            outcome[name] = "completed"
            results[name] = future.result()
        else:
            try:
                future.result()
                reason = state.message or state.name
            except Exception as error:  # the flow's own error says why
                reason = f"{type(error).__name__}: {error}"
            outcome[name] = f"failed: {reason}"
            failures[name] = reason
    create_table_artifact(key="daily-operations", table=[
        {"step": "ingest-orders", "outcome": "completed" if ingest else "skipped (ingest=false)"},
        {"step": "marketplace promotions", "outcome": "read" if not promotion_errors else f"not read from "
         f"{', '.join(promotion_errors)} (the review uses what is stored)"},
        {"step": "load gate", "outcome": f"open: loaded up to {cut_off:%Y-%m-%d %H:%M} UTC"},
        *({"step": name, "outcome": text} for name, text in outcome.items())],
        description=f"Daily operations for {as_of}")
    if failures:
        raise RuntimeError(f"daily-operations {as_of}: {len(failures)} of {len(futures)} failed — "
                           + "; ".join(f"{name}: {why}" for name, why in failures.items()))
    return {"as_of": as_of.isoformat(), "cut_off": cut_off.isoformat(), **outcome, "results": results}


def _cut_off(as_of: date, zone: str) -> datetime:
    """The end of the business date (in UTC), or now while that is still ahead."""
    end = datetime.combine(as_of + timedelta(days=1), time(0), tzinfo=ZoneInfo(zone)).astimezone(timezone.utc)
    return min(end, datetime.now(timezone.utc).replace(microsecond=0))
