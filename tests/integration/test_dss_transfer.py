"""Transfers between sites' DSS against the real archive: verified, registered, copied once."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from dss.client import StorageClient
from dss.client_errors import Conflict, Forbidden, NotFound, Unavailable
from dss.config import DssConfig
from dss.posix import PosixBackend, PosixUpload
from dss.server import create_app
from dss.transfer import TransferOutcome
from eas.schemas import MaintenanceWindowIn, ReplicaIn
from tests import archive_support
from tests.dss_fixtures import serving
from tests.federation import Federation, federation, sqlite_federation

sqlite_template = archive_support.sqlite_template
pg_archive_url = archive_support.pg_archive_url
archive_url = archive_support.archive_url
sessions = archive_support.sessions

DATA = os.urandom(3 * 1024 * 1024 + 11)


@pytest.fixture
def world(sqlite_template: Path, tmp_path: Path) -> Iterator[Federation]:
    """The federation on SQLite (the concurrency test also runs it on PostgreSQL)."""
    with sqlite_federation(sqlite_template, tmp_path) as world:
        yield world


def test_transfer_pulls_verifies_and_registers(world: Federation) -> None:
    path = world.publish("P1", DATA, "SDC-FR")
    with world.storage("SDC-DE", "agent_de") as de:
        result = de.transfer("P1")
        assert result.outcome is TransferOutcome.COPIED and result.source == "SDC-FR"
        assert result.path == path and result.site == "SDC-DE"
        assert (world.roots["SDC-DE"] / path).read_bytes() == DATA
        assert world.states("P1") == {"SDC-FR": "AVAILABLE", "SDC-DE": "AVAILABLE"}
        again = de.transfer("P1")
        assert again.outcome is TransferOutcome.ALREADY_THERE
        assert again.replica_id == result.replica_id
        with pytest.raises(NotFound, match="NOPE"):
            de.transfer("NOPE")
    # only the destination's agent (or an admin) may ask: FR's agent cannot fill DE's storage
    with world.storage("SDC-DE", "agent_fr") as wrong, pytest.raises(Forbidden):
        wrong.transfer("P1")
    with StorageClient("http://127.0.0.1:9", "t") as gone, pytest.raises(Unavailable, match=":9"):
        gone.transfer("P1")  # a destination DSS that is down: a typed error, not a crash


def test_rotten_source_ends_bad_and_nothing_is_visible(world: Federation) -> None:
    path = world.publish("P2", DATA, "SDC-FR")
    on_disk = world.roots["SDC-FR"] / path
    before = on_disk.stat()
    rotten = bytearray(DATA)
    rotten[len(DATA) // 2] ^= 0xFF  # one flipped byte, size and mtime unchanged
    on_disk.write_bytes(rotten)
    os.utime(on_disk, ns=(before.st_atime_ns, before.st_mtime_ns))
    with world.storage("SDC-DE", "agent_de") as de:
        with pytest.raises(Unavailable, match="failed"):
            de.transfer("P2")
        assert world.states("P2")["SDC-DE"] == "BAD"
        assert de.list() == []
        assert not list((world.roots["SDC-DE"] / ".dss" / "tmp").iterdir())
        # the source is repaired: the BAD row is claimed again and the copy succeeds
        on_disk.write_bytes(DATA)
        os.utime(on_disk, ns=(before.st_atime_ns, before.st_mtime_ns))
        assert de.transfer("P2").outcome is TransferOutcome.COPIED
    assert world.states("P2")["SDC-DE"] == "AVAILABLE"


def test_a_source_in_maintenance_is_not_used(world: Federation) -> None:
    world.publish("P3", DATA, "SDC-FR", "SDC-DE")
    now = datetime.now(UTC)
    with world.admin() as archive:
        window = MaintenanceWindowIn(
            site="SDC-DE", start=now - timedelta(hours=1), end=now + timedelta(hours=1)
        )
        archive.add_maintenance(window)
    with world.storage("SDC-ES", "agent_es") as es:
        assert es.transfer("P3").source == "SDC-FR"  # DE would win the tie on name
    world.publish("P4", DATA, "SDC-DE", path="other/P4.fits")
    with world.storage("SDC-ES", "agent_es") as es, pytest.raises(Conflict, match="maintenance"):
        es.transfer("P4")
    assert "SDC-ES" not in world.states("P4")


class GatedPosix(PosixBackend):
    """The real POSIX backend whose first upload waits for `release`; counts uploads."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.uploads = 0
        self.release = threading.Event()

    def begin_upload(self, path: str) -> PosixUpload:
        self.uploads += 1
        if self.uploads == 1:
            self.release.wait(20)
        return super().begin_upload(path)


def test_concurrent_transfers_copy_once(
    archive_url: str, sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    """Two DSS processes of one site asked at once: the archive's replica row is the lock."""
    gated = GatedPosix(tmp_path / "SDC-DE")
    with federation(sessions, archive_url, tmp_path, {"SDC-DE": gated}) as world:
        world.publish("P5", DATA, "SDC-FR")
        # a second DSS of SDC-DE over the same storage, as a second server process would be
        twin_config = DssConfig(site="SDC-DE", archive_url=world.archive)
        with serving(create_app(twin_config, backend=gated)) as twin:
            outcomes: dict[str, TransferOutcome] = {}

            def ask(name: str, url: str) -> None:
                with StorageClient(url, world.tokens["agent_de"]) as dss:
                    outcomes[name] = dss.transfer("P5").outcome

            first = threading.Thread(target=ask, args=("first", world.dss["SDC-DE"]))
            first.start()
            _wait_for(lambda: world.states("P5").get("SDC-DE") == "COPYING")
            second = threading.Thread(target=ask, args=("second", twin))
            second.start()
            second.join(1.0)  # it finds the row COPYING and waits for that copy
            gated.release.set()
            first.join(20)
            second.join(20)
    assert outcomes["first"] is TransferOutcome.COPIED
    assert outcomes["second"] in {TransferOutcome.COPIED_BY_ANOTHER, TransferOutcome.ALREADY_THERE}
    assert gated.uploads == 1
    assert (tmp_path / "SDC-DE" / "products" / "P5.fits").read_bytes() == DATA


def _wait_for(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + 20
    while not condition():
        assert time.monotonic() < deadline, "condition never held"
        time.sleep(0.02)


def test_a_copy_in_progress_is_waited_for_and_an_abandoned_one_taken_over(
    world: Federation,
) -> None:
    path = world.publish("P6", DATA, "SDC-FR")
    with world.admin() as archive:  # a transfer that claimed the row, then died
        dead = ReplicaIn(site="SDC-DE", url=f"{world.dss['SDC-DE']}/api/v1/files/{path}")
        archive.add_replica("P6", dead.model_copy(update={"state": "COPYING"}))
    de_root = world.roots["SDC-DE"]
    impatient = DssConfig(site="SDC-DE", archive_url=world.archive, transfer_wait_seconds=0)
    with (
        serving(create_app(impatient, backend=PosixBackend(de_root))) as url,
        StorageClient(url, world.tokens["agent_de"]) as de,
        pytest.raises(Conflict, match="still being copied"),
    ):
        de.transfer("P6")
    assert world.states("P6")["SDC-DE"] == "COPYING" and not (de_root / path).exists()
    brisk = DssConfig(site="SDC-DE", archive_url=world.archive, transfer_stale_seconds=0.01)
    with serving(create_app(brisk, backend=PosixBackend(de_root))) as url:
        time.sleep(0.02)  # the dead claim ages past transfer_stale_seconds
        with StorageClient(url, world.tokens["agent_de"]) as de:
            assert de.transfer("P6").outcome is TransferOutcome.COPIED
    assert world.states("P6")["SDC-DE"] == "AVAILABLE"
    assert (de_root / path).read_bytes() == DATA


def test_a_copy_whose_claim_was_taken_over_stops_and_leaves_the_row_alone(
    world: Federation,
) -> None:
    path = world.publish("P7", DATA, "SDC-FR")
    gated = GatedPosix(world.roots["SDC-DE"])
    brisk = DssConfig(site="SDC-DE", archive_url=world.archive, transfer_stale_seconds=0.01)
    with serving(create_app(brisk, backend=gated)) as url:
        failure: list[Exception] = []

        def ask() -> None:
            with StorageClient(url, world.tokens["agent_de"]) as de:
                try:
                    de.transfer("P7")
                except Conflict as exc:
                    failure.append(exc)

        copier = threading.Thread(target=ask)
        copier.start()
        _wait_for(lambda: world.states("P7").get("SDC-DE") == "COPYING")
        with world.admin() as archive:  # another transfer judged it dead and took the row
            (row,) = archive.list_replicas(product_id="P7", site="SDC-DE")
            archive.set_replica_state(row.id, "BAD", expected_state="COPYING")
        gated.release.set()
        copier.join(20)
    assert failure and "taken over" in str(failure[0])
    assert world.states("P7")["SDC-DE"] == "BAD"  # as the taker left it, not touched again
    assert not (world.roots["SDC-DE"] / path).exists()
