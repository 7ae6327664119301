"""Reads on the event loop (psycopg2's asynchronous mode) against the real PostgreSQL.

They must return what SQLAlchemy's execution returns, bound a pool's connections, prepare a
repeating statement once per connection, and survive errors and cancelled requests.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

import psycopg2
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, column, func, literal, literal_column, select, table
from sqlalchemy.exc import DataError

from eas.api import create_app
from eas.api.postgres_reads import PostgresReads
from eas.core import products as core
from eas.db import make_engine, make_session_factory, transaction
from eas.driver_statements import compile_for_driver
from eas.models import DataProduct, Observation
from tests import archive_support
from tests.archive_support import EPOCH, observation, product

pg_archive_url = archive_support.pg_archive_url
archive_url = archive_support.archive_url


# psycopg2's asynchronous mode is PostgreSQL's: the archive's fixture on that backend only.
on_postgres = pytest.mark.parametrize("archive_url", ["postgresql"], indirect=True)


@pytest.fixture
def engine(archive_url: str) -> Engine:
    """The empty test archive with observation 7 and its products p0..p4."""
    engine = make_engine(archive_url)
    with transaction(make_session_factory(engine)) as session:
        session.add(Observation(**observation(7).model_dump()))
        session.flush()
        for i in range(5):
            row = product(f"p{i}", "RAW_FRAME", obs_id=7, metadata={"band": "VIS", "n": i})
            values = row.model_dump(exclude={"metadata"})
            session.add(DataProduct(**values, product_metadata=row.metadata, created=EPOCH))
    return engine


class CountingReads:
    """A pool whose connections are counted as they are opened."""

    def __init__(self, engine: Engine, size: int) -> None:
        args, options = engine.dialect.create_connect_args(engine.url)
        self.opened = 0

        def connect() -> Any:
            self.opened += 1
            return psycopg2.connect(*args, **options, async_=True)

        self.reads = PostgresReads(connect, size)


@on_postgres
def test_rows_are_what_sqlalchemy_returns(engine: Engine) -> None:
    wanted = core.ProductFilter(
        product_type="RAW_FRAME", obs_id=7, created_from=datetime(2000, 1, 1)
    )
    with engine.connect() as connection:
        expected = core.query_product_rows(connection, wanted, None, 3)
    statement, values = core.driver_page_statement(engine.dialect, wanted, None, 3)
    assert statement.prepared is not None  # a repeating statement, prepared on first use
    reads = PostgresReads.for_engine(engine, 2)
    assert reads is not None

    async def pages() -> list[Any]:
        first = core.page_of(await reads.fetch(statement, values), 3)
        again = core.page_of(await reads.fetch(statement, values), 3)
        meta = core.ProductFilter(metadata={"n": 4})
        one_off, meta_values = core.driver_page_statement(engine.dialect, meta, None, 3)
        assert one_off.prepared is None
        return [first, again, core.page_of(await reads.fetch(one_off, meta_values), 3)]

    first, again, by_metadata = asyncio.run(pages())
    reads.close()
    assert first == again == expected and first[1] is not None
    assert [row["product_id"] for row in by_metadata[0]] == ["p4"]
    assert first[0][0]["created"] == EPOCH and first[0][0]["metadata"] == {"band": "VIS", "n": 0}
    engine.dispose()


@on_postgres
def test_a_pool_holds_at_most_its_size_and_prepares_once_per_connection(engine: Engine) -> None:
    counting = CountingReads(engine, size=2)
    nap = compile_for_driver(select(func.pg_sleep(0.05).label("slept")), engine.dialect, "eas_nap")
    prepared = table("pg_prepared_statements", column("name"))
    listed = compile_for_driver(select(prepared.c.name), engine.dialect)

    async def run() -> list[Any]:
        await asyncio.gather(*(counting.reads.fetch(nap, {}) for _ in range(6)))
        return await counting.reads.fetch(listed, {})

    names = asyncio.run(run())
    counting.reads.close()
    assert counting.opened == 2
    assert names == [{"name": "eas_nap"}]
    engine.dispose()


@on_postgres
def test_a_failed_or_cancelled_read_drops_its_connection_not_the_pool(engine: Engine) -> None:
    counting = CountingReads(engine, size=1)
    broken = compile_for_driver(select(literal_column("1 / 0").label("x")), engine.dialect)
    slow = compile_for_driver(select(func.pg_sleep(5).label("slept")), engine.dialect)
    one = compile_for_driver(select(literal(1).label("one")), engine.dialect)

    async def run() -> list[Any]:
        with pytest.raises(DataError, match="division by zero"):
            await counting.reads.fetch(broken, {})
        waiting = asyncio.ensure_future(counting.reads.fetch(slow, {}))
        await asyncio.sleep(0.2)
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        return await asyncio.wait_for(counting.reads.fetch(one, {}), 10)

    assert asyncio.run(run()) == [{"one": 1}]
    counting.reads.close()
    assert counting.opened == 3
    engine.dispose()


@on_postgres
def test_a_warm_connection_the_server_dropped_is_replaced_without_failing_the_read(
    engine: Engine,
) -> None:
    counting = CountingReads(engine, size=1)
    backend = compile_for_driver(select(func.pg_backend_pid().label("pid")), engine.dialect)

    async def run() -> tuple[int, int]:
        first = (await counting.reads.fetch(backend, {}))[0]["pid"]
        with engine.connect() as admin:  # as a server restart or an idle timeout would
            admin.execute(select(func.pg_terminate_backend(first)))
        second = (await counting.reads.fetch(backend, {}))[0]["pid"]
        return first, second

    first, second = asyncio.run(run())
    counting.reads.close()
    assert first != second and counting.opened == 2
    engine.dispose()


def test_only_named_parameter_drivers_are_compiled_for() -> None:
    sqlite = make_engine("sqlite://")
    with pytest.raises(ValueError, match="by position"):
        compile_for_driver(select(literal(1).label("one")).where(literal(1) == 1), sqlite.dialect)
    assert PostgresReads.for_engine(sqlite, 2) is None


@on_postgres
def test_the_app_reads_products_on_the_loop_while_it_serves(
    engine: Engine, archive_url: str
) -> None:
    secret = archive_support.mint(make_session_factory(engine), ("r", "reader", None))["r"]
    app = create_app(archive_url)
    assert app.state.postgres_reads is None  # made by the lifespan, on the serving loop
    with TestClient(app) as http:
        assert isinstance(app.state.postgres_reads, PostgresReads)
        page = http.get(
            "/api/v1/products",
            params={"obs_id": 7, "limit": 2},
            headers={"Authorization": f"Bearer {secret}"},
        )
        assert [row["product_id"] for row in page.json()["items"]] == ["p0", "p1"]
    assert app.state.postgres_reads is None
    engine.dispose()
