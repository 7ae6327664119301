"""Backends and verifiers by configuration; the memory backend's capacity; stale sidecars."""

from __future__ import annotations

import hashlib
import zlib
from pathlib import Path

import pytest

from dss.archive_tokens import ArchiveTokenVerifier
from dss.backend import DeclaredChecksums, StorageFull
from dss.config import DssConfig
from dss.memory import MemoryBackend
from dss.posix import PosixBackend
from dss.registry import BackendUnavailable, open_backend, open_verifier
from dss.rucio_config import RucioConfig
from dss.static_tokens import StaticTokenVerifier


def test_backends_by_name(tmp_path: Path) -> None:
    assert isinstance(open_backend(DssConfig(root=tmp_path)), PosixBackend)
    assert isinstance(open_backend(DssConfig(backend="memory")), MemoryBackend)
    with pytest.raises(BackendUnavailable, match="needs a root"):
        open_backend(DssConfig())
    with pytest.raises(BackendUnavailable, match=r"'tape' \(known: memory, posix, rucio\)"):
        open_backend(DssConfig(backend="tape"))


def test_the_rucio_backend_names_what_it_lacks(tmp_path: Path) -> None:
    rucio = RucioConfig(url="http://127.0.0.1:1", default_scope="euclid")
    with pytest.raises(BackendUnavailable, match="needs a local work directory"):
        open_backend(DssConfig(backend="rucio", site="SDC-DE"), rucio)
    with pytest.raises(BackendUnavailable, match=r"needs an RSE: --rse / dss.rse"):
        open_backend(DssConfig(backend="rucio", site="SDC-DE", root=tmp_path), rucio)
    mapped = rucio.model_copy(
        update={"site_rses": {"SDC-DE": "SDC-DE_DISK"}, "default_scope": None}
    )
    with pytest.raises(BackendUnavailable, match="needs a scope"):
        open_backend(DssConfig(backend="rucio", site="SDC-DE", root=tmp_path), mapped)
    with pytest.raises(BackendUnavailable, match="needs rucio.url"):
        open_backend(
            DssConfig(backend="rucio", rse="X", root=tmp_path), RucioConfig(default_scope="s")
        )


def test_verifier_by_configuration(tmp_path: Path) -> None:
    tokens = tmp_path / "t.yaml"
    tokens.write_text("tokens: []\n")
    assert isinstance(open_verifier(DssConfig(tokens_file=tokens)), StaticTokenVerifier)
    archive = DssConfig(archive_url="http://eas:8000", tokens_file=tokens)
    assert isinstance(open_verifier(archive), ArchiveTokenVerifier)
    with pytest.raises(BackendUnavailable, match="--archive-url or --tokens"):
        open_verifier(DssConfig())


def test_memory_capacity_makes_storage_full_reachable() -> None:
    backend = MemoryBackend(capacity_bytes=10)
    upload = backend.begin_upload("big")
    upload.write(b"12345678")
    with pytest.raises(StorageFull, match="capacity 10"):
        upload.write(b"abc")
    assert list(backend.list("")) == []
    small = backend.begin_upload("small")
    small.write(b"0123456789")  # the failed upload's reservation was released
    small.commit(DeclaredChecksums())


def test_a_file_replaced_behind_the_dss_gets_fresh_checksums(tmp_path: Path) -> None:
    backend = PosixBackend(tmp_path)
    upload = backend.begin_upload("f")
    upload.write(b"old bytes")
    upload.commit(DeclaredChecksums())
    (tmp_path / "f.new").write_bytes(b"new bytes, longer")
    (tmp_path / "f.new").replace(tmp_path / "f")  # another inode: the sidecar is stale
    stat = backend.stat("f")
    assert stat.adler32 == f"{zlib.adler32(b'new bytes, longer'):08x}"
    assert stat.md5 == hashlib.md5(b"new bytes, longer").hexdigest()
    assert backend.stat("f") == stat  # kept: the second stat reads the new sidecar
