"""Large GETs, whose body the DSS sends with sendfile(2) on the connection taken from uvicorn
(dss.raw_send), answer exactly as FileResponse would: whole files, ranges, 416, HEAD; and a
client that goes away, stalls or is cut off mid-body is handled (dropped, or resumed)."""

from __future__ import annotations

import logging
import os
import socket
import time
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from fastapi import FastAPI
from starlette.types import Message, Receive, Scope, Send

from dss.checksums import checksums_of_chunks
from dss.client import StorageClient
from dss.config import DssConfig
from dss.posix import PosixBackend
from dss.raw_send import SEND_MIN
from dss.responses import LargeChunkFileResponse
from dss.server import create_app
from tests.dss_fixtures import (
    FR_AGENT,
    READER,
    FlakyProxy,
    known_tokens,
    logged,
    posix_root,
    serving,
)

BIG = os.urandom(SEND_MIN * 2 + 12345)
AUTH = {"Authorization": f"Bearer {READER}"}


@pytest.fixture
def uvicorn_errors() -> Iterator[list[logging.LogRecord]]:
    """What uvicorn logs as errors (an answer it thinks unfinished, an exception)."""
    with logged("uvicorn.error") as handler:
        yield handler.records


def dss(root: Path, idle_seconds: float = 120.0) -> FastAPI:
    config = DssConfig(site="SDC-FR", body_idle_timeout_seconds=idle_seconds)
    return create_app(config, backend=PosixBackend(root), verifier=known_tokens())


@pytest.fixture(params=["httptools", "h11"])
def url(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """A posix DSS holding BIG at `big` and 1000 bytes at `small`, under each of uvicorn's
    HTTP implementations (the connection is taken from either)."""
    with serving(dss(posix_root(tmp_path)), http=request.param) as served:
        client = StorageClient(served, FR_AGENT)
        client.put("big", _write(tmp_path / "big.bin", BIG))
        client.put("small", _write(tmp_path / "small.bin", b"s" * 1000))
        yield served


def _write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def get(url: str, path: str, **headers: str) -> requests.Response:
    return requests.get(f"{url}/api/v1/files/{path}", headers=AUTH | headers, timeout=30)


def raw_get_head(url: str, path: str, rcvbuf: int | None = None) -> tuple[socket.socket, bytes]:
    """A connected socket that sent `GET path` (a small receive buffer, if given) and the
    answer's head (with whatever body bytes came along with it)."""
    host, port = url.removeprefix("http://").split(":")
    raw = socket.socket()
    if rcvbuf is not None:
        raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    raw.settimeout(10)
    raw.connect((host, int(port)))
    request = f"GET /api/v1/files/{path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {READER}\r\n"
    raw.sendall(request.encode() + b"\r\n")
    head = raw.recv(4096)
    return raw, head


def test_large_get_is_sent_with_sendfile_and_closes_the_connection(
    url: str, uvicorn_errors: list[logging.LogRecord]
) -> None:
    whole = get(url, "big")
    assert whole.status_code == 200 and whole.content == BIG
    assert whole.headers["connection"] == "close"  # the sendfile path was taken
    assert whole.headers["content-length"] == str(len(BIG))
    sums = checksums_of_chunks([BIG])[0]
    assert whole.headers["x-checksum-adler32"] == sums.adler32 == f"{zlib.adler32(BIG):08x}"
    assert whole.headers["x-checksum-md5"] == sums.md5
    assert {"date", "server", "etag", "last-modified", "accept-ranges"} <= set(whole.headers)
    small = get(url, "small")
    assert small.content == b"s" * 1000 and small.headers.get("connection") != "close"
    head = requests.head(f"{url}/api/v1/files/big", headers=AUTH, timeout=30)
    assert (
        head.headers["content-length"] == str(len(BIG))
        and head.headers.get("connection") != "close"
    )
    assert uvicorn_errors == []


@pytest.mark.parametrize(
    ("header", "start", "end"),
    [
        ("bytes=100-", 100, len(BIG)),
        ("bytes=0-", 0, len(BIG)),  # the whole file, still a 206 as FileResponse answers
        ("bytes=5-5000000", 5, 5000001),
        (f"bytes=-{SEND_MIN}", len(BIG) - SEND_MIN, len(BIG)),
    ],
)
def test_large_ranges_are_sent_with_sendfile(url: str, header: str, start: int, end: int) -> None:
    part = get(url, "big", Range=header)
    assert part.status_code == 206 and part.headers["connection"] == "close"
    assert part.content == BIG[start:end]
    assert part.headers["content-range"] == f"bytes {start}-{end - 1}/{len(BIG)}"
    assert part.headers["x-checksum-adler32"] == f"{zlib.adler32(BIG):08x}"  # the whole file's


def test_other_ranges_stay_with_file_response(url: str) -> None:
    short = get(url, "big", Range="bytes=0-99")
    assert short.status_code == 206 and short.content == BIG[:100]
    assert short.headers.get("connection") != "close"
    past = get(url, "big", Range=f"bytes={len(BIG)}-")
    assert past.status_code == 416 and past.headers["content-range"] == f"bytes */{len(BIG)}"
    several = get(url, "big", Range="bytes=0-9,20-29")
    assert several.status_code == 206 and b"multipart" in several.headers["content-type"].encode()


def test_client_resumes_a_large_get_cut_mid_body(url: str, tmp_path: Path) -> None:
    with FlakyProxy(url, failures=3, cut_after=SEND_MIN + 1000) as proxy:
        client = StorageClient(proxy.url, READER, retries=3, backoff_seconds=0.01)
        stat = client.get("big", tmp_path / "back", verify_md5=True)
    assert (tmp_path / "back").read_bytes() == BIG and stat.size == len(BIG)


@pytest.mark.parametrize("reset", [False, True])
def test_client_gone_mid_body_leaves_the_dss_serving(
    url: str, reset: bool, uvicorn_errors: list[logging.LogRecord]
) -> None:
    raw, head = raw_get_head(url, "big", rcvbuf=65536)
    with raw:
        assert head.startswith(b"HTTP/1.1 200")
        if reset:
            raw.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    time.sleep(0.2)
    assert get(url, "big").content == BIG
    assert uvicorn_errors == []


def test_a_client_that_stops_reading_is_dropped(tmp_path: Path) -> None:
    root = posix_root(tmp_path)
    (root / "big").write_bytes(BIG)
    with serving(dss(root, idle_seconds=0.5)) as url:
        raw, head = raw_get_head(url, "big", rcvbuf=65536)
        with raw:
            assert head.startswith(b"HTTP/1.1 200")
            time.sleep(2)  # the socket buffers fill, then nothing moves for 0.5 s
            received = len(head)
            try:
                while chunk := raw.recv(1 << 20):
                    received += len(chunk)
            except ConnectionResetError:
                pass
        assert received < len(BIG)  # dropped, not finished
        assert get(url, "big").content == BIG  # and the DSS goes on serving


def test_a_file_shorter_than_announced_ends_the_connection_early(tmp_path: Path) -> None:
    path = _write(tmp_path / "shrunk.bin", BIG)
    grown = list(os.stat(path))
    grown[6] = len(BIG) + SEND_MIN  # st_size: the file "shrank" after it was stat-ed
    announced = os.stat_result(grown)
    app = FastAPI()

    @app.get("/shrunk")
    def shrunk() -> LargeChunkFileResponse:
        return LargeChunkFileResponse(path, headers={}, stat_result=announced, idle_seconds=5)

    with serving(app) as url:
        answer = requests.get(f"{url}/shrunk", timeout=30, stream=True)
        assert answer.headers["connection"] == "close"  # the sendfile path
        with pytest.raises(requests.exceptions.ChunkedEncodingError):
            answer.content  # noqa: B018 (reading is the point)


def read_answer(raw: socket.socket, got: bytes) -> tuple[bytes, bytes, bytes]:
    """The head and the body (its Content-Length bytes) of the answer whose first bytes are
    `got`, read off `raw`, and whatever came after them; raises when the connection is reset
    or closed before the end of the body."""
    while b"\r\n\r\n" not in got:
        more = raw.recv(65536)
        assert more, f"closed before the end of the head: {got!r}"
        got += more
    head, _, body = got.partition(b"\r\n\r\n")
    length = next(
        int(line.split(b":", 1)[1])
        for line in head.lower().split(b"\r\n")
        if line.startswith(b"content-length:")
    )
    while len(body) < length:
        more = raw.recv(1 << 20)
        assert more, f"closed after {len(body)} of {length} body bytes"
        body += more
    return head, body[:length], body[length:]


def test_a_request_pipelined_behind_a_large_get_does_not_cut_its_body(url: str) -> None:
    """The pipelined request waits unread in the socket; closing a socket with unread bytes
    makes the kernel send a reset and drop what it has not sent yet (the body's tail)."""
    raw, got = raw_get_head(url, "big", rcvbuf=65536)
    with raw:
        time.sleep(0.3)  # the DSS sends the body; the socket buffers fill
        request = f"GET /api/v1/files/small HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {READER}"
        raw.sendall(request.encode() + b"\r\n\r\n")
        time.sleep(0.3)  # the second request is in the DSS's socket, unread
        head, body, _ = read_answer(raw, got)
        assert head.startswith(b"HTTP/1.1 200") and b"connection: close" in head.lower()
        assert body == BIG


def test_without_the_servers_transport_large_bodies_stay_on_the_asgi_path(tmp_path: Path) -> None:
    """A server (or a middleware) whose `receive` is not uvicorn's request cycle: large GETs
    and PUTs fall back to the ASGI path, whole and keeping the connection alive."""
    root = posix_root(tmp_path)
    (root / "big").write_bytes(BIG)
    app = dss(root)

    async def hiding(scope: Scope, receive: Receive, send: Send) -> None:
        async def plain_receive() -> Message:  # a function: no `__self__.transport`
            return await receive()

        await app(scope, plain_receive, send)

    with serving(hiding) as url:  # type: ignore[arg-type]
        whole = get(url, "big")
        assert whole.content == BIG and whole.headers.get("connection") != "close"
        part = get(url, "big", Range="bytes=100-")
        assert part.status_code == 206 and part.content == BIG[100:]
        assert part.headers.get("connection") != "close"
        adler32 = f"{zlib.adler32(BIG):08x}"
        headers = {"Authorization": f"Bearer {FR_AGENT}", "X-Checksum-Adler32": adler32}
        put = requests.put(f"{url}/api/v1/files/again", data=BIG, headers=headers, timeout=60)
        assert put.status_code == 201 and put.headers.get("connection") != "close"
    assert (root / "again").read_bytes() == BIG


def test_a_small_get_pipelined_before_a_large_one_is_answered_first(url: str) -> None:
    """Both requests in one segment: uvicorn parses the second while answering the first
    (kept alive); the large one then goes with sendfile and closes the connection."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as raw:
        ask = "GET /api/v1/files/{} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + READER
        raw.sendall(f"{ask.format('small')}\r\n\r\n{ask.format('big')}\r\n\r\n".encode())
        head, body, rest = read_answer(raw, b"")
        assert head.startswith(b"HTTP/1.1 200") and body == b"s" * 1000
        assert b"connection: close" not in head.lower()
        head, body, rest = read_answer(raw, rest)
        assert b"connection: close" in head.lower() and body == BIG
        assert rest == b"" and raw.recv(1) == b""  # then the DSS closes


def test_a_file_deleted_before_its_large_get_is_sent_is_404(
    tmp_path: Path, uvicorn_errors: list[logging.LogRecord]
) -> None:
    """Deleted between the stat and the open: FileResponse would have sent a 200 head and
    then failed (a cut answer, an error in uvicorn's log); the DSS answers 404."""
    root = posix_root(tmp_path)
    gone = _write(tmp_path / "gone.bin", BIG)
    stat_result = os.stat(gone)
    gone.unlink()
    app = dss(root)

    @app.get("/gone")
    def vanished() -> LargeChunkFileResponse:
        return LargeChunkFileResponse(gone, headers={}, stat_result=stat_result, idle_seconds=5)

    with serving(app) as url:
        answer = requests.get(f"{url}/gone", timeout=30)
    assert answer.status_code == 404 and "deleted" in answer.json()["detail"]
    assert uvicorn_errors == []


def test_a_request_parsed_behind_a_large_get_leaves_no_error(
    url: str, uvicorn_errors: list[logging.LogRecord]
) -> None:
    """Both requests in one segment, the large GET first: uvicorn has parsed (and queued)
    the second when the sendfile answer ends and closes the connection."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as raw:
        ask = "GET /api/v1/files/{} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + READER
        raw.sendall(f"{ask.format('big')}\r\n\r\n{ask.format('small')}\r\n\r\n".encode())
        head, body, rest = read_answer(raw, b"")
        assert b"connection: close" in head.lower() and body == BIG
        assert rest == b"" and raw.recv(1) == b""  # the second is for the client to ask again
    time.sleep(0.2)
    assert uvicorn_errors == []
