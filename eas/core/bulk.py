"""Bulk inserts: COPY on PostgreSQL (inside the caller's transaction), executemany elsewhere."""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from eas.errors import BadRequest, Conflict
from eas.models import Base

CHUNK = 5000


def insert_rows(session: Session, model: type[Base], rows: Sequence[dict[str, Any]]) -> None:
    """Insert `rows` (dicts keyed by column name) into `model`'s table without committing."""
    if not rows:
        return
    if session.get_bind().dialect.name == "postgresql":
        _copy(session, model.__tablename__, rows)
        return
    for offset in range(0, len(rows), CHUNK):
        session.execute(insert(model), rows[offset : offset + CHUNK])


def _copy(session: Session, table: str, rows: Sequence[dict[str, Any]]) -> None:
    columns = list(rows[0])
    buffer = io.StringIO()
    buffer.writelines("\t".join(_copy_text(row[c]) for c in columns) + "\n" for row in rows)
    buffer.seek(0)
    # The session's own connection: COPY joins the request's transaction and rolls back with it.
    dbapi = session.connection().connection.dbapi_connection
    assert dbapi is not None
    errors: Any = session.get_bind().dialect.dbapi
    cursor: Any = dbapi.cursor()  # psycopg2's cursor: copy_expert is not in the DBAPI protocol
    try:
        cursor.copy_expert(f"COPY {table} ({', '.join(columns)}) FROM STDIN", buffer)
    except errors.DataError as exc:
        raise BadRequest(f"{table}: value out of range: {str(exc).splitlines()[0]}") from exc
    except errors.IntegrityError as exc:
        raise Conflict(f"{table}: conflicts with stored data: {str(exc).splitlines()[0]}") from exc
    finally:
        cursor.close()


_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _copy_text(value: Any) -> str:
    """One value in COPY's text format."""
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict | list):
        return json.dumps(value).translate(_ESCAPES)
    return str(value).translate(_ESCAPES)
