"""Bulk inserts: COPY on PostgreSQL (inside the caller's transaction), executemany elsewhere."""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from operator import itemgetter, methodcaller
from typing import Any, TypeVar, cast

from sqlalchemy import JSON, Boolean, DateTime, Float, Integer, TypeDecorator, insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import InstrumentedAttribute, Session

from eas.errors import BadRequest, Conflict
from eas.models import Base

# Keeps IN (...) lists and multi-row INSERTs within every backend's parameter limits.
CHUNK = 5000
Key = TypeVar("Key", int, str)


def existing_keys(
    session: Session, column: InstrumentedAttribute[Key], keys: Iterable[Key]
) -> set[Key]:
    """Which of `keys` are stored in `column`, asked in chunks that fit every backend."""
    wanted = sorted(set(keys))
    found: set[Key] = set()
    for offset in range(0, len(wanted), CHUNK):
        chunk = wanted[offset : offset + CHUNK]
        found.update(session.scalars(select(column).where(column.in_(chunk))))
    return found


def insert_if_absent(session: Session, model: type[Base], values: dict[str, Any]) -> bool:
    """Insert one row unless its key is taken; True when inserted.

    ON CONFLICT DO NOTHING on both backends: a writer racing another for the same key waits
    for it and inserts nothing, where a plain INSERT would fail on the unique constraint.
    """
    dialect_insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    statement = dialect_insert(model).values(**values).on_conflict_do_nothing()
    result: Any = session.execute(statement)  # a CursorResult: it has a rowcount
    return bool(result.rowcount == 1)


def insert_new(
    session: Session,
    key: InstrumentedAttribute[Key],
    rows: Sequence[dict[str, Any]],
    what: str,
) -> None:
    """Insert rows whose `key` values must all be new; Conflict naming the stored ones.

    On PostgreSQL COPY itself refuses a stored key, so the happy path asks nothing first
    (looking 20,000 keys up cost more than copying the rows); only after a refusal does a
    lookup name the culprits, the COPY having run in a savepoint that is then rolled back.
    """
    model = cast(type[Base], key.class_)
    name = key.key
    if session.get_bind().dialect.name != "postgresql":
        _refuse_stored(session, key, [row[name] for row in rows], what)
        insert_rows(session, model, rows)
        return
    savepoint = session.begin_nested()
    try:
        insert_rows(session, model, rows)
    except Conflict:
        savepoint.rollback()
        _refuse_stored(session, key, [row[name] for row in rows], what)
        raise
    savepoint.commit()


def _refuse_stored(
    session: Session, key: InstrumentedAttribute[Key], keys: Iterable[Key], what: str
) -> None:
    taken = sorted(existing_keys(session, key, keys))
    if taken:
        raise Conflict(f"{what}(s) already stored: {', '.join(map(str, taken[:20]))}")


def insert_rows(session: Session, model: type[Base], rows: Sequence[dict[str, Any]]) -> None:
    """Insert `rows` (dicts keyed by column name) into `model`'s table without committing."""
    if not rows:
        return
    if session.get_bind().dialect.name == "postgresql":
        _copy(session, model, rows)
        return
    for offset in range(0, len(rows), CHUNK):
        session.execute(insert(model), rows[offset : offset + CHUNK])


def _copy(session: Session, model: type[Base], rows: Sequence[dict[str, Any]]) -> None:
    columns = list(rows[0])
    table = model.__tablename__
    # Column by column: the loops over rows run in C (map, join), not in Python bytecode.
    fields = [
        list(map(_formatter(model.__table__.c[name]), map(itemgetter(name), rows)))
        for name in columns
    ]
    text = "\n".join(map("\t".join, zip(*fields, strict=True))) + "\n"
    try:
        data = io.BytesIO(text.encode())
    except UnicodeEncodeError as exc:  # JSON may carry lone surrogates; no database takes them
        raise BadRequest(f"{table}: text is not valid Unicode: {exc}") from exc
    # The session's own connection: COPY joins the request's transaction and rolls back with it.
    dbapi = session.connection().connection.dbapi_connection
    assert dbapi is not None
    errors: Any = session.get_bind().dialect.dbapi
    cursor: Any = dbapi.cursor()  # psycopg2's cursor: copy_expert is not in the DBAPI protocol
    try:
        cursor.copy_expert(f"COPY {table} ({', '.join(columns)}) FROM STDIN", data)
    except errors.DataError as exc:
        raise BadRequest(f"{table}: value out of range: {str(exc).splitlines()[0]}") from exc
    except errors.IntegrityError as exc:
        raise Conflict(f"{table}: conflicts with stored data: {str(exc).splitlines()[0]}") from exc
    finally:
        cursor.close()


_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})
_escaped = methodcaller("translate", _ESCAPES)


def _json_text(value: Any) -> str:
    return json.dumps(value).translate(_ESCAPES)


def _timestamp_text(value: datetime) -> str:
    # A naive timestamp is UTC here (as UTCDateTime binds it), not the session's time zone.
    return value.isoformat() if value.tzinfo is not None else value.isoformat() + "+00:00"


def _bool_text(value: bool) -> str:
    return "t" if value else "f"


def _formatter(column: Any) -> Callable[[Any], str]:
    """How one column's values are written in COPY's text format.

    Chosen once per column from its type (C-level callables where possible): dispatching on
    every value's type was the larger part of a bulk insert's time.
    """
    kind = column.type.impl if isinstance(column.type, TypeDecorator) else column.type
    text: Callable[[Any], str]
    if isinstance(kind, Boolean):
        text = _bool_text
    elif isinstance(kind, Integer | Float):
        text = str
    elif isinstance(kind, DateTime):
        text = _timestamp_text
    elif isinstance(kind, JSON):
        text = _json_text
    else:
        text = _escaped
    if not column.nullable:
        return text
    return lambda value: "\\N" if value is None else text(value)
