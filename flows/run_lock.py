"""One run per flow and business date: the scheduled run and a backfill chunk of the same date
wait for each other instead of interleaving their writes (warehouse/locks.py)."""

from __future__ import annotations

import functools
import inspect
import typing

from flows.business_date import business_date
from warehouse.engine import get_engine
from warehouse.locks import run_key, run_lock


def one_run_per_date(flow_name: str):
    """Decorate a flow function (under `@flow`) whose first parameter is `as_of`: the business date
    is resolved first, and the body runs holding the lock of (flow, date)."""
    def decorate(function):
        signature = inspect.signature(function)

        @functools.wraps(function)
        def locked(*args, **kwargs):
            bound = signature.bind(*args, **kwargs)
            bound.apply_defaults()
            bound.arguments["as_of"] = as_of = business_date(bound.arguments["as_of"])
            with run_lock(get_engine(), run_key(flow_name, as_of)):
                return function(*bound.args, **bound.kwargs)

        # Prefect reads the parameter types off the wrapper; resolve them here, where the flow's
        # module (and so `date`, `datetime`, …) is known, or the worker's validation fails.
        hints = typing.get_type_hints(function)
        locked.__signature__ = signature.replace(
            parameters=[p.replace(annotation=hints.get(p.name, p.annotation)) for p in signature.parameters.values()],
            return_annotation=hints.get("return", signature.return_annotation))
        locked.__annotations__ = hints
        del locked.__wrapped__
        return locked

    return decorate
