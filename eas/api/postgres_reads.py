"""Single-statement PostgreSQL reads on the event loop, with psycopg2's asynchronous mode."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import psycopg2
from psycopg2.extensions import POLL_OK, POLL_READ, QueryCanceledError
from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError

from eas.driver_statements import DriverStatement


class PostgresReads:
    """Up to `size` asynchronous psycopg2 connections, each used by one request at a time.

    A route must not block the event loop, so a blocking driver call needs a worker thread,
    and handing the call to it and the answer back cost ~200 µs of CPU per product query:
    more than the query and SQLAlchemy together. psycopg2's asynchronous mode sends the
    statement and lets the loop wait for the socket instead, like any other I/O. Its
    connections are always in autocommit: one statement is one transaction, all a read
    needs. A connection that failed or was interrupted is closed, not reused; a warm
    connection found dropped (server restart, idle timeout) is replaced and the read sent
    again on the new one, so the request does not fail. Build it on the loop that serves
    (the app's lifespan); `close()` at the end.
    """

    def __init__(self, connect: Callable[[], Any], size: int) -> None:
        self._connect = connect
        # A slot holds an idle connection, or None where none was opened yet (or one was
        # dropped); last in, first out, so a quiet server reuses its warm connections.
        self._slots: asyncio.LifoQueue[Any] = asyncio.LifoQueue()
        for _ in range(size):
            self._slots.put_nowait(None)

    @classmethod
    def for_engine(cls, engine: Engine, size: int) -> PostgresReads | None:
        """Reads on `engine`'s database, if it is PostgreSQL through psycopg2; else None."""
        if engine.dialect.name != "postgresql" or engine.dialect.driver != "psycopg2":
            return None
        args, options = engine.dialect.create_connect_args(engine.url)
        return cls(lambda: psycopg2.connect(*args, **options, async_=True), size)

    async def fetch(
        self, statement: DriverStatement, values: Mapping[str, Any]
    ) -> list[dict[str, Any]]:
        """The rows of `statement` with `values`, as `statement.records` gives them.

        A statement with a `prepared` form is prepared once per connection and executed
        by name. Driver errors are raised as SQLAlchemy's (`DataError`, ...), like the
        engine's.
        """
        parameters = statement.parameters(values)
        link = await self._slots.get()
        rows: list[Any] = []
        try:
            if link is not None:
                try:
                    rows = await link.run(statement, parameters)
                except (psycopg2.OperationalError, psycopg2.InterfaceError) as exc:
                    if isinstance(exc, QueryCanceledError):
                        raise
                    # an idle connection the server (or a firewall) dropped: the read is
                    # safe to send again, on a new connection
                    link.connection.close()
                    link = None
            if link is None:
                link = _Link(self._connect())
                await _settled(link.connection)
                rows = await link.run(statement, parameters)
        except BaseException as exc:
            if link is not None:
                link.connection.close()
                link = None
            if isinstance(exc, psycopg2.Error):
                raise DBAPIError.instance(statement.sql, parameters, exc, psycopg2.Error) from exc
            raise
        finally:
            self._slots.put_nowait(link)
        return statement.records(rows)

    def close(self) -> None:
        """Close the idle connections (call when the server stops)."""
        while not self._slots.empty():
            link = self._slots.get_nowait()
            if link is not None:
                link.connection.close()


@dataclass
class _Link:
    """One asynchronous connection and the statements prepared on it (they live as long)."""

    connection: Any
    prepared: set[str] = field(default_factory=set)

    async def run(self, statement: DriverStatement, parameters: dict[str, Any]) -> list[Any]:
        """The rows of `statement`, prepared first if it has a prepared form."""
        cursor = self.connection.cursor()
        try:
            plan = statement.prepared
            if plan is not None and plan.name not in self.prepared:
                cursor.execute(plan.prepare_sql)
                await _settled(self.connection)
                self.prepared.add(plan.name)
            cursor.execute(statement.sql if plan is None else plan.execute_sql, parameters)
            await _settled(self.connection)
            return list(cursor.fetchall())
        finally:
            cursor.close()


async def _settled(connection: Any) -> None:
    """Wait on the event loop until `connection` has finished connecting or executing."""
    loop = asyncio.get_running_loop()
    while (state := connection.poll()) != POLL_OK:
        ready = loop.create_future()

        def wake(ready: asyncio.Future[None] = ready) -> None:
            if not ready.done():
                ready.set_result(None)

        descriptor = connection.fileno()
        if state == POLL_READ:
            loop.add_reader(descriptor, wake)
            try:
                await ready
            finally:
                loop.remove_reader(descriptor)
        else:  # POLL_WRITE: the statement has not all been sent yet
            loop.add_writer(descriptor, wake)
            try:
                await ready
            finally:
                loop.remove_writer(descriptor)
