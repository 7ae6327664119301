"""`sdc archive rucio sync/audit` against the real Rucio server and a real archive."""

from __future__ import annotations

import json
import zlib
from pathlib import Path

import pytest

from eas.core import products as product_core
from eas.core import replicas as replica_core
from eas.core import survey as survey_core
from eas.db import transaction
from eas.models import Replica
from eas.schemas import ReplicaIn, TileIn
from tests.archive_support import observation, product
from tests.rucio_server import RucioServer
from tests.rucio_support import Deployment, deployment

pytestmark = pytest.mark.rucio


def _adler(data: bytes) -> str:
    return f"{zlib.adler32(data) & 0xFFFFFFFF:08x}"


def _archive(d: Deployment, site: str, items: dict[str, bytes], **fields: object) -> None:
    """Products (content `items[id]`) of observation 1 / tile 7, with replicas at `site`."""
    sessions = d.sessions()
    with transaction(sessions) as session:
        if survey_core.query_observations(session, limit=1) == []:
            survey_core.add_observations(session, [observation(1), observation(2)])
            survey_core.add_tiles(
                session, [TileIn(tile_id=7, ra=10, dec=0, radius_deg=0.4, obs_ids=[1, 2])]
            )
        for pid, data in items.items():
            values = {"obs_id": 1, "tile_id": 7, "metadata": {"band": "VIS", "bytes": 3}}
            values.update(fields)
            product_core.register_product(
                session, product(pid, size_bytes=len(data), adler32=_adler(data), **values)
            )
            replica_core.add_replica(session, pid, ReplicaIn(site=site, url=f"/data/{pid}"))
    sessions.kw["bind"].dispose()


@pytest.fixture
def mirror(rucio_server: RucioServer, tmp_path: Path) -> Deployment:
    return deployment(rucio_server, tmp_path)


def test_sync_registers_files_datasets_metadata_then_changes_nothing(
    mirror: Deployment, monkeypatch: pytest.MonkeyPatch
) -> None:
    # two files a call: several registration and attachment calls, spread over both lanes
    monkeypatch.setattr("eas.rucio_mirror.rucio_io.BATCH", 2)
    _archive(mirror, "SDC-DE", {f"p{i}": b"x" * i for i in range(1, 4)})
    _archive(mirror, "SDC-DE", {"loose": b"no dataset"}, obs_id=None, tile_id=None)
    _archive(mirror, "SDC-DE", {"obs-only": b"o"}, obs_id=2, tile_id=None)
    _archive(mirror, "SDC-FR", {"elsewhere": b"fr"})
    first = mirror.sdc("archive", "rucio", "sync", "--site", "SDC-DE", "--json")
    assert first.exit_code == 0, first.output
    summary = json.loads(first.output)
    assert summary["replicas_added"] == 5 and summary["datasets_added"] == 3
    assert summary["attachments_added"] == 7 and summary["already_in_place"] == 0
    c, scope = mirror.client, mirror.scope
    names = ["p1", "p2", "p3", "loose", "obs-only"]
    found = {r["name"]: r for r in c.list_replicas([{"scope": scope, "name": n} for n in names])}
    assert set(found) == set(names)
    assert all(r["states"]["SDC-DE_DISK"] == "AVAILABLE" for r in found.values())
    assert found["p2"]["adler32"] == _adler(b"xx") and found["p2"]["bytes"] == 2
    meta = c.get_metadata(scope, "p1", plugin="ALL")
    assert meta["product_type"] == "RAW_FRAME" and meta["band"] == "VIS" and meta["obs_id"] == 1
    assert meta["bytes"] == 1  # the product's own "bytes" key does not shadow Rucio's
    assert c.get_metadata(scope, "loose", plugin="JSON")["band"] == "VIS"
    assert sorted(f["name"] for f in c.list_content(scope, "obs-1")) == ["p1", "p2", "p3"]
    assert sorted(f["name"] for f in c.list_content(scope, "tile-7")) == ["p1", "p2", "p3"]
    assert [f["name"] for f in c.list_content(scope, "obs-2")] == ["obs-only"]
    assert list(c.list_replicas([{"scope": scope, "name": "elsewhere"}])) == []

    again = mirror.sdc("archive", "rucio", "sync", "--site", "SDC-DE")
    assert again.exit_code == 0, again.output
    assert "nothing to do" in again.output and "5 product(s)" in again.output


def test_a_file_rucio_already_has_outside_its_datasets_gets_metadata_and_attachments(
    mirror: Deployment,
) -> None:
    """As a Rucio-backed DSS leaves a product: file DID and replica, no dataset, no metadata."""
    _archive(mirror, "SDC-DE", {"stored": b"by the DSS"})
    mirror.client.add_replicas(
        rse="SDC-DE_DISK",
        files=[
            {
                "scope": mirror.scope,
                "name": "stored",
                "bytes": len(b"by the DSS"),
                "adler32": _adler(b"by the DSS"),
            }
        ],
    )
    result = mirror.sdc("archive", "rucio", "sync", "--site", "SDC-DE", "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output)
    assert summary["replicas_added"] == 0 and summary["metadata_set"] == 1
    assert summary["attachments_added"] == 2
    assert mirror.client.get_metadata(mirror.scope, "stored", plugin="JSON")["obs_id"] == 1
    assert [f["name"] for f in mirror.client.list_content(mirror.scope, "tile-7")] == ["stored"]
    again = mirror.sdc("archive", "rucio", "sync", "--site", "SDC-DE")
    assert "nothing to do" in again.output


def test_sync_reports_a_checksum_mismatch_and_never_overwrites(mirror: Deployment) -> None:
    _archive(mirror, "SDC-DE", {"same": b"abc", "differs": b"archive bytes"})
    mirror.client.add_replicas(
        rse="SDC-DE_DISK",
        files=[{"scope": mirror.scope, "name": "differs", "bytes": 5, "adler32": "0badc0de"}],
    )
    result = mirror.sdc("archive", "rucio", "sync", "--site", "SDC-DE")
    assert result.exit_code == 1
    assert "differs" in result.output and "0badc0de" in result.output
    assert mirror.client.get_metadata(mirror.scope, "differs")["adler32"] == "0badc0de"


def _place_bytes(d: Deployment, name: str, data: bytes, adler32: str) -> None:
    """A replica registered in Rucio only, its bytes at the RSE's path."""
    d.client.add_replicas(
        rse="SDC-DE_DISK",
        files=[{"scope": d.scope, "name": name, "bytes": len(data), "adler32": adler32}],
    )
    (replica,) = d.client.list_replicas([{"scope": d.scope, "name": name}])
    path = Path(replica["rses"]["SDC-DE_DISK"][0].removeprefix("file://localhost"))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def test_audit_lists_differences_both_ways_and_fixes_only_after_a_verified_read(
    mirror: Deployment,
) -> None:
    _archive(mirror, "SDC-DE", {"agrees": b"a"})
    assert mirror.sdc("archive", "rucio", "sync", "--site", "SDC-DE").exit_code == 0
    _archive(mirror, "SDC-DE", {"archive-only": b"o"})
    sessions = mirror.sessions()
    with transaction(sessions) as session:  # products the archive knows, held nowhere
        for pid, data in (("recoverable", b"good bytes"), ("corrupt", b"right bytes")):
            product_core.register_product(
                session, product(pid, size_bytes=len(data), adler32=_adler(data), obs_id=1)
            )
    _place_bytes(mirror, "recoverable", b"good bytes", _adler(b"good bytes"))
    _place_bytes(mirror, "corrupt", b"WRONG bytes", _adler(b"right bytes"))
    _place_bytes(mirror, "stranger", b"s", _adler(b"s"))
    _archive(mirror, "SDC-DE", {"mismatch2": b"archive"})  # Rucio got other bytes
    _place_bytes(mirror, "mismatch2", b"rucio", _adler(b"rucio"))

    audit = mirror.sdc("archive", "rucio", "audit", "--site", "SDC-DE", "--json")
    assert audit.exit_code == 1, audit.output
    kinds = {d["product_id"]: d["kind"] for d in json.loads(audit.output)["differences"]}
    assert kinds == {
        "archive-only": "archive_only",
        "recoverable": "rucio_only",
        "corrupt": "rucio_only",
        "stranger": "rucio_only",
        "mismatch2": "checksum_mismatch",
    }

    fixed = mirror.sdc("archive", "rucio", "audit", "--site", "SDC-DE", "--fix", "--json")
    assert fixed.exit_code == 1
    outcome = {d["product_id"]: d["fix"] for d in json.loads(fixed.output)["differences"]}
    assert outcome["recoverable"].startswith("fixed")
    assert outcome["corrupt"].startswith("not fixed")
    assert outcome["stranger"] == outcome["mismatch2"] == ""
    with transaction(sessions) as session:
        held = {r.product_id: r for r in replica_core.list_replicas(session, site="SDC-DE")}
        assert "recoverable" in held and held["recoverable"].url.startswith("file://")
        assert "corrupt" not in held and "stranger" not in held
        assert session.get(Replica, held["mismatch2"].id).url == "/data/mismatch2"
    sessions.kw["bind"].dispose()
    assert mirror.client.get_metadata(mirror.scope, "mismatch2")["adler32"] == _adler(b"rucio")

    after = mirror.sdc("archive", "rucio", "audit", "--site", "SDC-DE", "--json")
    left = {d["product_id"] for d in json.loads(after.output)["differences"]}
    assert left == {"archive-only", "corrupt", "stranger", "mismatch2"}


def test_unreachable_rucio_names_the_url_and_writes_nothing(
    rucio_server: RucioServer, tmp_path: Path
) -> None:
    mirror = deployment(rucio_server, tmp_path, url="http://127.0.0.1:9", request_retries=0)
    _archive(mirror, "SDC-DE", {"p": b"p"})
    for args in (("sync", "--site", "SDC-DE"), ("audit", "--site", "SDC-DE", "--fix")):
        result = mirror.sdc("archive", "rucio", *args)
        assert result.exit_code == 1
        assert "http://127.0.0.1:9" in result.output and "unreachable" in result.output
    sessions = mirror.sessions()
    with transaction(sessions) as session:
        assert [r.product_id for r in replica_core.list_replicas(session)] == ["p"]
    sessions.kw["bind"].dispose()


def test_unmapped_site_says_which_setting(mirror: Deployment) -> None:
    result = mirror.sdc("archive", "rucio", "sync", "--site", "SDC-IT")
    assert result.exit_code == 1 and "rucio.site_rses" in result.output
