"""A scientist with the stock `rucio` CLI, after `sdc archive rucio sync`: list, locate and
download an archive product (both CLIs run as subprocesses, against the real server)."""

from __future__ import annotations

import os
import subprocess
import sys
import zlib
from pathlib import Path

import pytest

from eas.core import products as product_core
from eas.core import replicas as replica_core
from eas.core import survey as survey_core
from eas.db import transaction
from eas.schemas import ReplicaIn
from tests.acceptance.cli import run_sdc
from tests.archive_support import observation, product
from tests.rucio_server import RucioServer
from tests.rucio_support import deployment

pytestmark = pytest.mark.rucio

CONTENT = {"EUC_VIS_0001": b"calibrated frame " * 64, "EUC_NIR_0001": b"near infrared " * 32}


def rucio(server: RucioServer, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """The stock `rucio` console script of rucio-clients, with the client config a scientist
    would have (README: "Scientists with plain Rucio")."""
    env = os.environ | {"RUCIO_CONFIG": str(server.client_cfg)}
    script = Path(sys.executable).with_name("rucio")
    return subprocess.run(
        [str(script), *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=120
    )


def test_stock_rucio_cli_lists_locates_and_downloads_a_synced_product(
    rucio_server: RucioServer, tmp_path: Path
) -> None:
    d = deployment(rucio_server, tmp_path)
    sessions = d.sessions()
    with transaction(sessions) as session:
        survey_core.add_observations(session, [observation(42)])
        for pid, data in CONTENT.items():
            adler = f"{zlib.adler32(data) & 0xFFFFFFFF:08x}"
            product_core.register_product(
                session,
                product(
                    pid,
                    size_bytes=len(data),
                    adler32=adler,
                    obs_id=42,
                    metadata={"band": pid.split("_")[1]},
                ),
            )
            replica_core.add_replica(session, pid, ReplicaIn(site="SDC-DE", url=pid))
    sessions.kw["bind"].dispose()

    synced = run_sdc("--config", str(d.config_file), "archive", "rucio", "sync", "--site", "SDC-DE")
    assert synced.returncode == 0, synced.stderr
    assert "2 replica(s)" in synced.stdout
    # The RSE is the site's storage: its files sit where Rucio's deterministic paths say.
    for pid, data in CONTENT.items():
        (found,) = d.client.list_replicas([{"scope": d.scope, "name": pid}])
        path = Path(found["rses"]["SDC-DE_DISK"][0].removeprefix("file://localhost"))
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)

    listed = rucio(
        rucio_server, "did", "list", f"{d.scope}:*", "--filter", "type=all", cwd=tmp_path
    )
    assert listed.returncode == 0, listed.stderr
    assert "EUC_VIS_0001" in listed.stdout and "obs-42" in listed.stdout
    content = rucio(rucio_server, "did", "content", "list", f"{d.scope}:obs-42", cwd=tmp_path)
    assert content.returncode == 0, content.stderr
    assert "EUC_NIR_0001" in content.stdout
    located = rucio(
        rucio_server, "replica", "list", "file", f"{d.scope}:EUC_VIS_0001", cwd=tmp_path
    )
    assert located.returncode == 0, located.stderr
    assert "SDC-DE_DISK" in located.stdout
    adler = f"{zlib.adler32(CONTENT['EUC_VIS_0001']) & 0xFFFFFFFF:08x}"
    assert adler in located.stdout
    fetched = rucio(
        rucio_server, "download", "--dir", "dl", f"{d.scope}:EUC_VIS_0001", cwd=tmp_path
    )
    assert fetched.returncode == 0, fetched.stderr
    assert (tmp_path / "dl" / d.scope / "EUC_VIS_0001").read_bytes() == CONTENT["EUC_VIS_0001"]
    meta = rucio(
        rucio_server,
        "did",
        "metadata",
        "list",
        f"{d.scope}:EUC_VIS_0001",
        "--plugin",
        "JSON",
        cwd=tmp_path,
    )
    assert meta.returncode == 0, meta.stderr
    assert "VIS" in meta.stdout and "product_type" in meta.stdout
