"""Agents staging inputs through the DSS transfer against the real archive and DSS servers."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from dss.client import StorageClient
from eas.client import ArchiveClient
from sdc_agents.agent.staging import Stager, StagingError, StagingReport
from tests import archive_support
from tests.federation import federation
from tests.integration.test_dss_transfer import GatedPosix

sqlite_template = archive_support.sqlite_template
pg_archive_url = archive_support.pg_archive_url
archive_url = archive_support.archive_url
sessions = archive_support.sessions

DATA = os.urandom(2 * 1024 * 1024 + 5)


def test_concurrent_stagings_of_one_product_copy_it_once(
    archive_url: str, sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    """Two agents of SDC-DE stage the same input at once: SDC-DE's DSS copies it once."""
    gated = GatedPosix(tmp_path / "SDC-DE")
    with federation(sessions, archive_url, tmp_path, {"SDC-DE": gated}) as world:
        path = world.publish("P1", DATA, "SDC-FR")
        token = world.tokens["agent_de"]
        reports: dict[str, StagingReport] = {}

        def stage(agent: str) -> None:
            with (
                ArchiveClient(world.archive, token) as archive,
                StorageClient(world.dss["SDC-DE"], token) as local,
            ):
                stager = Stager("SDC-DE", archive, local, copy_wait_seconds=20)
                reports[agent] = stager.stage(["P1"], tmp_path / agent)

        first = threading.Thread(target=stage, args=("first",))
        first.start()
        # the first transfer holds the replica row COPYING while its upload is gated
        _wait_for(lambda: world.states("P1").get("SDC-DE") == "COPYING")
        second = threading.Thread(target=stage, args=("second",))
        second.start()
        second.join(1.0)  # it finds the row COPYING and waits for that copy
        assert second.is_alive()
        gated.release.set()
        first.join(20)
        second.join(20)
        assert world.states("P1") == {"SDC-FR": "AVAILABLE", "SDC-DE": "AVAILABLE"}
    assert sorted(r.copied for r in reports.values()) == [0, 1]
    assert gated.uploads == 1  # one copy into SDC-DE's storage, by its DSS
    assert (tmp_path / "SDC-DE" / path).read_bytes() == DATA
    for agent, report in reports.items():
        assert report.files == [tmp_path / agent / "P1.fits"]
        assert report.files[0].read_bytes() == DATA


def test_staging_without_a_usable_source_names_the_product(
    archive_url: str, sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    with federation(sessions, archive_url, tmp_path) as world:
        world.publish("P2", DATA, "SDC-FR")
        (world.roots["SDC-FR"] / "products" / "P2.fits").unlink()  # the source lost its file
        token = world.tokens["agent_de"]
        with (
            ArchiveClient(world.archive, token) as archive,
            StorageClient(world.dss["SDC-DE"], token, retries=0) as local,
        ):
            stager = Stager("SDC-DE", archive, local)
            with pytest.raises(StagingError, match="cannot stage P2 to SDC-DE"):
                stager.stage(["P2"], tmp_path / "job")
        assert world.states("P2")["SDC-DE"] == "BAD"  # never AVAILABLE
        assert not (world.roots["SDC-DE"] / "products" / "P2.fits").exists()


def _wait_for(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 20
    while not condition():
        assert time.monotonic() < deadline, "condition never held"
        time.sleep(0.02)
