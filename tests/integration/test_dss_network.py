"""The client over a broken network: resumed GETs, PUTs and DELETEs retried exactly once."""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from dss.client import StorageClient
from dss.client_errors import NotFound
from dss.posix import PosixBackend
from tests.dss_fixtures import FR_AGENT, READER, FlakyProxy, dss_for

DATA = os.urandom(3 * 1024 * 1024 + 17)


@pytest.fixture
def site(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    root = tmp_path / "root"
    root.mkdir()
    with dss_for(PosixBackend(root)) as url:
        yield url, root


def client(url: str, token: str = FR_AGENT) -> StorageClient:
    return StorageClient(url, token, retries=3, backoff_seconds=0.01)


def test_get_resumes_a_broken_transfer_with_range(site: tuple[str, Path], tmp_path: Path) -> None:
    url, _root = site
    client(url).put("big", io.BytesIO(DATA))
    # the HEAD's connection (too short to be cut), two GETs cut mid-body, the resumed one
    with FlakyProxy(url, failures=3, cut_after=700_000) as proxy:
        stat = client(proxy.url, READER).get("big", tmp_path / "big")
        assert proxy.connections == 4
    assert (tmp_path / "big").read_bytes() == DATA and stat.size == len(DATA)
    assert not (tmp_path / ".big.part").exists()


def test_put_retries_after_a_lost_answer_and_lands_once(site: tuple[str, Path]) -> None:
    url, root = site
    with FlakyProxy(url, failures=1, cut_after=1) as proxy:
        stat = client(proxy.url).put("once", io.BytesIO(DATA))
        assert proxy.connections == 2
    assert stat.size == len(DATA) and (root / "once").read_bytes() == DATA


def test_delete_retried_after_a_lost_answer_succeeds(site: tuple[str, Path]) -> None:
    url, root = site
    client(url).put("gone", io.BytesIO(b"x"))
    with FlakyProxy(url, failures=1, cut_after=1) as proxy:
        client(proxy.url).delete("gone")
        assert proxy.connections == 2
    assert not (root / "gone").exists()
    with pytest.raises(NotFound):
        client(url).delete("gone")
