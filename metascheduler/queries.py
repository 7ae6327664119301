"""Reading jobs for operators: lists, one job, `why`, manual priority bumps."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from eas.errors import BadRequest, NotFound
from eas.models import JOB_STATES
from eas.models import Job as JobRow
from metascheduler.config import SchedulerConfig
from metascheduler.explain import why
from metascheduler.planning import tile_inputs
from metascheduler.rows import job_value, site_state


def list_jobs(
    session: Session,
    state: str | None = None,
    site: str | None = None,
    quarantined: bool | None = None,
    limit: int = 1000,
) -> Sequence[JobRow]:
    """Jobs by state, target site and quarantine flag, oldest first."""
    query = select(JobRow).order_by(JobRow.id).limit(limit)
    if state is not None:
        if state not in JOB_STATES:
            raise BadRequest(f"unknown job state {state!r}; one of {', '.join(JOB_STATES)}")
        query = query.where(JobRow.state == state)
    if site is not None:
        query = query.where(JobRow.target_site == site)
    if quarantined is not None:
        query = query.where(JobRow.quarantined.is_(quarantined))
    return session.scalars(query).all()


def get_job(session: Session, job_id: int) -> JobRow:
    """One job; NotFound otherwise."""
    row = session.get(JobRow, job_id)
    if row is None:
        raise NotFound(f"no job {job_id}")
    return row


def explain_job(session: Session, job_id: int, now: datetime, config: SchedulerConfig) -> list[str]:
    """Why the job is where it is, as lines for people."""
    row = get_job(session, job_id)
    missing: tuple[str, ...] = ()
    if row.tile_id is not None and row.state in ("PENDING", "WAITING"):
        missing = tile_inputs(session, row.tile_id, config)[1]
    queued = []
    if row.state == "QUEUED" and row.target_site is not None:
        same_site = select(JobRow).where(
            JobRow.state == "QUEUED", JobRow.target_site == row.target_site
        )
        queued = [job_value(r) for r in session.scalars(same_site)]
    lines = why(job_value(row, missing), site_state(session, now), now, queued)
    if row.wait_reason and row.wait_reason not in "\n".join(lines):
        lines.append(f"recorded reason: {row.wait_reason}")
    return lines


def bump_priority(session: Session, job_id: int, delta: int) -> JobRow:
    """Add `delta` to a job's priority."""
    row = get_job(session, job_id)
    row.priority += delta
    return row
