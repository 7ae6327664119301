"""ArchiveClient against a real uvicorn server on a loopback port."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
import requests
import uvicorn
from sqlalchemy.orm import Session, sessionmaker

from eas.api import create_app
from eas.client import ArchiveClient
from eas.errors import ArchiveError, BadRequest, Conflict, Forbidden, NotFound, Unauthorized
from eas.schemas import LineageIn, ReplicaIn, TileIn
from tests import archive_support
from tests.archive_support import observation, product, seed

archive_url = archive_support.archive_url
sessions = archive_support.sessions
sqlite_template = archive_support.sqlite_template
pg_archive_url = archive_support.pg_archive_url


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def served(
    archive_url: str, sessions: sessionmaker[Session]
) -> Iterator[tuple[str, dict[str, str]]]:
    """A live archive server and tokens per role."""
    tokens = seed(sessions)
    app = create_app(archive_url)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    yield f"http://127.0.0.1:{port}", tokens
    server.should_exit = True
    thread.join(10)
    app.state.engine.dispose()


def test_client_round_trip_and_typed_errors(served: tuple[str, dict[str, str]]) -> None:
    url, tokens = served
    with (
        ArchiveClient(url, tokens["planner"]) as planner,
        ArchiveClient(url, tokens["agent_fr"]) as agent,
    ):
        assert agent.whoami().site == "SDC-FR"
        assert len(planner.list_sites()) == 9
        assert (
            planner.add_observations([observation(i, hours=i) for i in range(50)], batch_size=20)
            == 50
        )
        # Batches travel in parallel; the failing one (a stored id) is the error raised.
        clash = [observation(i, hours=i) for i in (100, 101, 102, 3, 104)]
        with pytest.raises(Conflict, match="already stored: 3"):
            planner.add_observations(clash, batch_size=2, parallel=3)
        assert (
            planner.add_tiles([TileIn(tile_id=1, ra=10, dec=0, radius_deg=1, obs_ids=[1, 2])]) == 1
        )
        assert planner.get_tile(1).obs_ids == [1, 2]
        assert [o.obs_id for o in planner.query_observations(ra=10, dec=0, radius=0.1)][:3] == [
            0,
            1,
            2,
        ]
        for i in range(7):
            agent.register_product(product(f"p{i}", "CALIBRATED_FRAME", obs_id=1))
        again = agent.register_product(product("p0", "CALIBRATED_FRAME", obs_id=1))
        assert again.product_id == "p0"
        assert [
            p.product_id for p in planner.iter_products(type="CALIBRATED_FRAME", obs_id=1, limit=3)
        ] == [f"p{i}" for i in range(7)]
        replica = agent.add_replica("p0", ReplicaIn(site="SDC-FR", url="dss://fr/p0"))
        assert agent.set_replica_state(replica.id, "BAD").state == "BAD"
        job = agent.record_lineage(LineageIn(pipeline="stack", used=["p0", "p1"], generated=["p2"]))
        assert agent.record_lineage(LineageIn(job_id=job, used=["p0"], generated=["p2"])) == job
        assert {n.product_id for n in planner.lineage("p2").nodes} == {"p0", "p1"}

        with pytest.raises(NotFound):
            planner.get_product("nope")
        with pytest.raises(Conflict, match="different checksum"):
            agent.register_product(product("p0", "CALIBRATED_FRAME", obs_id=1, adler32="ffffffff"))
        with pytest.raises(Forbidden):
            agent.add_replica("p0", ReplicaIn(site="SDC-DE", url="dss://de/p0"))
        with pytest.raises(Forbidden):
            planner.register_product(product("p9"))
        with pytest.raises(BadRequest, match="unknown observation"):
            planner.add_tiles([TileIn(tile_id=2, ra=1, dec=1, radius_deg=1, obs_ids=[999])])
        with pytest.raises(BadRequest, match="ra"):
            planner.query_observations(ra=500, dec=0, radius=1)
    with ArchiveClient(url, "wrong") as stranger, pytest.raises(Unauthorized):
        stranger.whoami()


def test_idempotent_calls_retry_then_give_up_on_a_dead_server() -> None:
    url = f"http://127.0.0.1:{_free_port()}"
    with (
        ArchiveClient(url, "t", retries=2, backoff=0.01) as client,
        pytest.raises(requests.ConnectionError),
    ):
        client.whoami()


class _FlakyHandler(BaseHTTPRequestHandler):
    """Answers 503 until `failures` requests were refused, then a valid whoami."""

    failures = 2
    seen: list[str] = []

    def _answer(self) -> None:
        self.seen.append(self.command)
        if len(self.seen) <= self.failures:
            self.send_response(503)
            self.end_headers()
            return
        body = json.dumps({"name": "x", "role": "reader", "site": None}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _answer

    def log_message(self, *args: object) -> None:
        pass


def test_5xx_is_retried_for_idempotent_calls_only() -> None:
    server = HTTPServer(("127.0.0.1", 0), _FlakyHandler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}"
    try:
        with ArchiveClient(url, "t", retries=3, backoff=0.01) as client:
            assert client.whoami().name == "x"
            assert _FlakyHandler.seen == ["GET", "GET", "GET"]
            _FlakyHandler.seen.clear()
            with pytest.raises(ArchiveError, match="503"):
                client.add_tiles([])
            assert _FlakyHandler.seen == ["POST"]
    finally:
        server.shutdown()
        server.server_close()
