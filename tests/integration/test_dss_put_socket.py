"""Large PUTs, whose body the DSS reads off the socket (dss.socket_body), keep every guarantee
of the ASGI path: verified, all-or-nothing, 409/200, 422, 507, 408, truncation; and the
client's sendfile PUT (dss.raw_put)."""

from __future__ import annotations

import io
import logging
import os
import socket
import time
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from dss.checksums import checksums_of_chunks
from dss.client import StorageClient
from dss.client_errors import Forbidden, StorageFull
from dss.config import DssConfig
from dss.posix import PosixBackend
from dss.raw_put import SourceShrank, raw_put
from dss.server import create_app
from dss.socket_body import TAKEOVER_MIN
from tests.dss_fixtures import (
    ES_AGENT,
    FR_AGENT,
    NearlyFullPosix,
    dss_for,
    known_tokens,
    logged,
    posix_root,
    serving,
    staged,
    visible,
)

BIG = os.urandom(TAKEOVER_MIN * 2 + 12345)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A DSS root, served by `url` (or by a test's own DSS)."""
    return posix_root(tmp_path)


@pytest.fixture(params=["httptools", "h11"])
def url(root: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """The posix DSS over `root` on loopback, under each of uvicorn's HTTP implementations."""
    with dss_for(PosixBackend(root), http=request.param) as served:
        yield served


def put(url: str, path: str, data: bytes, adler32: str | None = None) -> requests.Response:
    headers = {
        "Authorization": f"Bearer {FR_AGENT}",
        "X-Checksum-Adler32": adler32 or f"{zlib.adler32(data):08x}",
    }
    return requests.put(f"{url}/api/v1/files/{path}", data=data, headers=headers, timeout=60)


def wait_until_unstaged(root: Path) -> None:
    deadline = time.monotonic() + 10
    while staged(root) and time.monotonic() < deadline:
        time.sleep(0.02)


def raw_put_head(url: str, path: str, length: int) -> tuple[socket.socket, bytes]:
    host, port = url.removeprefix("http://").split(":")
    raw = socket.create_connection((host, int(port)), timeout=10)
    head = (
        f"PUT /api/v1/files/{path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {FR_AGENT}\r\n"
        f"X-Checksum-Adler32: 00000001\r\nContent-Length: {length}\r\n\r\n"
    ).encode()
    return raw, head


def test_large_put_is_read_off_the_socket_and_closes_the_connection(
    url: str, root: Path, tmp_path: Path
) -> None:
    created = put(url, "big", BIG)
    assert created.status_code == 201, created.text
    assert created.headers["connection"] == "close"  # the socket path was taken
    assert (root / "big").read_bytes() == BIG
    assert created.json()["md5"] == checksums_of_chunks([BIG])[0].md5
    small = put(url, "small", b"s" * 1000)
    assert small.status_code == 201 and small.headers.get("connection") != "close"
    assert put(url, "big", BIG).status_code == 200  # same bytes: idempotent
    other = BIG[::-1]
    assert put(url, "big", other).status_code == 409
    StorageClient(url, FR_AGENT).get("big", tmp_path / "back")
    assert (tmp_path / "back").read_bytes() == BIG
    assert staged(root) == []


def test_large_put_with_wrong_checksum_is_422_and_leaves_nothing(url: str, root: Path) -> None:
    refused = put(url, "bad", BIG, adler32="00000001")
    assert refused.status_code == 422 and refused.headers["connection"] == "close"
    assert visible(root) == [] and staged(root) == []


def test_large_put_on_a_full_disk_is_507_and_leaves_nothing(root: Path) -> None:
    with dss_for(NearlyFullPosix(root)) as url:
        full = put(url, "big", BIG)
        assert full.status_code == 507 and "storage full" in full.json()["detail"]
        assert full.headers["connection"] == "close"
    assert visible(root) == [] and staged(root) == []


@pytest.mark.parametrize("reset", [False, True])
def test_client_gone_mid_body_leaves_nothing(url: str, root: Path, reset: bool) -> None:
    raw, head = raw_put_head(url, "cut", 4 * TAKEOVER_MIN)
    with raw:
        raw.sendall(head + BIG[: TAKEOVER_MIN + 100])
        deadline = time.monotonic() + 10
        while not staged(root) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert staged(root), "the upload should be staged while it streams"
        if reset:  # RST instead of FIN
            raw.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    wait_until_unstaged(root)
    assert staged(root) == [] and visible(root) == []


def test_large_body_that_stalls_is_408_and_leaves_nothing(root: Path) -> None:
    config = DssConfig(site="SDC-FR", body_idle_timeout_seconds=0.5)
    app = create_app(config, backend=PosixBackend(root), verifier=known_tokens())
    with serving(app) as url:
        raw, head = raw_put_head(url, "stalled", 4 * TAKEOVER_MIN)
        with raw:
            raw.sendall(head + BIG[: TAKEOVER_MIN // 2])
            answer = raw.recv(65536)
        assert answer.startswith(b"HTTP/1.1 408") and b"no bytes of the body" in answer
        assert b"connection: close" in answer.lower()
    assert staged(root) == [] and visible(root) == []


def test_client_puts_files_streams_and_pipes(url: str, root: Path, tmp_path: Path) -> None:
    source = tmp_path / "source.bin"
    source.write_bytes(BIG)
    dss = StorageClient(url, FR_AGENT)
    assert dss.put("from-file", source).size == len(BIG)  # sendfile
    assert dss.put("from-bytes", io.BytesIO(BIG)).size == len(BIG)  # 1 MiB sends
    read_end, write_end = os.pipe()
    with os.fdopen(write_end, "wb") as writer:
        writer.write(BIG[:60_000])
    with os.fdopen(read_end, "rb") as pipe:  # no length: chunked, checksums given
        dss.put("from-pipe", pipe, checksums=checksums_of_chunks([BIG[:60_000]])[0])
    for name, data in (("from-file", BIG), ("from-bytes", BIG), ("from-pipe", BIG[:60_000])):
        assert (root / name).read_bytes() == data


def test_client_refused_mid_upload_gets_the_reason(url: str, tmp_path: Path) -> None:
    source = tmp_path / "source.bin"
    source.write_bytes(BIG)
    with pytest.raises(Forbidden, match="may not write"):
        StorageClient(url, ES_AGENT, retries=0).put("nope", source)


def test_a_source_shorter_than_declared_is_refused_and_leaves_nothing(
    url: str, root: Path, tmp_path: Path
) -> None:
    source = tmp_path / "short.bin"
    source.write_bytes(BIG[:1000])
    headers = {"Authorization": f"Bearer {FR_AGENT}", "X-Checksum-Adler32": "00000001"}
    with logged("dss.server", logging.INFO) as log:
        with source.open("rb") as body, pytest.raises(SourceShrank, match="1000 of the 5000"):
            raw_put(f"{url}/api/v1/files/short", headers, body, 5000, (5, 10), "X-DSS-Error")
        # The DSS may not even have begun the upload yet: wait until it has dropped it.
        deadline = time.monotonic() + 10
        while not any("went away" in m for m in log.messages()) and time.monotonic() < deadline:
            time.sleep(0.01)
    assert any("went away" in m for m in log.messages())
    assert visible(root) == [] and staged(root) == []


def test_client_gets_storage_full_mid_upload(root: Path, tmp_path: Path) -> None:
    source = tmp_path / "source.bin"
    source.write_bytes(BIG)
    with (
        dss_for(NearlyFullPosix(root)) as url,
        pytest.raises(StorageFull, match="storage full"),
    ):
        StorageClient(url, FR_AGENT, retries=0).put("big", source)
    assert visible(root) == [] and staged(root) == []


def test_a_chunked_body_that_also_declares_a_length_is_never_read_as_raw_bytes(
    url: str, root: Path
) -> None:
    """Transfer-Encoding overrides Content-Length (RFC 9112 6.3): h11 reads such a body as
    chunked, so the socket must not be read as `Content-Length` raw bytes (chunk sizes and
    all). Stored as sent, or refused (httptools answers 400 and closes, maybe with a reset
    while the body is still coming): never other bytes."""
    host, port = url.removeprefix("http://").split(":")
    step = 1024 * 1024
    chunks = (BIG[i : i + step] for i in range(0, len(BIG), step))
    chunked = b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in chunks) + b"0\r\n\r\n"
    head = (
        f"PUT /api/v1/files/both HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {FR_AGENT}\r\n"
        f"X-Checksum-Adler32: {zlib.adler32(BIG):08x}\r\nContent-Length: {len(BIG)}\r\n"
        "Transfer-Encoding: chunked\r\n\r\n"
    ).encode()
    with socket.create_connection((host, int(port)), timeout=30) as raw:
        try:
            raw.sendall(head + chunked)
            answer = raw.recv(65536)
        except ConnectionError:
            answer = b""  # refused with a reset
    assert answer.startswith((b"HTTP/1.1 201", b"HTTP/1.1 400")) or answer == b"", answer
    if answer.startswith(b"HTTP/1.1 201"):
        assert (root / "both").read_bytes() == BIG
    else:
        assert visible(root) == []
    wait_until_unstaged(root)
    assert staged(root) == []


def test_stalled_large_puts_do_not_starve_the_other_requests(root: Path) -> None:
    """Each large PUT's body is read by a thread of its own for as long as the client takes:
    45 clients that stall after their first bytes must not take every worker thread the
    server's synchronous endpoints (health, GET, HEAD, token checks) wait for (anyio: 40)."""
    config = DssConfig(site="SDC-FR", body_idle_timeout_seconds=30)
    app = create_app(config, backend=PosixBackend(root), verifier=known_tokens())
    with serving(app) as url:
        stalled = []
        try:
            for i in range(45):
                raw, head = raw_put_head(url, f"stalled-{i}", 4 * TAKEOVER_MIN)
                raw.sendall(head + BIG[:1000])  # the rest is read off the socket, never sent
                stalled.append(raw)
            deadline = time.monotonic() + 20
            while len(staged(root)) < 45 and time.monotonic() < deadline:
                time.sleep(0.05)
            assert len(staged(root)) == 45
            time.sleep(0.5)  # each upload's reader now waits on its socket
            health = requests.get(f"{url}/api/v1/health", timeout=5)
            assert health.status_code == 200
        finally:
            for raw in stalled:
                raw.close()
        wait_until_unstaged(root)
    assert staged(root) == [] and visible(root) == []
