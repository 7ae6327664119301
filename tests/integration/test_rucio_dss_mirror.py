"""A Rucio-backed DSS and the archive's mirror name a product by the same DID, against the
real Rucio server: what the DSS stored, a sync finds in place and the audit agrees with."""

from __future__ import annotations

import hashlib
import json
import zlib
from pathlib import Path

import pytest

from dss.backend import ContentConflict, DeclaredChecksums, FileMissing, PutOutcome
from dss.rucio_backend import RucioBackend
from dss.rucio_store import RucioStore
from eas.core import products as product_core
from eas.core import replicas as replica_core
from eas.core import survey as survey_core
from eas.db import transaction
from eas.schemas import ReplicaIn
from tests.archive_support import observation, product
from tests.rucio_server import RucioServer
from tests.rucio_support import Deployment, deployment

pytestmark = pytest.mark.rucio

PID = "9f2c01ab77e4"
PATH = f"products/CALIBRATED_FRAME/{PID}.fits"
DATA = b"a calibrated frame " * 50


def _put(backend: RucioBackend, path: str, data: bytes) -> PutOutcome:
    upload = backend.begin_upload(path)
    upload.write(data)
    declared = DeclaredChecksums(f"{zlib.adler32(data):08x}", hashlib.md5(data).hexdigest())
    return upload.commit(declared)[0]


@pytest.fixture
def site(rucio_server: RucioServer, tmp_path: Path) -> tuple[Deployment, RucioBackend]:
    """A deployment and the Rucio-backed DSS of SDC-DE on the same scope."""
    d = deployment(rucio_server, tmp_path)
    store = RucioStore(d.rucio, "SDC-DE_DISK", d.scope)
    return d, RucioBackend(store, tmp_path / "dss-work", cache_bytes=16 * 1024**2)


def test_a_product_the_dss_stored_is_the_mirrors_did_in_place(
    site: tuple[Deployment, RucioBackend],
) -> None:
    d, backend = site
    assert _put(backend, PATH, DATA) is PutOutcome.CREATED
    assert _put(backend, "logs/run.txt", b"log") is PutOutcome.CREATED
    assert _put(backend, "notes", b"top level") is PutOutcome.CREATED
    # the product is <scope>:<product id>, its path kept as metadata; other paths by path
    assert d.client.get_metadata(d.scope, PID, plugin="JSON") == {"dss_path": PATH}
    files = set(d.client.list_dids(d.scope, {}, did_type="file"))
    assert files == {PID, "logs/run.txt", "dss/notes"}
    # the DSS still sees paths
    assert [f.path for f in backend.list("products/")] == [PATH]
    assert sorted(f.path for f in backend.list("")) == ["logs/run.txt", "notes", PATH]
    assert backend.stat(PATH).size == len(DATA)
    assert b"".join(backend.read(PATH)) == DATA
    # a product has one file: a second path of the same id is refused, and is no file
    with pytest.raises(ContentConflict, match=f"already stored as {PATH}"):
        _put(backend, f"products/OTHER/{PID}.fits", DATA)
    with pytest.raises(FileMissing):
        backend.stat(f"products/OTHER/{PID}.fits")

    # the agent registers the product and its replica; the mirror finds it in place
    sessions = d.sessions()
    with transaction(sessions) as session:
        survey_core.add_observations(session, [observation(1)])
        product_core.register_product(
            session,
            product(
                PID,
                size_bytes=len(DATA),
                adler32=f"{zlib.adler32(DATA):08x}",
                obs_id=1,
                metadata={"band": "VIS"},
            ),
        )
        replica_core.add_replica(session, PID, ReplicaIn(site="SDC-DE", url=f"dss://{PATH}"))
    sessions.kw["bind"].dispose()
    sync = d.sdc("archive", "rucio", "sync", "--site", "SDC-DE", "--json")
    assert sync.exit_code == 0, sync.output
    summary = json.loads(sync.output)
    assert summary["replicas_added"] == 0 and summary["metadata_set"] == 1
    assert summary["attachments_added"] == 1
    meta = d.client.get_metadata(d.scope, PID, plugin="JSON")
    assert meta["dss_path"] == PATH and meta["band"] == "VIS" and meta["obs_id"] == 1
    audit = d.sdc("archive", "rucio", "audit", "--site", "SDC-DE", "--json")
    assert audit.exit_code == 0, audit.output
    assert json.loads(audit.output)["differences"] == []
    # and the DSS still lists it by its path after the mirror's metadata was added
    assert [f.path for f in backend.list("products/")] == [PATH]


def test_the_dss_adopts_a_product_the_mirror_registered_first(
    site: tuple[Deployment, RucioBackend],
) -> None:
    """Rucio knows the product (mirrored from another site): the DSS stores its bytes here
    under the same DID and records its path."""
    d, backend = site
    d.client.add_replicas(
        rse="SDC-FR_DISK",
        files=[
            {
                "scope": d.scope,
                "name": PID,
                "bytes": len(DATA),
                "adler32": f"{zlib.adler32(DATA):08x}",
                "meta": {"product_type": "CALIBRATED_FRAME"},
            }
        ],
    )
    with pytest.raises(ContentConflict, match="other content"):
        _put(backend, PATH, b"other bytes")
    assert _put(backend, PATH, DATA) is PutOutcome.CREATED
    (replica,) = d.client.list_replicas([{"scope": d.scope, "name": PID}])
    assert set(replica["rses"]) == {"SDC-DE_DISK", "SDC-FR_DISK"}
    meta = d.client.get_metadata(d.scope, PID, plugin="JSON")
    assert meta == {"product_type": "CALIBRATED_FRAME", "dss_path": PATH}
