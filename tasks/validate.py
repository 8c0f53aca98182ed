"""Great Expectations as the data contract: run each table's suite on a chunk, turn failing rows
into sentences on their records, and publish one merged result per run to Data Docs.

Chunks are validated in an ephemeral GE context (nothing is written per chunk); at the end of a
source's run the merged result of every table goes to the file context in `data_docs_dir`, and
only those pages are re-rendered.
"""

from __future__ import annotations

import copy
import fcntl
import logging
import os
import threading
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pandas as pd

from tasks.normalize.common import Reasons
from warehouse.expectations import AMOUNTS, INDEX_COLUMNS, SUITES, Rule
from warehouse.types import money_text

os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
# GE logs its own plumbing at INFO (hundreds of lines a run); keep its warnings and errors only.
logging.getLogger("great_expectations").setLevel(logging.WARNING)

_MAX_INDEXES_IN_DOCS = 200


class ValidationCrashed(RuntimeError):
    """An expectation could not be evaluated at all (not the same as rows failing it)."""


@dataclass
class TableFindings:
    reasons: Reasons
    failures: Counter            # rule sentence -> failing rows
    result: object | None        # the GE ExpectationSuiteValidationResult


class ContractValidator:
    """The compiled suites; build one per process and share it (GE's import alone takes ~3 s)."""

    _instance: "ContractValidator | None" = None
    _instance_lock = threading.Lock()

    @classmethod
    def shared(cls) -> "ContractValidator":
        with cls._instance_lock:
            if cls._instance is None:
                cls._instance = cls()
            return cls._instance

    def __init__(self):
        import great_expectations as gx
        from great_expectations.execution_engine import pandas_execution_engine

        # GE fingerprints every batch by hashing all its rows (~15% of a chunk's validation) for a
        # batch marker shown in Data Docs; ours shows one result merged over a run's chunks, where
        # one chunk's fingerprint would mean nothing. Frames at or above this size skip it.
        pandas_execution_engine.HASH_THRESHOLD = 0
        self._gx = gx
        self.context = gx.get_context(mode="ephemeral")
        _quiet(self.context)
        datasource = self.context.data_sources.add_pandas("shopops")
        self._definitions = {}
        for table, rules in SUITES.items():
            suite = self.context.suites.add(gx.ExpectationSuite(name=table, expectations=[
                _expectation(gx, rule, position) for position, rule in enumerate(rules)]))
            batch = datasource.add_dataframe_asset(table).add_batch_definition_whole_dataframe("chunk")
            self._definitions[table] = self.context.validation_definitions.add(
                gx.ValidationDefinition(name=table, data=batch, suite=suite))
        self._lock = threading.Lock()  # GE contexts are not documented as thread-safe

    def validate(self, table: str, frame: pd.DataFrame, now: datetime) -> TableFindings:
        if frame.empty:
            return TableFindings(Reasons(), Counter(), None)
        frame = _vectorisable(frame[_suite_columns(table, frame)])
        definition = self._definitions[table]
        with self._lock:
            # Batch.validate, unlike ValidationDefinition.run, does not serialise the result into
            # a store on every chunk (~0.1 s each); Data Docs get one merged result per run instead.
            batch = definition.data.get_batch(batch_parameters={"dataframe": frame})
            result = batch.validate(
                definition.suite,
                expectation_parameters={"latest_allowed": now + timedelta(days=1)},
                result_format={"result_format": "COMPLETE", "unexpected_index_column_names": INDEX_COLUMNS[table]},
            )
        return _findings(table, result)


def _suite_columns(table: str, frame: pd.DataFrame) -> list[str]:
    """The columns the table's rules read or quote, and the index columns of failing rows. GE copies
    every column of the frame it is given, so the rest — long text such as titles and order
    numbers — is left out. A column a rule names that the frame
    lacks stays missing, so GE still reports it as before."""
    wanted = _SUITE_COLUMNS.get(table)
    if wanted is None:
        needed = set(INDEX_COLUMNS.get(table, []))
        for rule in SUITES[table]:
            needed.update(rule.kwargs[k] for k in ("column", "column_A", "column_B") if k in rule.kwargs)
            if rule.show:
                needed.add(rule.show)
        wanted = _SUITE_COLUMNS[table] = needed
    return [name for name in frame.columns if name in wanted]


_SUITE_COLUMNS: dict[str, set[str]] = {}


def _vectorisable(frame: pd.DataFrame) -> pd.DataFrame:
    """Nullable integer columns as float64 for GE, whose range checks otherwise call Python once
    per value. Exact here: money in ten-thousandths stays far below 2^53."""
    nullable = [name for name, dtype in frame.dtypes.items() if isinstance(dtype, pd.Int64Dtype)]
    if not nullable:
        return frame
    return frame.astype({name: "float64" for name in nullable})


def _expectation(gx, rule: Rule, position: int):
    import great_expectations.expectations as gxe

    return getattr(gxe, rule.expectation)(**rule.kwargs, meta={"rule": position})


def _quiet(context) -> None:
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context.variables.progress_bars = ProgressBarsConfig(globally=False)


def _findings(table: str, result) -> TableFindings:
    rules = SUITES[table]
    reasons, failures = Reasons(), Counter()
    for outcome in result.results:
        rule = rules[outcome.expectation_config.meta["rule"]]
        info = outcome.exception_info or {}
        if info.get("raised_exception"):
            raise ValidationCrashed(f"{table}: `{rule.expectation}` could not run: {info.get('exception_message')}")
        if outcome.success:
            continue
        rows = outcome.result.get("unexpected_index_list") or []
        failures[f"{table}: {rule.says}"] += len(rows)
        for row in rows:
            reasons.by_rid[int(row["rid"])].append(_sentence(table, rule, row))
    return TableFindings(reasons, failures, result)


def _sentence(table: str, rule: Rule, row: dict) -> str:
    where = ""
    if table == "order_lines":
        where = f"line {row.get('line_id')} ({row.get('sku')}): "
    elif table == "refunds":
        where = f"refund {row.get('external_id')}: "
    value = ""
    if rule.show and rule.show in row:
        shown = row[rule.show]
        if shown is None or shown is pd.NaT or shown is pd.NA:
            value = " (got nothing)"
        elif rule.show in AMOUNTS:  # ten-thousandths (GE saw them as floats)
            value = f" (got {money_text(pd.Series([round(float(shown))], dtype='Int64')).iloc[0]})"
        else:
            value = f" (got {_plain(shown)})"
    return f"{where}{table}: {rule.says}{value}"


def _plain(value) -> str:
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value, "f")
    value = value.item() if hasattr(value, "item") else value
    if isinstance(value, float) and value.is_integer():  # nullable integers reach GE as floats
        value = int(value)
    return repr(value)


# --- Data Docs --------------------------------------------------------------------------

@dataclass
class RunResults:
    """Chunk results of one source's run, merged per table."""

    merged: dict[str, object] = field(default_factory=dict)

    def add(self, table: str, result) -> None:
        if result is None:
            return
        if table not in self.merged:
            self.merged[table] = copy.deepcopy(result)
        else:
            _merge_into(self.merged[table], result)


def _merge_into(total, more) -> None:
    for into, extra in zip(total.results, more.results):
        into.success = bool(into.success and extra.success)
        a, b = into.result, extra.result
        for count in ("element_count", "unexpected_count", "missing_count"):
            if count in a or count in b:
                a[count] = a.get(count, 0) + b.get(count, 0)
        if "unexpected_index_list" in a:
            a["unexpected_index_list"] = (a["unexpected_index_list"] + (b.get("unexpected_index_list") or []))[:_MAX_INDEXES_IN_DOCS]
        elements, missing = a.get("element_count", 0), a.get("missing_count", 0)
        if "unexpected_count" in a and elements:
            a["unexpected_percent"] = 100.0 * a["unexpected_count"] / elements
            non_missing = elements - missing
            a["unexpected_percent_nonmissing"] = 100.0 * a["unexpected_count"] / non_missing if non_missing else None
            a["unexpected_percent_total"] = a["unexpected_percent"]
            if "missing_count" in a:
                a["missing_percent"] = 100.0 * missing / elements
    total.success = all(r.success for r in total.results)
    succeeded = sum(1 for r in total.results if r.success)
    total.statistics.update({
        "successful_expectations": succeeded,
        "unsuccessful_expectations": len(total.results) - succeeded,
        "success_percent": 100.0 * succeeded / len(total.results) if total.results else None,
    })


_docs_lock = threading.Lock()


def publish_data_docs(project_dir: Path, run_name: str, source: str, results: RunResults, keep: int) -> Path | None:
    """Store the run's merged results and render their pages; returns the site's index.html.

    A GE file project tolerates one writer at a time: sources finishing together (threads) and
    workers sharing the folder (processes) take turns, through a lock and a lock file.
    """
    if not results.merged:
        return None
    project_dir.mkdir(parents=True, exist_ok=True)
    with _docs_lock, open(project_dir / ".publish.lock", "w") as lock_file:
        fcntl.flock(lock_file, fcntl.LOCK_EX)
        return _publish(project_dir, run_name, source, results, keep)


def _publish(project_dir: Path, run_name: str, source: str, results: RunResults, keep: int) -> Path | None:
    import great_expectations as gx
    from great_expectations.core.run_identifier import RunIdentifier
    from great_expectations.data_context.types.resource_identifiers import (
        ExpectationSuiteIdentifier, ValidationResultIdentifier,
    )

    context = gx.get_context(mode="file", project_root_dir=str(project_dir))
    _quiet(context)
    run_id = RunIdentifier(run_name=run_name, run_time=datetime.now(timezone.utc))
    keys = []
    for table, result in results.merged.items():
        key = ValidationResultIdentifier(ExpectationSuiteIdentifier(name=table), run_id, batch_identifier=source)
        result.meta["run_id"] = run_id
        context.validation_results_store.set(key, result)
        keys.append(key)
    _prune(context, keep)
    sites = context.build_data_docs(resource_identifiers=keys)
    index = sites.get("local_site", "")
    return Path(index.removeprefix("file://")) if index else None


def _prune(context, keep: int) -> None:
    """Keep the newest `keep` results per table so Data Docs stay fast to open."""
    store = context.validation_results_store
    by_suite: dict[str, list] = {}
    for key in store.list_keys():
        by_suite.setdefault(key.expectation_suite_identifier.name, []).append(key)
    for keys in by_suite.values():
        keys.sort(key=lambda k: k.run_id.run_time)
        for old in keys[:-keep]:
            store.remove_key(old)
