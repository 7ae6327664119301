"""SELECTs compiled once for the database driver, for reads that bypass SQLAlchemy's execution.

SQLAlchemy's `Connection.execute` of an already compiled and cached statement still cost
about 100 µs a call (contexts, parameter and result bookkeeping), four times what
psycopg2 spends sending it and reading ten rows. A `DriverStatement` keeps what that work
produced and is constant per statement: the SQL text in the driver's parameter style, the
type conversions of the bound parameters and of the selected columns. Executing it is then
the driver's `cursor.execute(statement.sql, statement.parameters(values))`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select
from sqlalchemy.engine import Dialect
from sqlalchemy.sql.compiler import Compiled

Processor = Callable[[Any], Any]
_NAMED = re.compile(r"%\((\w+)\)s")  # a psycopg2 named parameter


@dataclass(frozen=True)
class Prepared:
    """How PostgreSQL readers prepare a statement that repeats, and then run it."""

    name: str
    prepare_sql: str  # PREPARE name AS ... ($1, $2, ... for the parameters)
    execute_sql: str  # EXECUTE name(%(a)s, %(b)s, ...)


@dataclass(frozen=True)
class DriverStatement:
    """A compiled SELECT: its SQL, its column names and how values cross the driver."""

    sql: str
    columns: tuple[str, ...]
    prepared: Prepared | None
    _compiled: Compiled
    _binds: tuple[tuple[str, Processor], ...]
    _results: tuple[tuple[int, Processor], ...]

    def parameters(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """The driver's parameters: `values` for the named binds, the statement's own values
        for the rest, each converted as its column type says (a naive time becomes UTC)."""
        parameters = dict(self._compiled.construct_params(dict(values)) or {})
        for name, convert in self._binds:
            parameters[name] = convert(parameters[name])
        return parameters

    def records(self, rows: Iterable[Sequence[Any]]) -> list[dict[str, Any]]:
        """Driver rows as dicts by column name, converted as SQLAlchemy would return them."""
        columns = self.columns
        records = [dict(zip(columns, row, strict=True)) for row in rows]
        for index, convert in self._results:
            name = columns[index]
            for record in records:
                record[name] = convert(record[name])
        return records


def compile_for_driver(
    statement: Select[Any], dialect: Dialect, name: str | None = None
) -> DriverStatement:
    """`statement` compiled for `dialect`'s driver (named parameters: psycopg2, not SQLite).

    `name`: for a statement that repeats, the name PostgreSQL readers prepare it under.
    Columns are converted without the driver's type code, so the types whose conversion
    depends on it (NUMERIC on psycopg2) cannot be selected; the archive's reads have none.
    """
    compiled = statement.compile(dialect=dialect)
    if compiled.positiontup:
        raise ValueError(f"{dialect.name} binds parameters by position; only named are handled")
    escaped = compiled.escaped_bind_names
    binds = tuple(
        (escaped.get(bind_name, bind_name), convert)
        for bind, bind_name in compiled.bind_names.items()
        if (convert := bind.type.dialect_impl(dialect).bind_processor(dialect)) is not None
    )
    selected = list(statement.selected_columns)
    columns = tuple(column.key for column in selected if column.key is not None)
    if len(columns) != len(selected):
        raise ValueError("every selected column needs a name")
    results = tuple(
        (index, convert)
        for index, column in enumerate(selected)
        if (convert := column.type.dialect_impl(dialect).result_processor(dialect, None))
        is not None
    )
    return DriverStatement(
        sql=compiled.string,
        columns=columns,
        prepared=None if name is None else _prepared(name, compiled.string),
        _compiled=compiled,
        _binds=binds,
        _results=results,
    )


def _prepared(name: str, sql: str) -> Prepared:
    order = list(dict.fromkeys(_NAMED.findall(sql)))
    numbers = {parameter: n for n, parameter in enumerate(order, start=1)}
    body = _NAMED.sub(lambda bind: f"${numbers[bind.group(1)]}", sql)
    return Prepared(
        name=name,
        # Sent without parameters, so psycopg2 would not turn an escaped %% back into %.
        prepare_sql=f"PREPARE {name} AS {body.replace('%%', '%')}",
        execute_sql=f"EXECUTE {name}({', '.join(f'%({p})s' for p in order)})",
    )
