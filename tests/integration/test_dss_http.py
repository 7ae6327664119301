"""The DSS over real HTTP (uvicorn on loopback) with the real client: the API and its faults."""

from __future__ import annotations

import io
import os
import socket
import time
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from dss.backend import StorageBackend
from dss.client import StorageClient
from dss.client_errors import (
    BadRequest,
    ChecksumMismatch,
    Conflict,
    Forbidden,
    NotFound,
    Unauthorized,
)
from dss.config import DssConfig
from dss.memory import MemoryBackend
from dss.posix import PosixBackend
from dss.server import create_app
from tests.dss_fixtures import (
    ADMIN,
    ES_AGENT,
    FR_AGENT,
    READER,
    NearlyFullPosix,
    dss_for,
    known_tokens,
    posix_root,
    serving,
    staged,
    visible,
)

DATA = os.urandom(3 * 1024 * 1024 + 17)


def start(backend: StorageBackend) -> Iterator[str]:
    with dss_for(backend) as url:
        yield url


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return posix_root(tmp_path)


@pytest.fixture
def url(root: Path) -> Iterator[str]:
    yield from start(PosixBackend(root))


def client(url: str, token: str = FR_AGENT) -> StorageClient:
    return StorageClient(url, token, retries=3, backoff_seconds=0.01)


@pytest.mark.parametrize("kind", ["posix", "memory"])
def test_put_get_head_list_delete(kind: str, root: Path, tmp_path: Path) -> None:
    backend = PosixBackend(root) if kind == "posix" else MemoryBackend()
    for url in start(backend):
        agent = client(url)
        stat = agent.put("obs/1/vis.fits", io.BytesIO(DATA))
        assert stat.size == len(DATA) and stat.adler32 == f"{zlib.adler32(DATA):08x}"
        assert agent.stat("obs/1/vis.fits") == stat
        assert client(url, READER).list("obs/") == [stat]
        fetched = client(url, READER).get("obs/1/vis.fits", tmp_path / "copy", verify_md5=True)
        assert fetched == stat and (tmp_path / "copy").read_bytes() == DATA
        ranged = requests.get(
            agent.url("obs/1/vis.fits"),
            headers={"Authorization": f"Bearer {READER}", "Range": "bytes=10-19"},
            timeout=5,
        )
        assert ranged.status_code == 206 and ranged.content == DATA[10:20]
        assert ranged.headers["X-Checksum-Adler32"] == stat.adler32
        past_the_end = requests.get(
            agent.url("obs/1/vis.fits"),
            headers={"Authorization": f"Bearer {READER}", "Range": f"bytes={len(DATA)}-"},
            timeout=5,
        )
        assert past_the_end.status_code == 416
        agent.delete("obs/1/vis.fits")
        with pytest.raises(NotFound):
            agent.stat("obs/1/vis.fits")


def test_same_content_200_other_content_409(url: str, root: Path) -> None:
    agent = client(url)
    headers = {"Authorization": f"Bearer {FR_AGENT}", "X-Checksum-Adler32": "0" * 8}
    agent.put("p", io.BytesIO(b"first"))
    again = requests.put(
        agent.url("p"),
        data=b"first",
        headers=headers | {"X-Checksum-Adler32": f"{zlib.adler32(b'first'):08x}"},
        timeout=5,
    )
    assert again.status_code == 200
    with pytest.raises(Conflict, match="409"):
        agent.put("p", io.BytesIO(b"second"))
    assert (root / "p").read_bytes() == b"first"


def test_checksum_mismatch_is_422_and_leaves_nothing(url: str, root: Path) -> None:
    response = requests.put(
        f"{url}/api/v1/files/bad",
        data=b"some bytes",
        headers={"Authorization": f"Bearer {FR_AGENT}", "X-Checksum-Adler32": "12345678"},
        timeout=5,
    )
    assert response.status_code == 422 and "declared 12345678" in response.json()["detail"]
    assert visible(root) == [] and staged(root) == []


def test_put_without_adler32_is_400(url: str) -> None:
    response = requests.put(
        f"{url}/api/v1/files/x", data=b"x", headers={"Authorization": f"Bearer {FR_AGENT}"}
    )
    assert response.status_code == 400 and "X-Checksum-Adler32" in response.json()["detail"]


@pytest.mark.parametrize(
    "raw_path", ["a/%2e%2e/%2e%2e/etc/passwd", "%2Fetc%2Fpasswd", ".dss/tmp/x", "a%5cb"]
)
def test_path_traversal_is_400(url: str, raw_path: str) -> None:
    for method in ("GET", "PUT", "DELETE"):
        response = requests.request(
            method,
            f"{url}/api/v1/files/{raw_path}",
            data=b"x",
            headers={"Authorization": f"Bearer {ADMIN}", "X-Checksum-Adler32": "0" * 8},
            timeout=5,
        )
        assert response.status_code == 400, (method, raw_path, response.text)


def test_symlink_escape_is_400(url: str, root: Path, tmp_path: Path) -> None:
    (tmp_path / "secret").write_text("keep out")
    (root / "escape").symlink_to(tmp_path)
    with pytest.raises(BadRequest, match="outside the root"):
        client(url, READER).stat("escape/secret")
    with pytest.raises(BadRequest):
        client(url).put("escape/planted", io.BytesIO(b"x"))
    assert not (tmp_path / "planted").exists()


def test_tokens_decide_who_reads_and_writes(url: str) -> None:
    client(url).put("f", io.BytesIO(b"x"))
    with pytest.raises(Unauthorized):
        client(url, "").stat("f")
    with pytest.raises(Unauthorized):
        client(url, "forged").stat("f")
    with pytest.raises(Forbidden, match="SDC-ES may not write to the DSS of SDC-FR"):
        client(url, ES_AGENT).put("g", io.BytesIO(b"y"))
    with pytest.raises(Forbidden):
        client(url, READER).delete("f")
    assert client(url, ES_AGENT).stat("f").size == 1  # any agent may read
    client(url, ADMIN).delete("f")
    unauthenticated = requests.get(f"{url}/api/v1/files", timeout=5)
    assert unauthenticated.status_code == 401
    assert unauthenticated.headers["WWW-Authenticate"] == "Bearer"


def test_disk_full_is_507_and_leaves_nothing(root: Path) -> None:
    for url in start(NearlyFullPosix(root)):
        small = client(url).put("small", io.BytesIO(b"fits"))
        response = requests.put(
            f"{url}/api/v1/files/big",
            data=DATA,
            headers={
                "Authorization": f"Bearer {FR_AGENT}",
                "X-Checksum-Adler32": f"{zlib.adler32(DATA):08x}",
            },
            timeout=10,
        )
        assert response.status_code == 507 and "storage full" in response.json()["detail"]
        assert visible(root) == [small.path] and staged(root) == []


def test_client_disconnect_mid_put_leaves_nothing(url: str, root: Path) -> None:
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port))) as raw:
        raw.sendall(
            b"PUT /api/v1/files/truncated HTTP/1.1\r\nHost: x\r\n"
            + f"Authorization: Bearer {FR_AGENT}\r\n".encode()
            + b"X-Checksum-Adler32: 00000001\r\nContent-Length: 10000000\r\n\r\n"
            + DATA[: 2 * 1024 * 1024]
        )
        deadline = time.monotonic() + 10
        while not staged(root) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert staged(root), "the upload should be staged while it streams"
    deadline = time.monotonic() + 10
    while staged(root) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert staged(root) == [] and visible(root) == []


def test_stalled_upload_is_408_and_leaves_nothing(root: Path) -> None:
    config = DssConfig(site="SDC-FR", body_idle_timeout_seconds=0.3)
    app = create_app(config, backend=PosixBackend(root), verifier=known_tokens())
    with serving(app) as url:
        host, port = url.removeprefix("http://").split(":")
        with socket.create_connection((host, int(port)), timeout=10) as raw:
            raw.sendall(
                b"PUT /api/v1/files/stalled HTTP/1.1\r\nHost: x\r\n"
                + f"Authorization: Bearer {FR_AGENT}\r\n".encode()
                + b"X-Checksum-Adler32: 00000001\r\nContent-Length: 1000\r\n\r\n"
                + b"only part of it"
            )
            answer = raw.recv(65536)
        assert answer.startswith(b"HTTP/1.1 408") and b"no bytes of the body" in answer
        assert staged(root) == [] and visible(root) == []


def test_get_detects_bytes_rotten_on_disk(url: str, root: Path, tmp_path: Path) -> None:
    client(url).put("rot", io.BytesIO(b"pristine bytes"))
    before = (root / "rot").stat()
    (root / "rot").write_bytes(b"pristine bytez")  # same size, same mtime: sidecar looks fresh
    os.utime(root / "rot", ns=(before.st_atime_ns, before.st_mtime_ns))
    with pytest.raises(ChecksumMismatch, match="adler32"):
        client(url, READER).get("rot", tmp_path / "rot")
    assert list(tmp_path.glob("*rot*")) == []


def test_interrupted_uploads_are_swept_at_start(root: Path) -> None:
    leftover = root / ".dss" / "tmp" / "dead.part"
    leftover.parent.mkdir(parents=True)
    leftover.write_bytes(b"half")
    for _url in start(PosixBackend(root)):
        assert staged(root) == []


def test_put_from_a_one_shot_stream_is_spooled_and_verified(url: str, root: Path) -> None:
    read_end, write_end = os.pipe()
    with os.fdopen(write_end, "wb") as writer:
        writer.write(DATA[:50_000])
    with os.fdopen(read_end, "rb") as pipe:
        stat = client(url).put("piped", pipe)
    assert stat.adler32 == f"{zlib.adler32(DATA[:50_000]):08x}"
    assert (root / "piped").read_bytes() == DATA[:50_000]
