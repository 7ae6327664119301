"""`ArchiveTokenVerifier` against the real archive under uvicorn: identities, cache, outage."""

from __future__ import annotations

import io
from collections.abc import Awaitable, Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi import FastAPI, Request, Response

from dss.archive_tokens import ArchiveTokenVerifier
from dss.client import StorageClient
from dss.client_errors import Unavailable
from dss.config import DssConfig
from dss.posix import PosixBackend
from dss.server import create_app
from dss.tokens import Access, Identity, Role, VerifierUnavailable
from tests import archive_support
from tests.dss_fixtures import serving
from tests.federation import archive_server, sqlite_sessions

sqlite_template = archive_support.sqlite_template


@dataclass
class Archive:
    url: str
    tokens: dict[str, str]
    calls: list[str]
    stack: ExitStack

    def stop(self) -> None:
        """Shut the archive down, as an outage would."""
        self.stack.close()


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def archive(sqlite_template: Path, tmp_path: Path) -> Iterator[Archive]:
    with ExitStack() as stack:
        url, sessions = stack.enter_context(sqlite_sessions(sqlite_template, tmp_path))
        calls: list[str] = []

        def count_calls(app: FastAPI) -> None:
            @app.middleware("http")
            async def count(request: Request, call: Callable[..., Awaitable[Response]]) -> Response:
                calls.append(request.url.path)
                return await call(request)

        server = stack.enter_context(ExitStack())
        base, tokens = server.enter_context(archive_server(sessions, url, count_calls))
        yield Archive(base, tokens, calls, server)


def test_identities_come_from_the_real_archive(archive: Archive) -> None:
    verifier = ArchiveTokenVerifier(archive.url, ttl=30, clock=Clock())
    t = archive.tokens
    assert verifier.identify(t["agent_fr"], Access.WRITE) == Identity(
        "agent_fr", Role.AGENT, "SDC-FR"
    )
    assert verifier.identify(t["reader"], Access.READ) == Identity("reader", Role.READER)
    assert verifier.identify(t["planner"], Access.READ) == Identity("planner", Role.PLANNER)
    assert verifier.identify(t["admin"], Access.WRITE) == Identity("admin", Role.ADMIN)
    assert verifier.identify("sdc_not-a-token", Access.READ) is None


def test_answers_are_cached_for_the_ttl(archive: Archive) -> None:
    clock = Clock()
    verifier = ArchiveTokenVerifier(archive.url, ttl=30, clock=clock)
    for _ in range(3):
        verifier.identify(archive.tokens["agent_fr"], Access.READ)
        assert verifier.identify("sdc_unknown", Access.READ) is None
    assert archive.calls == ["/api/v1/auth/whoami"] * 2
    clock.now += 31
    verifier.identify(archive.tokens["agent_fr"], Access.READ)
    assert len(archive.calls) == 3


def test_an_archive_outage_keeps_reads_and_stops_writes(archive: Archive) -> None:
    clock = Clock()
    verifier = ArchiveTokenVerifier(archive.url, ttl=30, outage_grace=600, timeout=2, clock=clock)
    agent = archive.tokens["agent_fr"]
    known = verifier.identify(agent, Access.WRITE)
    archive.stop()
    clock.now += 60
    assert verifier.identify(agent, Access.READ) == known
    with pytest.raises(VerifierUnavailable, match="unreachable"):
        verifier.identify(agent, Access.WRITE)
    with pytest.raises(VerifierUnavailable):  # never seen: cannot be told, not "unknown"
        verifier.identify(archive.tokens["reader"], Access.READ)
    clock.now += 600
    with pytest.raises(VerifierUnavailable):
        verifier.identify(agent, Access.READ)


def test_a_dss_keeps_serving_reads_through_an_archive_outage(
    archive: Archive, tmp_path: Path
) -> None:
    # ttl ~0: every request asks the archive, so the outage is felt at once
    verifier = ArchiveTokenVerifier(archive.url, ttl=1e-9, outage_grace=600, timeout=2)
    backend = PosixBackend(tmp_path / "SDC-FR")
    agent = archive.tokens["agent_fr"]
    with serving(create_app(DssConfig(site="SDC-FR"), backend=backend, verifier=verifier)) as url:
        StorageClient(url, agent).put("f", io.BytesIO(b"x"))
        archive.stop()
        assert StorageClient(url, agent).stat("f").size == 1
        with pytest.raises(Unavailable, match="503"):
            StorageClient(url, agent, retries=0).put("g", io.BytesIO(b"y"))
        with pytest.raises(Unavailable, match="503"):  # cannot be told: not a 401
            StorageClient(url, archive.tokens["reader"], retries=0).stat("f")
