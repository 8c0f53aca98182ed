"""`ingest-orders`: marketplaces → warehouse, for the hourly schedule and for any backfill.

Parameters, ordering, retries and artifacts only; the work is in tasks/.
"""

from __future__ import annotations

import os
import uuid
from contextlib import contextmanager
from dataclasses import asdict
from datetime import datetime, timezone

from prefect import flow, task
from prefect.artifacts import create_progress_artifact, create_table_artifact, update_progress_artifact
from prefect.cache_policies import NO_CACHE
from prefect.runtime import flow_run
from prefect.task_runners import ProcessPoolTaskRunner, ThreadPoolTaskRunner

from connectors import build_connector, settle_lag
from connectors.file_drop import FileDropFolder
from connectors.http import AuthError
from connectors.sources import ConfigError, SourceConfig, catalog_source, load_sources
from flows.alerts import FAILURE_HOOKS
from shopops.dask import cluster_name, dask_task_runner
from shopops.logs import get_logger, install_redaction
from shopops.settings import get_settings
from tasks.catalog import CatalogReport, sync_shopify_catalog
from tasks.ingest import SourceReport, ingest_orders_from, plan_window
from tasks.ingest_files import FilesFailed, ingest_file_drop
from tasks.normalize.file_drop import FileLayout
from tasks.load import QuarantineLimitExceeded
from tasks.validate import ContractValidator
from warehouse.engine import get_engine
from warehouse.migrate import SchemaNotCurrent, check_schema


def _not_worth_retrying(task, task_run, state) -> bool:
    """Retry transient failures only: a wrong token, a broken config or a batch the data contract
    refused fail the same way again."""
    try:
        state.result()
    except (AuthError, ConfigError, FilesFailed, QuarantineLimitExceeded, SchemaNotCurrent):
        return False
    except Exception:
        return True
    return False


@task(name="sync-catalog", task_run_name="catalogue {config.name}", retries=2, retry_delay_seconds=30,
      retry_condition_fn=_not_worth_retrying, cache_policy=NO_CACHE)
def sync_catalog(config: SourceConfig, run_id: str, is_master: bool, now: datetime) -> CatalogReport:
    connector = build_connector(config)
    try:
        return sync_shopify_catalog(connector, get_engine(), run_id=run_id, is_master=is_master,
                                    currency=config.options.get("currency"),
                                    validator=ContractValidator.shared(), now=now)
    finally:
        connector.close()


@task(name="ingest-source", task_run_name="orders {config.name}", retries=1, retry_delay_seconds=60,
      retry_condition_fn=_not_worth_retrying, cache_policy=NO_CACHE)
def ingest_source(config: SourceConfig, start: datetime | None, end: datetime, run_id: str) -> SourceReport:
    settings, engine = get_settings(), get_engine()
    if config.kind == "file_drop":  # files are not windowed: every ready file, once
        folder = FileDropFolder(config, settings.file_drop_settle_seconds)
        return ingest_file_drop(folder, FileLayout.from_options(config.name, config.options), engine, run_id=run_id,
                                settings=settings, validator=ContractValidator.shared(), now=end)
    window_start, window_end = plan_window(engine, config.name, start, end, settings, end, settle_lag(config.kind))
    progress = progress_tracker(f"{config.name}: orders {window_start:%Y-%m-%d %H:%M} → {window_end:%Y-%m-%d %H:%M} UTC")
    connector = build_connector(config)
    try:
        return ingest_orders_from(connector, engine, run_id=run_id, start=window_start, end=window_end,
                                  settings=settings, validator=ContractValidator.shared(), now=end,
                                  on_progress=progress)
    finally:
        connector.close()


def _run_name() -> str:
    parameters = flow_run.parameters or {}
    names = ", ".join(parameters.get("sources") or []) or "all sources"
    start, end = parameters.get("start"), parameters.get("end")
    window = f"{_short(start) if start else 'from cursor'} → {_short(end) if end else 'now'}"
    return f"ingest {names} · {window}"


def _short(value) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if isinstance(value, datetime) else str(value)[:16]


@contextmanager
def _source_tasks(settings, configs: list[SourceConfig], windows: dict[str, tuple[datetime, datetime]]):
    """Submit per-source tasks to the flow's threads, spread them over the flow's own process
    and a pool of worker processes, or send them to a Dask cluster.

    "auto" takes processes for a window longer than `ingest_processes_above_hours` over several
    sources (a backfill or a first load: the sources' work then shares no GIL), threads otherwise
    (an hourly run). With processes, the flow's process, already started and with Great
    Expectations set up, takes a share of the sources on its threads, and one worker per further
    core (`ingest_worker_processes`) takes the rest: each worker costs ~3.5 s of CPU to start,
    which is spent only where another core can use it. Catalogue syncs (small) stay on threads.

    Yields the runner's name, `submit(task, **parameters)` (on the flow's threads) and
    `submit_source(task, config=…, **parameters)` (wherever that source's orders run).
    """
    kind = settings.ingest_task_runner
    if kind == "auto":
        longest = max(((high - low).total_seconds() / 3600 for low, high in windows.values()), default=0.0)
        big = len(configs) > 1 and longest > settings.ingest_processes_above_hours
        kind = "processes" if big else "threads"
    log = get_logger("shopops.flows")
    on_threads = lambda task, **parameters: task.submit(**parameters)  # noqa: E731
    if kind == "threads":
        log.info("ingest-orders: %d source(s) on threads", len(configs))
        yield kind, on_threads, on_threads
        return
    if kind == "dask":
        with dask_task_runner(settings) as runner:
            log.info("ingest-orders: %d source(s) on Dask: %s", len(configs), cluster_name(settings))
            yield kind, on_threads, lambda task, **parameters: runner.submit(task, parameters)
        return
    workers = settings.ingest_worker_processes or max(1, (os.cpu_count() or 2) - 1)
    away = _away_sources(configs, workers)
    log.info("ingest-orders: %d source(s) on processes: %s on the flow's process, %s on %d worker process(es)",
             len(configs), ", ".join(c.name for c in configs if c.name not in away) or "none",
             ", ".join(sorted(away)) or "none", min(workers, len(away)))
    with ProcessPoolTaskRunner(max_workers=max(1, min(workers, len(away)))) as runner:
        def submit_source(task, **parameters):
            if parameters["config"].name in away:
                return runner.submit(task, parameters)
            return task.submit(**parameters)

        yield kind, on_threads, submit_source


def _away_sources(configs: list[SourceConfig], workers: int) -> set[str]:
    """Sources that run on worker processes: round robin over the flow's process and the
    workers, so with 3 sources and 1 worker the flow's process takes the 1st and the 3rd."""
    if workers >= len(configs):  # a worker for every source: the flow's process only orchestrates
        return {c.name for c in configs}
    return {c.name for position, c in enumerate(configs) if position % (workers + 1) != 0}


@flow(**FAILURE_HOOKS, name="ingest-orders", flow_run_name=_run_name, log_prints=False, task_runner=ThreadPoolTaskRunner(),
      description="Pull orders (and Shopify catalogues) from every configured marketplace into the warehouse: "
                  "clean, validate with Great Expectations, quarantine what fails, load idempotently.")
def ingest_orders(sources: list[str] | None = None, start: datetime | None = None,
                  end: datetime | None = None) -> list[dict]:
    """Load orders updated in [start, end) from the configured marketplaces.

    Args:
        sources: Source names from sources.yaml; empty means all of them.
        start: Start of the window (UTC, inclusive). Empty: the committed cursor minus the
            lookback, or the initial history for a source never loaded before.
        end: End of the window (UTC, exclusive). Empty: now.
    """
    install_redaction()
    log = get_logger("shopops.flows")
    settings = get_settings()
    engine = get_engine()
    check_schema(engine)
    configs = load_sources(settings.resolved_sources_file(), sources)
    run_id = str(flow_run.id or uuid.uuid4())
    end = (end or datetime.now(timezone.utc)).astimezone(timezone.utc)
    if start is not None and start.astimezone(timezone.utc) >= end:
        raise ValueError(f"start {start.isoformat()} is not before end {end.isoformat()}")

    master = catalog_source(configs)
    windows = {c.name: plan_window(engine, c.name, start, end, settings, end, settle_lag(c.kind)) for c in configs}
    failures = {}
    with _source_tasks(settings, configs, windows) as (runner, submit, submit_source):
        catalog_runs = {c.name: submit(sync_catalog, config=c, run_id=run_id, is_master=c.name == master, now=end)
                        for c in configs if c.kind == "shopify"}
        for name, future in catalog_runs.items():
            try:
                future.result()
            except Exception as exc:  # orders still load against the catalogue already in the warehouse
                failures[f"{name} catalogue"] = f"{type(exc).__name__}: {exc}"
                log.error("%s: catalogue sync failed: %s", name, exc)

        order_runs = {c.name: submit_source(ingest_source, config=c, start=start, end=end, run_id=run_id) for c in configs}
        reports: list[SourceReport] = []
        for name, future in order_runs.items():
            try:
                reports.append(future.result())
            except Exception as exc:
                failures[f"{name} orders"] = f"{type(exc).__name__}: {exc}"
                reports.append(SourceReport(name, next(c.kind for c in configs if c.name == name), status="failed",
                                            error=failures[f"{name} orders"]))

    summary = [{**summary_row(r), "ran on": runner} for r in reports]
    create_table_artifact(table=summary, key="ingest-orders-summary",
                          description=f"Orders per source, run {run_id} (window end {end:%Y-%m-%d %H:%M} UTC)")
    if failures:
        detail = "; ".join(f"{what}: {why}" for what, why in failures.items())
        raise RuntimeError(f"ingest-orders: {len(failures)} part(s) failed — {detail}")
    return summary


def summary_row(report: SourceReport) -> dict:
    counts = asdict(report.counts)
    return {
        "source": report.source,
        "status": report.status,
        "window": (f"{report.window_start:%Y-%m-%d %H:%M} → {report.window_end:%Y-%m-%d %H:%M}"
                   if report.window_start and report.window_end else ""),
        **counts,
        "deleted": report.deleted,
        "chunks": report.chunks,
        "seconds": round(report.seconds, 1),
        "peak memory (MB)": round(report.peak_memory_mb),
        **{f"{stage} (s)": round(seconds, 1) for stage, seconds in report.stage_seconds.items()},
        "error": report.error or "",
    }


def progress_tracker(description: str):
    try:
        artifact_id = create_progress_artifact(progress=0.0, description=description)
    except Exception:  # outside a run (plain function call): progress goes to the log only
        return None

    def update(fraction: float) -> None:
        update_progress_artifact(artifact_id=artifact_id, progress=round(100 * min(max(fraction, 0.0), 1.0), 1))

    return update
