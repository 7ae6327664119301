"""Request dependencies: one transaction per request, the caller's token, role checks."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Coroutine
from typing import Annotated, Any

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from eas.api.tokens import Principal, TokenCache, look_up
from eas.config import ArchiveConfig
from eas.db import finish
from eas.errors import Forbidden, Unauthorized


async def _session(request: Request) -> AsyncIterator[Session]:
    """A session whose transaction commits when the route returns and rolls back on error.

    Opening a session does no I/O, so only its end runs in a worker thread: one thread hop
    per request instead of two.
    """
    session = request.app.state.sessions()
    try:
        yield session
    except BaseException:
        await run_in_threadpool(finish, session, False)
        raise
    await run_in_threadpool(finish, session, True)


# "function" scope: the commit happens before the response leaves, so a client that got
# its 2xx can read its write at once, and a failing commit is still reported.
SessionDep = Annotated[Session, Depends(_session, scope="function")]


# Dependencies without I/O are `async def`: FastAPI runs sync ones in a worker thread each.
async def _config(request: Request) -> ArchiveConfig:
    config: ArchiveConfig = request.app.state.config
    return config


ConfigDep = Annotated[ArchiveConfig, Depends(_config)]


async def _read_engine(request: Request) -> Engine:
    engine: Engine = request.app.state.reader
    return engine


# For routes that answer with one SELECT: an autocommit engine, no session, no transaction.
ReadEngineDep = Annotated[Engine, Depends(_read_engine)]
_bearer = HTTPBearer(auto_error=False)


def require_site(principal: Principal, site: str | None) -> None:
    """Forbidden when an agent acts for a site other than its own."""
    if principal.role == "agent" and site != principal.site:
        raise Forbidden(f"an agent token of {principal.site} cannot act for {site}")


async def _principal(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthorized("a bearer token is required (Authorization: Bearer <token>)")
    cache: TokenCache = request.app.state.token_cache
    principal = cache.get(credentials.credentials)
    if principal is None:
        principal = await run_in_threadpool(
            look_up, request.app.state.sessions, credentials.credentials
        )
        if principal is None:
            raise Unauthorized("unknown or revoked token")
        cache.put(credentials.credentials, principal)
    return principal


PrincipalDep = Annotated[Principal, Depends(_principal)]


async def authenticate(request: Request) -> Principal:
    """The caller, for a route that checks the token itself rather than by dependency.

    For the measured product query: FastAPI's resolution of its dependencies cost ~60 µs a
    request, a sixth of the route's server time. Such a route declares `BEARER_SECURITY`
    for OpenAPI (the others get it from the `HTTPBearer` dependency).
    """
    return await _principal(request, await _bearer(request))


BEARER_SECURITY: dict[str, Any] = {"security": [{_bearer.scheme_name: []}]}


def allow(*roles: str) -> Callable[[Principal], Coroutine[None, None, Principal]]:
    """A dependency admitting only tokens with one of `roles`."""

    async def check(principal: PrincipalDep) -> Principal:
        if principal.role not in roles:
            raise Forbidden(f"role {principal.role} may not do this (needs {' or '.join(roles)})")
        return principal

    return check


Reader = PrincipalDep
Planner = Annotated[Principal, Depends(allow("planner", "admin"))]
Agent = Annotated[Principal, Depends(allow("agent", "admin"))]
SiteWriter = Annotated[Principal, Depends(allow("planner", "agent", "admin"))]
