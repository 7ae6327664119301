"""The archive API application: `create_app(database_url, config)`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from sqlalchemy import Engine, event
from sqlalchemy.exc import DataError, IntegrityError

from eas.api.postgres_reads import PostgresReads
from eas.api.routes import auth, lineage, plans, products, replicas, sites, survey
from eas.api.tokens import TokenCache
from eas.config import ArchiveConfig
from eas.db import is_in_memory, make_engine, make_session_factory
from eas.errors import ArchiveError

API_PREFIX = "/api/v1"


def create_app(database_url: str, config: ArchiveConfig | None = None) -> FastAPI:
    """The archive API over the database at `database_url` (schema already migrated)."""
    config = config or ArchiveConfig()
    app = FastAPI(
        lifespan=_lifespan,
        title="SDC archive (EAS)",
        version="1",
        description="Central metadata archive: sites, survey, plans, products, replicas, lineage.",
    )
    options = {} if database_url.startswith("sqlite") else {"pool_size": config.pool_size}
    engine = make_engine(database_url, **options)
    app.state.engine = engine
    app.state.reader = _autocommit_twin(engine, database_url, options)
    app.state.sessions = make_session_factory(engine)
    app.state.config = config
    app.state.postgres_reads = None  # set while the lifespan runs (on PostgreSQL)
    app.state.token_cache = TokenCache(config.token_cache_seconds)
    for module in (products, lineage, auth, sites, survey, plans, replicas):
        app.include_router(module.router, prefix=API_PREFIX)
    app.add_api_route(API_PREFIX, _index, methods=["GET"], include_in_schema=False)
    app.add_exception_handler(ArchiveError, _archive_error)
    app.add_exception_handler(IntegrityError, _integrity_error)
    app.add_exception_handler(DataError, _out_of_range)
    app.add_exception_handler(OverflowError, _out_of_range)
    app.add_exception_handler(UnicodeEncodeError, _not_unicode)
    app.add_exception_handler(ValueError, _nul_character)
    return app


def _autocommit_twin(engine: Engine, database_url: str, options: dict[str, Any]) -> Engine:
    """An engine for single-statement reads: no BEGIN, no COMMIT, no per-request session.

    One SELECT is a transaction of its own; an explicit one only added two round trips and
    the session's bookkeeping to every read. It keeps its own pool (switching a pooled
    connection in and out of autocommit costs more than the read) and is disposed with
    `engine`, which the callers of `create_app` dispose.
    """
    if is_in_memory(database_url):
        return engine.execution_options(isolation_level="AUTOCOMMIT")  # a private database
    reader = make_engine(database_url, isolation_level="AUTOCOMMIT", **options)
    event.listen(engine, "engine_disposed", lambda _engine: reader.dispose())
    return reader


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    # Made here: its connections are waited for on the loop that serves the requests.
    postgres = PostgresReads.for_engine(app.state.reader, app.state.config.pool_size)
    app.state.postgres_reads = postgres
    try:
        yield
    finally:
        app.state.postgres_reads = None
        if postgres is not None:
            postgres.close()
        app.state.engine.dispose()  # close pooled connections when the server stops


async def _index() -> dict[str, str]:
    # The README says "API under /api/v1": `curl .../api/v1` answered 404 Not Found, as if
    # nothing were there. It needs no token (it tells how to send one) and shows no data.
    return {
        "api": "SDC archive (EAS)",
        "version": "1",
        "docs": "/docs",
        "openapi": "/openapi.json",
        "auth": "Authorization: Bearer <token> (sdc archive token create)",
    }


async def _archive_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ArchiveError)
    headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
    return JSONResponse({"detail": exc.detail}, status_code=exc.status, headers=headers)


async def _integrity_error(_request: Request, exc: Exception) -> JSONResponse:
    # A race the core's checks could not see (two writers at once): the database refused it.
    reason = str(getattr(exc, "orig", exc)).splitlines()[0]
    return JSONResponse({"detail": f"conflicts with stored data: {reason}"}, status_code=409)


async def _out_of_range(_request: Request, exc: Exception) -> JSONResponse:
    # A value the column cannot hold (an id beyond 64 bits): the caller's mistake, not ours.
    reason = str(getattr(exc, "orig", exc)).splitlines()[0]
    return JSONResponse({"detail": f"value out of range: {reason}"}, status_code=400)


async def _not_unicode(_request: Request, exc: Exception) -> JSONResponse:
    # JSON can carry lone surrogates (\ud800); no database can store them.
    return JSONResponse({"detail": f"text is not valid Unicode: {exc}"}, status_code=400)


async def _nul_character(_request: Request, exc: Exception) -> JSONResponse:
    # psycopg2 refuses to send text with NUL characters (PostgreSQL cannot store them); a
    # URL can carry one (%00). Any other ValueError is a bug: re-raised, it stays a 500.
    if "NUL (0x00)" not in str(exc):
        raise exc
    return JSONResponse({"detail": "text must not contain NUL (0x00) characters"}, status_code=400)
