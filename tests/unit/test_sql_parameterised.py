"""SQL is parameterised everywhere: every statement the code hands to a database is built from
constant text and the names that passed warehouse.sql_names, so no value — from a marketplace, a
file, a setting or a user — can become SQL text.

The check reads the source (ast): at every place SQL text goes to the database (text(),
exec_driver_sql, execute, executemany, executescript, a cursor's copy, and the helpers that take a
statement) it follows the text back through the function's own variables and the module's
constants. Text is accepted when it is made only of string literals, of sql_name / sql_names /
sql_column_definitions calls, of loop variables over literal tuples, and of joins, sums and
conditionals of such parts. Anything else (a parameter, an attribute, `%` formatting, a value read
at run time) is reported with its file and line.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from warehouse.sql_names import sql_column_definitions, sql_name, sql_names

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("connectors", "flows", "tasks", "warehouse", "shopops")
NAME_CHECKS = {"sql_name", "sql_names", "sql_column_definitions"}
SQL_ARGUMENT = {"text": 0, "exec_driver_sql": 0, "executemany": 0, "executescript": 0, "copy": 0}
# These take SQL text or a statement object; they are checked only when given text.
STATEMENT_ARGUMENT = {"execute": 0, "read_frame": 1, "read_large_frame": 1}
# Helpers whose statement parameter is checked at their callers instead (see STATEMENT_ARGUMENT).
STATEMENT_PARAMETERS = {("read_frame", "statement"), ("read_large_frame", "statement")}


class SqlText:
    """Which expressions of one module can only ever hold safe SQL text."""

    def __init__(self, tree: ast.Module):
        self.tree = tree
        self.module_values = _assignments(tree.body, top_level=True)
        # SQLAlchemy's text(), not the normalisers' text() of a column of values.
        self.text_names = {alias.asname or alias.name for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)
                           and (node.module or "").startswith("sqlalchemy") for alias in node.names
                           if alias.name == "text"}

    def problems(self) -> list[tuple[int, str]]:
        found = []
        for function, node in _calls(self.tree):
            name = _called_name(node)
            position = SQL_ARGUMENT.get(name, STATEMENT_ARGUMENT.get(name))
            if position is None or len(node.args) <= position:
                continue
            if name == "text" and isinstance(node.func, ast.Name) and name not in self.text_names:
                continue
            argument = node.args[position]
            if name in STATEMENT_ARGUMENT and not self._is_text(argument, function):
                continue  # a select(), a text() (checked where it is made) or a model statement
            if name == "copy" and not isinstance(node.func, ast.Attribute):
                continue
            if not self.safe(argument, function, set()):
                found.append((node.lineno, ast.unparse(argument)[:120]))
        return found

    def _is_text(self, node, function) -> bool:
        """Whether `node` is string-like (not a statement object) as far as the source shows."""
        if isinstance(node, (ast.Constant, ast.JoinedStr, ast.BinOp)):
            return True
        if node is _RETURNED:
            return False  # what a call returned: a statement object as a rule, checked where it is made
        if isinstance(node, ast.Name):
            values = self._values(node.id, function)
            return values is None or any(self._is_text(v, function) for v in values if v is not node)
        return False

    def safe(self, node, function, resolving: set[str]) -> bool:
        if isinstance(node, ast.Constant):
            return isinstance(node.value, (str, type(None)))
        if isinstance(node, ast.JoinedStr):
            return all(self.safe(part.value, function, resolving) for part in node.values
                       if isinstance(part, ast.FormattedValue))
        if isinstance(node, ast.BinOp):
            return isinstance(node.op, ast.Add) and all(self.safe(side, function, resolving)
                                                        for side in (node.left, node.right))
        if isinstance(node, ast.IfExp):
            return self.safe(node.body, function, resolving) and self.safe(node.orelse, function, resolving)
        if isinstance(node, (ast.List, ast.Tuple)):
            return all(self.safe(item, function, resolving) for item in node.elts)
        if isinstance(node, (ast.GeneratorExp, ast.ListComp)):
            return self.safe(node.elt, function, resolving)
        if isinstance(node, ast.Call):
            if _called_name(node) in NAME_CHECKS:
                return True
            method = node.func.attr if isinstance(node.func, ast.Attribute) else None
            if method == "join" and isinstance(node.func.value, ast.Constant) and len(node.args) == 1:
                return self.safe(node.args[0], function, resolving)
            if method == "format":  # a constant template filled with safe parts
                parts = [node.func.value, *node.args, *(k.value for k in node.keywords)]
                return all(self.safe(part, function, resolving) for part in parts)
            return False
        if isinstance(node, ast.Subscript):  # a statement picked from a table of constant statements
            table = node.value
            values = self._values(table.id, function) if isinstance(table, ast.Name) else None
            return bool(values) and all(isinstance(v, ast.Dict) and self.safe(ast.List(elts=v.values), function,
                                                                               resolving) for v in values)
        if isinstance(node, ast.Name):
            if node.id in resolving:
                return True  # the other assignments decide
            if function is not None and (function.name, node.id) in STATEMENT_PARAMETERS:
                return True
            values = self._values(node.id, function)
            return bool(values) and all(self.safe(v, function, resolving | {node.id}) for v in values)
        return False

    def _values(self, name: str, function) -> list | None:
        """Every value the name is given in the function (or, failing that, the module); None when
        it is given none there (a parameter, or a name from elsewhere)."""
        if function is not None:
            values = _assignments(function.body).get(name)
            if values is not None:
                return values
            if name in {a.arg for a in function.args.args + function.args.kwonlyargs}:
                return None
        return self.module_values.get(name)


def _assignments(body: list, top_level: bool = False) -> dict[str, list]:
    """name → values assigned to it (assignments, +=, .append/.extend, and loops over literal tuples)."""
    values: dict[str, list] = {}
    nodes = [n for statement in body for n in ([statement] if top_level else ast.walk(statement))]
    for node in nodes:
        if isinstance(node, ast.Assign):
            for target in node.targets:
                _bind(values, target, node.value)
        elif isinstance(node, (ast.AugAssign, ast.AnnAssign)) and node.value is not None:
            _bind(values, node.target, node.value)
        elif isinstance(node, ast.For):
            if isinstance(node.iter, (ast.Tuple, ast.List)):
                for item in node.iter.elts:
                    _bind(values, node.target, item)
            else:
                _bind(values, node.target, _UNKNOWN)
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
              and node.func.attr in {"append", "extend"} and isinstance(node.func.value, ast.Name)):
            values.setdefault(node.func.value.id, []).extend(node.args)
    return values


_UNKNOWN = ast.Name(id="<a value known only at run time>", ctx=ast.Load())
_RETURNED = ast.Name(id="<a part of what a call returned>", ctx=ast.Load())


def _bind(values: dict, target, value) -> None:
    if isinstance(target, ast.Name):
        values.setdefault(target.id, []).append(value)
    elif isinstance(target, (ast.Tuple, ast.List)):
        parts = value.elts if isinstance(value, (ast.Tuple, ast.List)) and len(value.elts) == len(target.elts) \
            else [_RETURNED if isinstance(value, ast.Call) else _UNKNOWN] * len(target.elts)
        for name, part in zip(target.elts, parts):
            _bind(values, name, part)


def _calls(tree: ast.Module):
    """(enclosing function or None, call) for every call in the module."""
    def visit(node, function):
        for child in ast.iter_child_nodes(node):
            inner = child if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)) else function
            if isinstance(child, ast.Call):
                yield inner, child
            yield from visit(child, inner)

    yield from visit(tree, None)


def _called_name(call: ast.Call) -> str | None:
    if isinstance(call.func, ast.Name):
        return call.func.id
    if isinstance(call.func, ast.Attribute):
        return call.func.attr
    return None


def _problems(source: str) -> list[tuple[int, str]]:
    return SqlText(ast.parse(source)).problems()


def _snippet_problems(source: str) -> list[tuple[int, str]]:
    return _problems("from sqlalchemy import select, text\n" + source)


def test_every_statement_in_the_code_is_built_from_constants_and_checked_names():
    problems = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            for line, text in _problems(path.read_text()):
                problems.append(f"{path.relative_to(ROOT)}:{line}: {text}")
    assert problems == [], "SQL text built from values (bind them as parameters, or pass names through " \
                           "warehouse.sql_names):\n" + "\n".join(problems)


@pytest.mark.parametrize("source", [
    'conn.execute(text(f"SELECT * FROM orders WHERE external_id = \'{external_id}\'"))',
    'def f(conn, sku):\n    conn.exec_driver_sql("DELETE FROM products WHERE sku = \'" + sku + "\'")',
    'def f(conn, day):\n    conn.execute(text("DELETE FROM snapshots WHERE day = \'%s\'" % day))',
    'def f(conn, table):\n    conn.execute(f"DELETE FROM {table}")',
    'def f(conn, columns):\n    names = ", ".join(columns)\n    conn.exec_driver_sql(f"SELECT {names} FROM t")',
    'def f(conn, keys):\n    conn.exec_driver_sql(" AND ".join(f"{k} = 1" for k in keys))',
    'def f(cursor, table):\n    with cursor.copy(f"COPY {table} FROM STDIN") as copy:\n        pass',
    'def f(conn, code):\n    read_frame(conn, f"SELECT * FROM promotions WHERE code = \'{code}\'")',
    'def f(conn, self):\n    conn.execute(text(f"SELECT {self.column} FROM t"))',
    'def f(conn, what):\n    conn.execute(text("SELECT {what} FROM t".format(what=what)))',
    'def f(conn, mode):\n    conn.exec_driver_sql(mode["begin"])',
    'def f(conn, mode):\n    begin = {"a": "BEGIN", "b": mode}\n    conn.exec_driver_sql(begin["a"])',
])
def test_the_check_reports_values_written_into_sql(source):
    assert _snippet_problems(source), source


@pytest.mark.parametrize("source", [
    'conn.execute(text("SELECT * FROM orders WHERE external_id = :id"), {"id": value})',
    'def f(conn, table, columns):\n    conn.exec_driver_sql(f"INSERT INTO {sql_name(table)} ({sql_names(columns)}) '
    'SELECT 1")',
    'def f(conn, keys):\n    where = " AND ".join(f"u.{sql_name(k)} = 1" for k in keys)\n'
    '    conn.execute(text(f"DELETE FROM t WHERE {where}"))',
    'for table in ("raw_orders", "quarantine"):\n    op.execute(f"ALTER TABLE {table} SET x")',
    'def f(conn, update):\n    parts = []\n    if update:\n        parts.append("a = 1")\n'
    '    conn.exec_driver_sql("UPDATE t SET " + ", ".join(parts))',
    'QUERY = text("SELECT 1")\ndef f(conn):\n    conn.execute(QUERY)',
    'def f(conn):\n    conn.execute(select(Order).where(Order.source == source))',
    'Q = "SELECT {what} FROM t"\ndef f(conn, count):\n    what = "COUNT(*)" if count else "x"\n'
    '    conn.execute(text(Q.format(what=what)))',
    'BEGIN = {"DEFERRED": "BEGIN DEFERRED"}\ndef f(conn, mode):\n    conn.exec_driver_sql(BEGIN[mode])',
])
def test_the_check_accepts_constants_bound_values_and_checked_names(source):
    assert _snippet_problems(source) == [], source


@pytest.mark.parametrize("hostile", ["orders; DROP TABLE orders", "orders--", "\"orders\"", "Orders", "a b",
                                     "x'||'y", "", "1abc", "pg_temp.orders", None, 7])
def test_a_name_that_is_not_a_plain_identifier_is_refused(hostile):
    with pytest.raises(ValueError, match="refusing to write"):
        sql_name(hostile)
    with pytest.raises(ValueError, match="refusing to write"):
        sql_names(["source", hostile])


def test_plain_names_and_column_definitions_pass_unchanged():
    assert sql_name("stg_order_lines") == "stg_order_lines"
    assert sql_names(["source", "external_id"]) == "source, external_id"
    assert sql_column_definitions("external_id VARCHAR(64) PRIMARY KEY, rid INTEGER") == \
        "external_id VARCHAR(64) PRIMARY KEY, rid INTEGER"
    with pytest.raises(ValueError, match="refusing to write"):
        sql_column_definitions("rid INTEGER); DROP TABLE orders; --")
