"""One contract for every storage backend: what the DSS server relies on.

The rucio variant runs against the real Rucio server (`rucio_server`), each test in a fresh
scope so the session's one server starts every test empty.
"""

from __future__ import annotations

import hashlib
import uuid
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest

from dss.backend import (
    ChecksumMismatch,
    ContentConflict,
    DeclaredChecksums,
    FileMissing,
    PutOutcome,
    StorageBackend,
)
from dss.memory import MemoryBackend
from dss.paths import UnsafePath
from dss.posix import PosixBackend
from tests.rucio_server import RucioServer

BACKENDS: dict[str, Callable[[Path], StorageBackend]] = {
    "posix": PosixBackend,
    "memory": lambda _root: MemoryBackend(),
}


def rucio_backend(server: RucioServer, workdir: Path) -> StorageBackend:
    """A rucio backend on SDC-DE_DISK, in a scope of its own."""
    from dss.rucio_backend import RucioBackend
    from dss.rucio_client import rucio_client
    from dss.rucio_store import RucioStore

    scope = f"t{uuid.uuid4().hex[:12]}"
    rucio_client(server.config()).add_scope(server.account, scope)
    store = RucioStore(server.config(), server.site_rses["SDC-DE"], scope)
    return RucioBackend(store, workdir, cache_bytes=1024**2)


@pytest.fixture(params=[*sorted(BACKENDS), pytest.param("rucio", marks=pytest.mark.rucio)])
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> StorageBackend:
    if request.param == "rucio":
        return rucio_backend(request.getfixturevalue("rucio_server"), tmp_path)
    return BACKENDS[request.param](tmp_path)


def declared(data: bytes) -> DeclaredChecksums:
    return DeclaredChecksums(f"{zlib.adler32(data):08x}", hashlib.md5(data).hexdigest())


def put(backend: StorageBackend, path: str, data: bytes, chunk: int = 7) -> PutOutcome:
    upload = backend.begin_upload(path)
    for offset in range(0, len(data), chunk):
        upload.write(data[offset : offset + chunk])
    return upload.commit(declared(data))[0]


def test_put_then_stat_read_list_delete(backend: StorageBackend) -> None:
    data = b"euclid VIS frame " * 100
    assert put(backend, "tile/1/vis.fits", data) is PutOutcome.CREATED
    stat = backend.stat("tile/1/vis.fits")
    assert (stat.size, stat.adler32, stat.md5) == (
        len(data),
        declared(data).adler32,
        declared(data).md5,
    )
    assert b"".join(backend.read("tile/1/vis.fits")) == data
    assert b"".join(backend.read("tile/1/vis.fits", 5, 20)) == data[5:20]
    assert [s.path for s in backend.list("tile/")] == ["tile/1/vis.fits"]
    backend.delete("tile/1/vis.fits")
    with pytest.raises(FileMissing):
        backend.stat("tile/1/vis.fits")
    with pytest.raises(FileMissing):
        backend.delete("tile/1/vis.fits")


def test_same_content_is_idempotent_other_content_conflicts(backend: StorageBackend) -> None:
    assert put(backend, "a", b"one") is PutOutcome.CREATED
    assert put(backend, "a", b"one") is PutOutcome.ALREADY_PRESENT
    with pytest.raises(ContentConflict, match="already exists"):
        put(backend, "a", b"two")
    assert b"".join(backend.read("a")) == b"one"


def test_checksum_mismatch_leaves_nothing(backend: StorageBackend) -> None:
    upload = backend.begin_upload("m")
    upload.write(b"actual bytes")
    with pytest.raises(ChecksumMismatch, match="adler32"):
        upload.commit(DeclaredChecksums(adler32="00000001"))
    with pytest.raises(FileMissing):
        backend.stat("m")
    assert list(backend.list("")) == []


def test_md5_mismatch_alone_is_caught(backend: StorageBackend) -> None:
    upload = backend.begin_upload("m")
    upload.write(b"bytes")
    wrong = DeclaredChecksums(adler32=declared(b"bytes").adler32, md5="0" * 32)
    with pytest.raises(ChecksumMismatch, match="md5"):
        upload.commit(wrong)
    assert list(backend.list("")) == []


def test_uncommitted_upload_is_invisible_and_swept(backend: StorageBackend) -> None:
    upload = backend.begin_upload("pending")
    upload.write(b"half a file")
    assert list(backend.list("")) == []
    assert backend.sweep_temporaries() == 1
    assert backend.sweep_temporaries() == 0
    upload.abort()  # the killed writer's handle, closed here only to keep the test tidy


def test_list_filters_by_prefix_in_path_order(backend: StorageBackend) -> None:
    for path in ["b/2", "a/1", "a/10", "ab", "c"]:
        put(backend, path, path.encode())
    assert [s.path for s in backend.list("a")] == ["a/1", "a/10", "ab"]
    assert [s.path for s in backend.list("a/")] == ["a/1", "a/10"]
    assert [s.path for s in backend.list("")] == ["a/1", "a/10", "ab", "b/2", "c"]
    assert list(backend.list("zzz/")) == []


def test_a_directory_is_not_a_file(backend: StorageBackend) -> None:
    put(backend, "dir/file", b"x")
    with pytest.raises(UnsafePath, match="directory"):
        put(backend, "dir", b"y")
    with pytest.raises(FileMissing):
        backend.stat("dir")
    with pytest.raises(UnsafePath, match="is a file"):
        put(backend, "dir/file/below", b"z")


def test_empty_file(backend: StorageBackend) -> None:
    assert put(backend, "empty", b"") is PutOutcome.CREATED
    assert backend.stat("empty").adler32 == "00000001"
    assert b"".join(backend.read("empty")) == b""


def test_quarantine_moves_out_of_sight_without_deleting(backend: StorageBackend) -> None:
    put(backend, "dark/file", b"unknown to the archive")
    name = backend.quarantine("dark/file")
    assert name.startswith(".dss/quarantine/") and name.endswith("/dark/file")
    assert list(backend.list("")) == []
    with pytest.raises(FileMissing):
        backend.quarantine("dark/file")
    if type(backend).__name__ == "RucioBackend":
        # Rucio never lets a DID name change content: the same bytes may come back, others not
        with pytest.raises(ContentConflict, match="a DID never changes content"):
            put(backend, "dark/file", b"new")
        assert put(backend, "dark/file", b"unknown to the archive") is PutOutcome.CREATED
        return
    assert put(backend, "dark/file", b"new") is PutOutcome.CREATED  # the path is free again
