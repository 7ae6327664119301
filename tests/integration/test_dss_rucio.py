"""A site whose storage is a Rucio RSE, against the real Rucio server and the real archive.

Agents see the same DSS whether a site is posix or Rucio; faults: Rucio unreachable (reads
of local copies go on, nothing is marked lost), an RSE without a write protocol or quota.
"""

from __future__ import annotations

import io
import os
import uuid
import zlib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from dss.backend import ContentConflict, DeclaredChecksums, PutOutcome
from dss.client_errors import StorageFull, Unavailable
from dss.config import DssConfig
from dss.registry import BackendUnavailable, open_backend
from dss.rucio_backend import RucioBackend
from dss.rucio_client import rucio_client
from dss.rucio_store import RottenReplica, RucioStore
from dss.site_audit import audit_site
from tests import archive_support
from tests.dss_fixtures import FlakyProxy
from tests.federation import Federation, federation, sqlite_sessions
from tests.rucio_server import RucioServer

pytestmark = pytest.mark.rucio
sqlite_template = archive_support.sqlite_template

DATA = os.urandom(2 * 1024 * 1024 + 7)
NO_WRITE = {"lan": {"read": 1}, "wan": {"read": 1}}


def fresh_scope(server: RucioServer) -> str:
    scope = f"t{uuid.uuid4().hex[:12]}"
    rucio_client(server.config()).add_scope(server.account, scope)
    return scope


@pytest.fixture
def proxy(rucio_server: RucioServer) -> Iterator[FlakyProxy]:
    """A TCP proxy in front of Rucio: closing it makes Rucio unreachable."""
    with FlakyProxy(rucio_server.url, failures=0, cut_after=0) as relay:
        yield relay


@pytest.fixture
def world(
    sqlite_template: Path, tmp_path: Path, rucio_server: RucioServer, proxy: FlakyProxy
) -> Iterator[tuple[Federation, RucioStore]]:
    """The archive and three sites; SDC-DE stores on Rucio (through the proxy)."""
    store = RucioStore(rucio_server.config(url=proxy.url), "SDC-DE_DISK", fresh_scope(rucio_server))
    backend = RucioBackend(store, tmp_path / "de-work", cache_bytes=64 * 1024**2)
    with (
        sqlite_sessions(sqlite_template, tmp_path) as (url, sessions),
        federation(sessions, url, tmp_path, {"SDC-DE": backend}) as fed,
    ):
        yield fed, store


def test_agents_use_a_rucio_site_like_a_posix_one(
    world: tuple[Federation, RucioStore], rucio_server: RucioServer, tmp_path: Path
) -> None:
    fed, store = world
    path = fed.publish("P1", DATA, "SDC-DE")
    # Rucio holds it as scope:path on the RSE, with the adler32 the DSS declared
    rucio = rucio_client(rucio_server.config())
    [replica] = rucio.list_replicas([{"scope": store.scope, "name": path}])
    with fed.storage("SDC-DE", "agent_de") as de:
        stat = de.stat(path)
        assert (
            replica["adler32"] == stat.adler32 and replica["states"]["SDC-DE_DISK"] == "AVAILABLE"
        )
        assert [f.path for f in de.list("products/")] == [path]
        got = de.get(path, tmp_path / "copy.fits", verify_md5=True)
        assert (tmp_path / "copy.fits").read_bytes() == DATA and got.md5 == stat.md5
    # another site pulls from the Rucio site, and the Rucio site from another
    with fed.storage("SDC-FR", "agent_fr") as fr:
        assert fr.transfer("P1").source == "SDC-DE"
    assert (fed.roots["SDC-FR"] / path).read_bytes() == DATA
    other = fed.publish("P2", DATA[::-1], "SDC-ES")
    with fed.storage("SDC-DE", "agent_de") as de:
        assert de.transfer("P2").source == "SDC-ES"
        assert de.stat(other).adler32 == f"{zlib.adler32(DATA[::-1]):08x}"
    assert fed.states("P2") == {"SDC-ES": "AVAILABLE", "SDC-DE": "AVAILABLE"}
    with fed.admin() as archive, fed.storage("SDC-DE") as de:
        assert audit_site("SDC-DE", archive, de).report.clean


def test_rucio_unreachable_reads_local_copies_and_marks_nothing_lost(
    world: tuple[Federation, RucioStore], proxy: FlakyProxy, tmp_path: Path
) -> None:
    fed, _ = world
    path = fed.publish("P1", DATA, "SDC-DE")
    proxy.__exit__(None, None, None)  # Rucio goes away
    with fed.storage("SDC-DE", "agent_de") as de:
        assert de.stat(path).size == len(DATA)  # the local copy, verified when it was stored
        de.get(path, tmp_path / "during-outage.fits")
        with pytest.raises(Unavailable, match=f"Rucio at {proxy.url} is unreachable"):
            de.put("products/new.fits", io.BytesIO(b"new"))
        with pytest.raises(Unavailable, match=f"Rucio at {proxy.url} is unreachable"):
            de.list()
    with (
        fed.admin() as archive,
        fed.storage("SDC-DE") as de,
        pytest.raises(Unavailable, match="unreachable"),
    ):
        audit_site("SDC-DE", archive, de)  # the audit stops: it cannot call anything lost
    assert fed.states("P1") == {"SDC-DE": "AVAILABLE"}
    assert (tmp_path / "during-outage.fits").read_bytes() == DATA


def test_an_rse_without_write_protocol_or_quota_is_refused_with_the_fix(
    rucio_server: RucioServer, tmp_path: Path
) -> None:
    suffix = uuid.uuid4().hex[:6].upper()
    rucio_server.add_posix_rse(f"NOWRITE{suffix}", domains=NO_WRITE)
    rucio_server.add_posix_rse(f"NOQUOTA{suffix}", quota=False)
    config = rucio_server.config()

    def serve(rse: str) -> None:
        open_backend(DssConfig(site="SDC-DE", backend="rucio", rse=rse, root=tmp_path), config)

    with pytest.raises(
        BackendUnavailable, match=r"no protocol with a write priority.*--domain-json"
    ):
        serve(f"NOWRITE{suffix}")
    fix = f"rucio account limit set root --rse NOQUOTA{suffix} --bytes infinity"
    with pytest.raises(BackendUnavailable, match=f"account root has no quota.*{fix}"):
        serve(f"NOQUOTA{suffix}")
    with pytest.raises(BackendUnavailable, match="RSE NOSUCH_DISK does not exist"):
        serve("NOSUCH_DISK")


def test_a_quota_taken_away_while_serving_is_507_naming_the_fix(
    rucio_server: RucioServer, sqlite_template: Path, tmp_path: Path
) -> None:
    rse = f"SHRINK{uuid.uuid4().hex[:6].upper()}"
    rucio_server.add_posix_rse(rse)
    store = RucioStore(rucio_server.config(), rse, fresh_scope(rucio_server), rse_check_seconds=0)
    backend = RucioBackend(store, tmp_path / "work", cache_bytes=1024**2)
    with (
        sqlite_sessions(sqlite_template, tmp_path) as (url, sessions),
        federation(sessions, url, tmp_path, {"SDC-DE": backend}) as fed,
        fed.storage("SDC-DE", "agent_de") as de,
    ):
        de.put("products/a.fits", io.BytesIO(b"first"))
        rucio_client(rucio_server.config()).delete_local_account_limit("root", rse)
        with pytest.raises(StorageFull, match=f"rucio account limit set root --rse {rse}"):
            de.put("products/b.fits", io.BytesIO(b"second"))
        assert [f.path for f in de.list()] == ["products/a.fits"]
    assert list(
        rucio_client(rucio_server.config()).list_dids(store.scope, {}, did_type="file")
    ) == ["products/a.fits"]


def test_rotten_bytes_on_the_rse_are_refused_by_rucios_own_adler32_check(
    rucio_server: RucioServer, tmp_path: Path
) -> None:
    scope = fresh_scope(rucio_server)
    config = rucio_server.config()
    first = RucioBackend(RucioStore(config, "SDC-DE_DISK", scope), tmp_path / "a", 1024**2)
    upload = first.begin_upload("raw/frame.fits")
    upload.write(b"photons" * 1000)
    upload.commit(DeclaredChecksums())
    did = {"scope": scope, "name": "raw/frame.fits"}
    [replica] = rucio_client(config).list_replicas([did])
    [pfn] = replica["rses"]["SDC-DE_DISK"]
    Path(pfn.removeprefix("file://localhost")).write_bytes(b"PHOTONS" * 1000)  # same size
    fresh = RucioBackend(RucioStore(config, "SDC-DE_DISK", scope), tmp_path / "b", 1024**2)
    assert fresh.stat("raw/frame.fits").size == 7000  # the catalogue's answer
    with pytest.raises(RottenReplica, match="on SDC-DE_DISK failed Rucio's adler32 check"):
        fresh.local_file("raw/frame.fits")
    assert not any((tmp_path / "b").rglob("frame.fits*"))


def test_concurrent_puts_of_one_path_land_once(rucio_server: RucioServer, tmp_path: Path) -> None:
    store = RucioStore(rucio_server.config(), "SDC-DE_DISK", fresh_scope(rucio_server))
    backend = RucioBackend(store, tmp_path, 1024**2)

    def put(data: bytes) -> object:
        upload = backend.begin_upload("tile/7/stack.fits")
        upload.write(data)
        try:
            return upload.commit(DeclaredChecksums())[0]
        except ContentConflict as exc:
            return exc

    writes = [b"same", b"same", b"other"]
    with ThreadPoolExecutor(3) as pool:
        outcomes = list(pool.map(put, writes))
    stored = b"".join(backend.read("tile/7/stack.fits"))
    assert outcomes.count(PutOutcome.CREATED) == 1
    for data, outcome in zip(writes, outcomes, strict=True):
        if data == stored:  # the winner, or the same bytes after it
            assert outcome in (PutOutcome.CREATED, PutOutcome.ALREADY_PRESENT)
        else:
            assert isinstance(outcome, ContentConflict)
    assert backend.stat("tile/7/stack.fits").adler32 == f"{zlib.adler32(stored):08x}"


def test_the_read_cache_keeps_to_its_size_and_downloads_again(
    rucio_server: RucioServer, tmp_path: Path
) -> None:
    store = RucioStore(rucio_server.config(), "SDC-DE_DISK", fresh_scope(rucio_server))
    backend = RucioBackend(store, tmp_path, cache_bytes=150)
    for name in ("a.fits", "b.fits"):
        upload = backend.begin_upload(name)
        upload.write(name.encode() * 20)  # 120 bytes each: only one fits
        upload.commit(DeclaredChecksums())
    cached = [f.name for f in backend.cache_dir.rglob("*.fits")]
    assert cached == ["b.fits"]
    assert b"".join(backend.read("a.fits")) == b"a.fits" * 20  # through Rucio's download
    assert [f.name for f in backend.cache_dir.rglob("*.fits")] == ["a.fits"]
