"""The demo's closing `sdc scheduler why` lines, on both archive backends."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from eas.models import Job
from metascheduler.config import SchedulerConfig
from sdc.demo.summary import explain_unfinished
from tests import archive_support
from tests.dashboard_support import seed_operations

archive_url = archive_support.archive_url
sessions = archive_support.sessions
sqlite_template = archive_support.sqlite_template
pg_archive_url = archive_support.pg_archive_url


def test_only_jobs_that_did_not_succeed_are_explained(
    sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    seeded = seed_operations(sessions, tmp_path)
    with sessions() as session:
        open_ids = list(session.scalars(select(Job.id).where(Job.state != "SUCCEEDED")))
    assert open_ids, "the seeded archive has open jobs"
    explained = explain_unfinished(sessions, SchedulerConfig(), limit=len(open_ids))
    assert sorted(explained) == sorted(open_ids) and seeded.calibrate_job not in explained
    assert all(lines for lines in explained.values())
    assert len(explain_unfinished(sessions, SchedulerConfig(), limit=1)) == 1
