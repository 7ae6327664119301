"""Test helpers for the DSS: a real server on loopback, a stand-in whoami, a flaky proxy."""

from __future__ import annotations

import errno
import json
import logging
import os
import socket
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, suppress
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import BinaryIO

from fastapi import FastAPI

from dss.backend import StorageBackend
from dss.config import DssConfig
from dss.posix import PosixBackend
from dss.server import create_app
from dss.static_tokens import StaticTokenVerifier
from dss.tokens import Identity, Role, token_digest
from sdc.demo.serving import serve_in_thread

READER = "reader-token"
FR_AGENT = "fr-agent-token"
ES_AGENT = "es-agent-token"
PLANNER = "planner-token"
ADMIN = "admin-token"

IDENTITIES = {
    READER: Identity("alice", Role.READER),
    FR_AGENT: Identity("agent-fr", Role.AGENT, "SDC-FR"),
    ES_AGENT: Identity("agent-es", Role.AGENT, "SDC-ES"),
    PLANNER: Identity("planner", Role.PLANNER),
    ADMIN: Identity("root", Role.ADMIN),
}


def known_tokens() -> StaticTokenVerifier:
    """A verifier knowing the five test tokens above."""
    return StaticTokenVerifier({token_digest(t): who for t, who in IDENTITIES.items()})


@contextmanager
def serving(app: FastAPI, http: str = "auto") -> Iterator[str]:
    """Run `app` under a real uvicorn (`http`: its HTTP implementation, "auto" or "h11") on a
    free loopback port; yield its base URL."""
    served = serve_in_thread(app, http=http)
    try:
        yield served.url
    finally:
        served.stop()


class Records(logging.Handler):
    """Every record a logger emits while attached."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def messages(self) -> list[str]:
        """What was logged, formatted."""
        return [record.getMessage() for record in self.records]


@contextmanager
def logged(name: str, level: int = logging.DEBUG) -> Iterator[Records]:
    """The records logger `name` emits at `level` or above while inside (in-process servers)."""
    handler, logger = Records(), logging.getLogger(name)
    before = logger.level
    logger.addHandler(handler)
    logger.setLevel(level)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.setLevel(before)


def posix_root(tmp_path: Path) -> Path:
    """A fresh directory for a posix DSS root."""
    (tmp_path / "root").mkdir()
    return tmp_path / "root"


def staged(root: Path) -> list[str]:
    """The uploads staged (not yet visible) under a posix DSS root."""
    return os.listdir(root / ".dss" / "tmp")


def visible(root: Path) -> list[str]:
    """Every file a posix DSS root shows (its bookkeeping under `.dss/` left out)."""
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if ".dss" not in p.parts)


def dss_for(
    backend: StorageBackend, site: str = "SDC-FR", http: str = "auto"
) -> AbstractContextManager[str]:
    """The DSS of `site` over `backend`, knowing the test tokens, served on loopback (`http`:
    uvicorn's HTTP implementation)."""
    app = create_app(DssConfig(site=site), backend=backend, verifier=known_tokens())
    return serving(app, http)


class WhoamiArchive:
    """TEST STAND-IN for the archive's `GET /api/v1/auth/whoami`, for answers the real archive
    never gives (an unknown role, a 503). Everything else is tested against the real archive
    (`tests/federation.py: archive_server`).

    `tokens` maps bearer tokens to the JSON the archive answers; `down` makes it answer 503;
    `calls` counts requests.
    """

    def __init__(self, tokens: dict[str, dict[str, object]]) -> None:
        self.tokens = tokens
        self.down = False
        self.calls = 0
        archive = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                archive.calls += 1
                token = self.headers.get("Authorization", "").removeprefix("Bearer ")
                if archive.down:
                    self._answer(503, {"detail": "down"})
                elif self.path != "/api/v1/auth/whoami":
                    self._answer(404, {"detail": "not found"})
                elif token in archive.tokens:
                    self._answer(200, archive.tokens[token])
                else:
                    self._answer(401, {"detail": "unknown token"})

            def _answer(self, status: int, body: dict[str, object]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> WhoamiArchive:
        threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


class FlakyProxy:
    """A TCP proxy to `target` that cuts the first `failures` connections after `cut_after`
    bytes from the server: a broken network, for resume and retry tests."""

    def __init__(self, target: str, *, failures: int, cut_after: int) -> None:
        host, port = target.removeprefix("http://").split(":")
        self._target = (host, int(port))
        self._failures = failures
        self._cut_after = cut_after
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self.connections = 0

    def __enter__(self) -> FlakyProxy:
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._listener.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            self.connections += 1
            limit = self._cut_after if self.connections <= self._failures else None
            upstream = socket.create_connection(self._target)
            threading.Thread(target=self._pipe, args=(client, upstream, None), daemon=True).start()
            threading.Thread(target=self._pipe, args=(upstream, client, limit), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket, limit: int | None) -> None:
        sent = 0
        try:
            while data := source.recv(65536):
                if limit is not None and sent + len(data) >= limit:
                    sink.sendall(data[: max(limit - sent, 0)])
                    break
                sink.sendall(data)
                sent += len(data)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                with suppress(OSError):
                    end.shutdown(socket.SHUT_RDWR)
                end.close()


class _FillsUp:
    """A staging file on a disk with `room` bytes left: then ENOSPC, as the kernel says it."""

    def __init__(self, stream: BinaryIO, room: int) -> None:
        self._stream = stream
        self._room = room

    def write(self, chunk: bytes) -> int:
        if len(chunk) > self._room:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        self._room -= len(chunk)
        return self._stream.write(chunk) or 0

    def __getattr__(self, name: str) -> object:
        return getattr(self._stream, name)


class NearlyFullPosix(PosixBackend):
    """The real POSIX backend whose filesystem has 1 MiB free (fault injected at write(2))."""

    def open_staging(self) -> tuple[Path, BinaryIO]:
        staging, stream = super().open_staging()
        return staging, _FillsUp(stream, 1024 * 1024)  # type: ignore[return-value]
