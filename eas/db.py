"""Engines and session factories for the archive database (SQLite or PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.orm import Session, sessionmaker

# The drivers this project installs: psycopg2 for PostgreSQL, the stdlib's sqlite3.
INSTALLED_DRIVERS = {"postgresql": "postgresql+psycopg2", "postgres": "postgresql+psycopg2"}


def archive_database_url(url: str) -> str:
    """`url` with the installed driver named where it names none: `postgresql://` and
    `postgres://` become `postgresql+psycopg2://` (SQLAlchemy would pick psycopg 3, which is
    not installed). ValueError when `url` is no database URL (not repeated: it may hold a
    password) or names a database the archive does not run on."""
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise ValueError(
            "not a database URL (such as postgresql://user@host/db or sqlite:///path/archive.sqlite)"
        ) from exc
    if parsed.drivername in INSTALLED_DRIVERS:
        parsed = parsed.set(drivername=INSTALLED_DRIVERS[parsed.drivername])
        url = parsed.render_as_string(hide_password=False)
    if parsed.get_backend_name() not in ("sqlite", "postgresql"):
        raise ValueError(
            f"the archive runs on PostgreSQL or SQLite, not {parsed.get_backend_name()!r}"
        )
    return url


def make_engine(url: str, **options: Any) -> Engine:
    """An engine for `url`; SQLite gets foreign keys on, WAL and a busy timeout."""
    if url.startswith("sqlite"):
        # Requests run in worker threads; each pooled connection is used by one at a time.
        engine = create_engine(url, connect_args={"check_same_thread": False}, **options)
        event.listen(engine, "connect", _sqlite_pragmas(in_memory=is_in_memory(url)))
        return engine
    # Recycling old connections instead of pinging on every checkout saves a round trip
    # per request; a connection the server dropped fails one request, not the pool.
    return create_engine(url, pool_recycle=1800, **options)


def is_in_memory(url: str) -> bool:
    """Whether `url` names a private in-memory SQLite database (one per connection)."""
    return url.startswith("sqlite") and (":memory:" in url or url == "sqlite://")


def _sqlite_pragmas(in_memory: bool) -> Any:
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=10000")
        if not in_memory:
            # WAL lets readers proceed while a writer holds the lock (server + CLI side by side).
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    return on_connect


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """A session factory whose sessions keep loaded objects usable after commit."""
    return sessionmaker(bind=engine, expire_on_commit=False)


@contextmanager
def transaction(sessions: sessionmaker[Session]) -> Iterator[Session]:
    """One unit of work: commit when the block ends, roll back if it raises."""
    session = sessions()
    try:
        yield session
    except BaseException:
        finish(session, commit=False)
        raise
    finish(session, commit=True)


def finish(session: Session, commit: bool) -> None:
    """End a unit of work: commit (or roll back) and close the session."""
    try:
        if commit:
            session.commit()
        else:
            session.rollback()
    finally:
        session.close()
