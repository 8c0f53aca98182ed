"""Logging that reaches the Prefect UI inside a run and never carries a secret or an e-mail.

Code logs through `get_logger(name)`: the run logger inside a Prefect flow or task (so lines show
in the UI), a standard logger elsewhere. `install_redaction()` puts a filter on every handler that
masks registered secret values and anything shaped like an e-mail address, as a second line of
defence behind code that already avoids logging them.
"""

from __future__ import annotations

import logging
import re
import threading

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")
_secrets: set[str] = set()
_secrets_lock = threading.Lock()


def register_secret(value: str) -> None:
    if value and len(value) >= 4:
        with _secrets_lock:
            _secrets.add(value)


def redact(text: str) -> str:
    with _secrets_lock:
        secrets = sorted(_secrets, key=len, reverse=True)
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, "***")
    return _EMAIL.sub("<email>", text)


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True


_FILTER = RedactingFilter()


def install_redaction() -> None:
    """Attach the filter to the handlers of the root and Prefect loggers (idempotent)."""
    for name in (None, "prefect", "prefect.flow_runs", "prefect.task_runs"):
        for handler in logging.getLogger(name).handlers:
            if _FILTER not in handler.filters:
                handler.addFilter(_FILTER)


def get_logger(name: str = "shopops") -> logging.Logger | logging.LoggerAdapter:
    try:
        from prefect.exceptions import MissingContextError
        from prefect.logging import get_run_logger
    except ImportError:  # pragma: no cover - prefect is a dependency
        return logging.getLogger(name)
    try:
        return get_run_logger()
    except MissingContextError:
        return logging.getLogger(name)
