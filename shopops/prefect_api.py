"""One Prefect API for a command and every worker process it starts.

Without PREFECT_API_URL, Prefect starts a temporary server per process; worker processes of a
process-pool task runner would then each start their own and contend for the same database.
`local_prefect_api()` starts one and hands its URL to this process and to children.
"""

from __future__ import annotations

import os
from contextlib import contextmanager
from typing import Iterator

# Prefect waits 20 s for its temporary server by default. A fresh PREFECT_HOME migrates the
# server's database first, which on a busy 2-core machine has taken longer than that.
SERVER_STARTUP_SECONDS = 120


@contextmanager
def local_prefect_api() -> Iterator[str | None]:
    from prefect.settings import PREFECT_API_URL, temporary_settings

    if PREFECT_API_URL.value():
        yield PREFECT_API_URL.value()
        return
    from prefect.server.api.server import SubprocessASGIServer
    from prefect.settings import PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS

    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    server = SubprocessASGIServer()
    server.start(timeout=max(SERVER_STARTUP_SECONDS, PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS.value()))
    os.environ["PREFECT_API_URL"] = server.api_url
    try:
        with temporary_settings(updates={PREFECT_API_URL: server.api_url}):
            yield server.api_url
    finally:
        _flush_run_logs()
        os.environ.pop("PREFECT_API_URL", None)
        server.stop()


def _flush_run_logs() -> None:
    """Send the logs still queued for the API, or they fail against the stopped server."""
    from prefect.logging.handlers import APILogWorker

    APILogWorker.drain_all(timeout=5)
