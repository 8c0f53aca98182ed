"""The Dask task runner of the ingest fan-out and the backfill chunks (the `dask` extra).

A cluster at SHOPOPS_DASK_ADDRESS when one is set (several machines; PostgreSQL is then the
warehouse, as every worker writes to it), else a local cluster of SHOPOPS_DASK_WORKERS processes
started for the run. Workers read the same SHOPOPS_* settings and credentials from their
environment, and Prefect's settings travel with each task.
"""

from __future__ import annotations

from shopops.settings import Settings


def dask_task_runner(settings: Settings):
    try:
        from prefect_dask import DaskTaskRunner
    except ImportError as error:
        raise RuntimeError("the dask task runner needs prefect-dask: pip install -e '.[dask]'") from error
    if settings.dask_address:
        return DaskTaskRunner(address=settings.dask_address)
    return DaskTaskRunner(cluster_kwargs={"n_workers": settings.dask_workers, "threads_per_worker": 1,
                                          "processes": True, "dashboard_address": None})


def cluster_name(settings: Settings) -> str:
    return settings.dask_address or f"a local cluster of {settings.dask_workers} worker processes"
