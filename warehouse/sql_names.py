"""The only things ever written into SQL text: the schema's own table and column names.

Values always travel as bound parameters (or inside COPY's data stream). SQL cannot bind a table
or column name, so the few statements that take one (COPY, DDL for scratch tables, column lists
of bulk upserts) splice it in, and only through these functions: a plain lower-case identifier
passes, anything else (quotes, spaces, semicolons, a value from a source or a file) is refused.
tests/unit/test_sql_parameterised.py checks that every statement the code builds does so.
"""

from __future__ import annotations

import re
from typing import Iterable

_NAME = re.compile(r"[a-z_][a-z0-9_]*")
# A scratch table's column definitions: "name TYPE[(n)] [PRIMARY KEY]", comma-separated.
_COLUMN_DEFINITION = re.compile(r"[a-z_][a-z0-9_]* [A-Z]+(?:\(\d+\))?(?: PRIMARY KEY)?")


def sql_name(name: str) -> str:
    """`name`, checked to be a plain lower-case identifier."""
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise ValueError(f"refusing to write {name!r} into SQL: not a plain table or column name")
    return name


def sql_names(names: Iterable[str]) -> str:
    """Identifiers as a comma-separated list, each checked by `sql_name`."""
    return ", ".join(sql_name(name) for name in names)


def sql_column_definitions(definitions: str) -> str:
    """Column definitions of a scratch table, such as "external_id VARCHAR(64) PRIMARY KEY, rid INTEGER"."""
    if not all(_COLUMN_DEFINITION.fullmatch(part) for part in definitions.split(", ")):
        raise ValueError(f"refusing to write {definitions!r} into SQL: not plain column definitions")
    return definitions
