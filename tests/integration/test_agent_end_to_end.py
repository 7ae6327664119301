"""A site agent end to end on real servers: the archive + scheduler API and two DSS under
uvicorn, tokens checked by the archive, the example FITS pipeline on the local batch system.

The raw frame arrives at SDC-DE; the plan puts the observation's calibration at SDC-FR, so
the FR agent must stage it (a verified copy recorded COPYING -> AVAILABLE), run, upload and
register the calibrated product with lineage, and report success."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy.orm import Session, sessionmaker

from dss.client import StorageClient
from dss.config import DssConfig
from dss.server import create_app as dss_app
from eas.errors import Conflict
from eas.job_client import JobClient
from eas.job_schemas import JobOutcome
from eas.schemas import ProductIn, ReplicaIn, SiteUpdate
from metascheduler.config import SchedulerConfig
from metascheduler.loop import Scheduler
from sdc.composition import server_app
from sdc.settings import Settings
from sdc_agents.agent.config import JOB_INPUT, AgentConfig, PipelineSpec
from sdc_agents.agent.loop import Heartbeat, LeaseLost, SiteAgent
from sdc_agents.agent.staging import Stager, StagingError
from sdc_agents.drm import LocalBatchSystem
from sdc_agents.examples import EXAMPLE_PIPELINE, write_example_inputs
from tests import archive_support
from tests.archive_support import mint
from tests.contract.test_scheduler_store import survey_with_plan
from tests.dss_fixtures import serving

archive_url = archive_support.archive_url
sessions = archive_support.sessions
sqlite_template = archive_support.sqlite_template
pg_archive_url = archive_support.pg_archive_url


@dataclass
class World:
    archive: str
    dss: dict[str, str]
    tokens: dict[str, str]
    sessions: sessionmaker[Session]
    data: Path


@pytest.fixture
def world(archive_url: str, sessions: sessionmaker[Session], tmp_path: Path) -> Iterator[World]:
    survey_with_plan(sessions)
    tokens = mint(
        sessions,
        ("fr", "agent", "SDC-FR"),
        ("de", "agent", "SDC-DE"),
        ("admin", "admin", None),
    )
    app = server_app(Settings(database_url=archive_url))
    with serving(app) as archive:
        stores = {}
        with (
            serving(dss_app(_dss("SDC-FR", tmp_path, archive))) as fr,
            serving(dss_app(_dss("SDC-DE", tmp_path, archive))) as de,
        ):
            stores = {"SDC-FR": fr, "SDC-DE": de}
            with JobClient(archive, tokens["admin"]) as admin:
                for site, url in stores.items():
                    admin.update_site(site, SiteUpdate(dss_url=url))
            yield World(archive, stores, tokens, sessions, tmp_path)
    app.state.engine.dispose()


def _dss(site: str, root: Path, archive: str) -> DssConfig:
    return DssConfig(site=site, root=root / site, archive_url=archive)


def _arrive_at_de(world: World) -> str:
    """The raw frames of obs 0 land in SDC-DE's storage and are registered there."""
    inputs = write_example_inputs(world.data / "raw", frames=3)
    raw = inputs.parent / "raw_frames.fits"
    with StorageClient(world.dss["SDC-DE"], world.tokens["de"]) as de_dss:
        stat = de_dss.put("raw/obs-0.fits", raw)
        url = de_dss.url("raw/obs-0.fits")
    with JobClient(world.archive, world.tokens["de"]) as de:
        de.register_product(
            ProductIn(
                product_id="RAW-0", product_type="RAW_FRAME", obs_id=0, version="1",
                size_bytes=stat.size, adler32=stat.adler32, md5=stat.md5,
            )
        )  # fmt: skip
        de.add_replica("RAW-0", ReplicaIn(site="SDC-DE", url=url))
    return str(inputs.parent)


def _agent(world: World, masters: str, owner: str = "agent-fr-1") -> tuple[SiteAgent, JobClient]:
    jobs = JobClient(world.archive, world.tokens["fr"])
    local = StorageClient(world.dss["SDC-FR"], world.tokens["fr"])
    stager = Stager("SDC-FR", jobs, local)
    config = AgentConfig(
        workroot=world.data / "agent-fr",
        heartbeat_seconds=0.2,
        pipelines={
            "calibrate": PipelineSpec(
                script=EXAMPLE_PIPELINE,
                inputs={
                    "raw_frames": JOB_INPUT,
                    "master_dark": f"{masters}/master_dark.fits",
                    "master_flat": f"{masters}/master_flat.fits",
                },
                outputs={"combined": "CALIBRATED_FRAME", "quality": "QUALITY_REPORT"},
            )
        },
    )
    agent = SiteAgent("SDC-FR", owner, jobs, local, stager, LocalBatchSystem(os.environ), config)
    return agent, jobs


def test_agent_stages_runs_and_registers_with_lineage(world: World) -> None:
    masters = _arrive_at_de(world)
    Scheduler(world.sessions, SchedulerConfig()).run_once()
    agent, jobs = _agent(world, masters)
    with jobs:
        result = agent.run_once()
        assert result is not None and result.succeeded, result
        assert result.copied_inputs == 1
        assert agent.run_once() is None  # nothing else queued at SDC-FR
        replicas = {(r.site, r.state) for r in jobs.list_replicas(product_id="RAW-0")}
        assert replicas == {("SDC-DE", "AVAILABLE"), ("SDC-FR", "AVAILABLE")}
        calibrated = jobs.query_products(type="CALIBRATED_FRAME", obs_id=0).items
        assert len(calibrated) == 1, [(p.metadata, p.size_bytes) for p in calibrated]
        (product,) = calibrated
        (replica,) = jobs.list_replicas(product_id=product.product_id)
        assert replica.site == "SDC-FR"
        ancestors = jobs.lineage(product.product_id, direction="ancestors", depth=2)
        assert "RAW-0" in {node.product_id for node in ancestors.nodes}
        assert jobs.job(result.job_id).state == "SUCCEEDED"
    # the file in FR's storage is the registered one, byte for byte
    with StorageClient(world.dss["SDC-FR"], world.tokens["fr"]) as fr:
        stored = fr.stat(replica.url.partition("/api/v1/files/")[2])
    assert stored.adler32 == product.adler32


def test_a_stale_agent_registers_nothing(world: World) -> None:
    masters = _arrive_at_de(world)
    config = SchedulerConfig(lease_seconds=30)
    Scheduler(world.sessions, config).run_once()
    agent, jobs = _agent(world, masters)
    with jobs:
        job = jobs.claim("SDC-FR", "agent-fr-1")
        assert job is not None
        # the agent hangs past its lease; the scheduler (an hour later) takes the job back
        later = datetime.now(UTC) + timedelta(hours=1)
        assert Scheduler(world.sessions, config, clock=lambda: later).run_once().reclaimed == 1
        with pytest.raises(LeaseLost):
            Heartbeat(jobs, job, "agent-fr-1", 1.0).check()
        # a second agent runs it; the stale one's late finish is refused
        fresh, _ = _agent(world, masters, owner="agent-fr-2")
        result = fresh.run_once()
        assert result is not None and result.succeeded and result.job_id == job.id
        stale = JobOutcome(owner="agent-fr-1", epoch=job.lease_epoch, succeeded=False)
        with pytest.raises(Conflict):
            jobs.finish(job.id, stale)
        assert len(jobs.query_products(type="CALIBRATED_FRAME").items) == 1
        assert jobs.job(job.id).state == "SUCCEEDED"


def test_a_copy_already_in_flight_is_awaited_not_repeated(world: World) -> None:
    _arrive_at_de(world)
    with JobClient(world.archive, world.tokens["admin"]) as admin:
        fr = StorageClient(world.dss["SDC-FR"], world.tokens["admin"])
        # someone else started copying RAW-0 to SDC-FR and never finished
        inflight = admin.add_replica(
            "RAW-0", ReplicaIn(site="SDC-FR", url=fr.url("raw/obs-0.fits"), state="COPYING")
        )
        impatient = Stager("SDC-FR", admin, fr, copy_wait_seconds=0.5)
        with pytest.raises(StagingError, match="did not finish"):
            impatient.replicate("RAW-0")
        # the other transfer completes while we wait: nothing is copied twice
        finisher = threading.Timer(0.5, admin.set_replica_state, (inflight.id, "AVAILABLE"))
        finisher.start()
        patient = Stager("SDC-FR", admin, fr, copy_wait_seconds=30)
        assert patient.replicate("RAW-0") is False
        finisher.join()
