"""Agents and operators over real HTTP: the composed server (archive + scheduler routes) under
uvicorn, called with `eas.job_client.JobClient`, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.orm import Session, sessionmaker

from eas.errors import Conflict, Forbidden
from eas.job_client import JobClient
from eas.job_schemas import JobOutcome
from metascheduler.config import SchedulerConfig
from metascheduler.loop import Scheduler
from sdc.composition import server_app
from sdc.settings import Settings
from tests import archive_support
from tests.archive_support import mint
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
