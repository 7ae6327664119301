"""Pulling between two sites' storage: verified, resumable, idempotent; and quarantine."""

from __future__ import annotations

import io
import os
from contextlib import AbstractContextManager
from pathlib import Path

import pytest

from dss.backend import ChecksumMismatch, FileMissing, PutOutcome
from dss.client import StorageClient
from dss.posix import PosixBackend
from dss.pull import pull
from tests.dss_fixtures import FR_AGENT, READER, FlakyProxy, dss_for

DATA = os.urandom(2 * 1024 * 1024 + 3)


def source_dss(root: Path) -> AbstractContextManager[str]:
    return dss_for(PosixBackend(root))


def test_pull_copies_verified_and_once(tmp_path: Path) -> None:
    (tmp_path / "fr").mkdir()
    destination = PosixBackend(tmp_path / "es")
    with source_dss(tmp_path / "fr") as url:
        StorageClient(url, FR_AGENT).put("obs/1.fits", io.BytesIO(DATA))
        with FlakyProxy(url, failures=1, cut_after=500_000) as flaky:
            outcome, stat = pull(StorageClient(flaky.url, READER), "obs/1.fits", destination)
        assert outcome is PutOutcome.CREATED and stat.size == len(DATA)
        assert (tmp_path / "es" / "obs/1.fits").read_bytes() == DATA
        again, _ = pull(StorageClient(url, READER), "obs/1.fits", destination)
        assert again is PutOutcome.ALREADY_PRESENT


def test_pull_of_rotten_bytes_leaves_nothing(tmp_path: Path) -> None:
    fr = tmp_path / "fr"
    fr.mkdir()
    destination = PosixBackend(tmp_path / "es")
    with source_dss(fr) as url:
        StorageClient(url, FR_AGENT).put("rot", io.BytesIO(b"pristine bytes"))
        before = (fr / "rot").stat()
        (fr / "rot").write_bytes(b"pristine bytez")
        os.utime(fr / "rot", ns=(before.st_atime_ns, before.st_mtime_ns))
        with pytest.raises(ChecksumMismatch):
            pull(StorageClient(url, READER), "rot", destination)
    assert list(destination.list("")) == [] and destination.sweep_temporaries() == 0
    with pytest.raises(FileMissing):
        destination.stat("rot")


def test_quarantine_over_http_keeps_the_bytes(tmp_path: Path) -> None:
    with source_dss(tmp_path) as url:
        agent = StorageClient(url, FR_AGENT)
        agent.put("dark.fits", io.BytesIO(b"dark bytes"))
        where = agent.quarantine("dark.fits")
        assert agent.list() == []
        assert (tmp_path / where).read_bytes() == b"dark bytes"
