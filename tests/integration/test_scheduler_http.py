"""Agents and operators over real HTTP: the composed server (archive + scheduler routes) under
uvicorn, called with `eas.job_client.JobClient`, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from eas.errors import BadRequest, Conflict, Forbidden
from eas.job_client import JobClient
from eas.job_schemas import JobOutcome, JobOutputs, JobReport, OutputRegistration
from eas.models import DataProduct, Generation, Replica
from eas.schemas import ReplicaIn
from metascheduler.config import SchedulerConfig
from metascheduler.loop import Scheduler
from sdc.composition import server_app
from sdc.settings import Settings
from tests import archive_support
from tests.archive_support import mint, product
from tests.contract.test_scheduler_store import arrive, survey_with_plan
from tests.dss_fixtures import serving

archive_url = archive_support.archive_url
sessions = archive_support.sessions
sqlite_template = archive_support.sqlite_template
pg_archive_url = archive_support.pg_archive_url


@pytest.fixture
def server(archive_url: str, sessions: sessionmaker[Session]) -> Iterator[tuple[str, dict]]:
    survey_with_plan(sessions)
    tokens = mint(
        sessions,
        ("fr", "agent", "SDC-FR"),
        ("de", "agent", "SDC-DE"),
        ("reader", "reader", None),
        ("planner", "planner", None),
    )
    app = server_app(Settings(database_url=archive_url))
    with serving(app) as url:
        yield url, tokens
    app.state.engine.dispose()


def test_an_agent_claims_runs_and_finishes_its_sites_job(
    server: tuple[str, dict], sessions: sessionmaker[Session]
) -> None:
    url, tokens = server
    arrive(sessions, 0)
    Scheduler(sessions, SchedulerConfig()).run_once()
    with JobClient(url, tokens["fr"]) as fr, JobClient(url, tokens["de"]) as de:
        with pytest.raises(Forbidden):
            de.claim("SDC-FR", "agent-de")
        assert de.claim("SDC-DE", "agent-de") is None
        job = fr.claim("SDC-FR", "agent-fr-1")
        assert job is not None and job.state == "CLAIMED" and job.lease_epoch == 1
        with pytest.raises(Forbidden):
            de.heartbeat(job.id, "agent-de", 1)
        fr.start(job.id, "agent-fr-1", 1)
        with pytest.raises(Conflict, match="stale lease"):
            fr.heartbeat(job.id, "agent-fr-1", 0 + 2)
        done = fr.finish(
            job.id, JobOutcome(owner="agent-fr-1", epoch=1, succeeded=True, log_url="file:///x")
        )
        assert done.state == "SUCCEEDED" and done.log_url == "file:///x"
    with JobClient(url, tokens["reader"]) as reader:
        assert [j.state for j in reader.jobs()] == ["SUCCEEDED"]
        assert reader.why(job.id).reasons[0].endswith("is SUCCEEDED")


def test_why_and_priority_for_operators(
    server: tuple[str, dict], sessions: sessionmaker[Session]
) -> None:
    url, tokens = server
    arrive(sessions, 0, 1)
    Scheduler(sessions, SchedulerConfig()).run_once()
    with JobClient(url, tokens["reader"]) as reader, JobClient(url, tokens["planner"]) as planner:
        first, second = reader.jobs(state="QUEUED")
        with pytest.raises(Forbidden):
            reader.bump_priority(second.id, 10)
        assert planner.bump_priority(second.id, 10).priority == first.priority + 10
        reasons = reader.why(first.id).reasons
        assert "queue position 2 at SDC-FR" in reasons


def _outputs(owner: str, epoch: int, site: str = "SDC-FR") -> JobOutputs:
    made = product("CAL-0", "CALIBRATED_FRAME", obs_id=0)
    replica = ReplicaIn(site=site, url=f"http://{site}/files/CAL-0")
    return JobOutputs(
        owner=owner,
        epoch=epoch,
        outputs=[OutputRegistration(product=made, replica=replica)],
        used=["RAW_FRAME-0"],
    )


def _registered(sessions: sessionmaker[Session]) -> tuple[int, int, int]:
    """(products, replicas, generation edges) of the output CAL-0."""
    with sessions() as session:
        return tuple(  # type: ignore[return-value]
            session.scalar(select(func.count()).select_from(model).where(column == "CAL-0"))
            for model, column in (
                (DataProduct, DataProduct.product_id),
                (Replica, Replica.product_id),
                (Generation, Generation.product_id),
            )
        )


def test_a_stale_agents_registration_after_a_reclaim_is_refused_and_leaves_nothing(
    server: tuple[str, dict], sessions: sessionmaker[Session]
) -> None:
    url, tokens = server
    arrive(sessions, 0)
    config = SchedulerConfig(lease_seconds=30)
    Scheduler(sessions, config).run_once()
    with JobClient(url, tokens["fr"]) as fr:
        (job,) = fr.claim_batch("SDC-FR", "agent-1", limit=5, start=True)
        assert (job.state, job.lease_epoch) == ("RUNNING", 1)
        # agent-1 stalls past its lease: the scheduler takes the job back (epoch 2) and
        # agent-2 claims it (epoch 3)
        later = datetime.now(UTC) + timedelta(hours=1)
        assert Scheduler(sessions, config, clock=lambda: later).run_once().reclaimed == 1
        (again,) = fr.claim_batch("SDC-FR", "agent-2", limit=1, job_ids=[job.id])
        assert again.lease_epoch == 3
        with pytest.raises(Conflict, match="stale lease"):
            fr.register_outputs(job.id, _outputs("agent-1", 1))
        assert _registered(sessions) == (0, 0, 0)
        # another site's agent, even at the right epoch
        with JobClient(url, tokens["de"]) as de, pytest.raises(Forbidden):
            de.register_outputs(job.id, _outputs("agent-2", 3))
        with pytest.raises(BadRequest, match="cannot register replicas at SDC-DE"):
            fr.register_outputs(job.id, _outputs("agent-2", 3, site="SDC-DE"))
        assert _registered(sessions) == (0, 0, 0)
        # the holder registers (twice: a retry after a lost answer changes nothing)
        for _ in range(2):
            assert fr.register_outputs(job.id, _outputs("agent-2", 3)).product_ids == ["CAL-0"]
        assert _registered(sessions) == (1, 1, 1)
        # one batch of reports: the stale one is refused alone, the holder's is recorded
        answers = fr.finish_many(
            [
                JobReport(job_id=job.id, owner="agent-1", epoch=1, succeeded=True),
                JobReport(job_id=job.id, owner="agent-2", epoch=3, succeeded=True),
            ]
        )
        assert [(a.status, a.state) for a in answers] == [(409, None), (200, "SUCCEEDED")]
        with pytest.raises(Conflict, match="is SUCCEEDED, not held"):
            fr.register_outputs(job.id, _outputs("agent-2", 3))
