"""Leases on job rows: claim, heartbeat, start, finish, with a fencing epoch.

A claim bumps the job's epoch; every later call from the holder carries that epoch and is
refused (Conflict, HTTP 409) once the lease was taken over, so a stale agent can never
overwrite what a newer holder did.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import case, or_, select, update
from sqlalchemy.orm import Session

from eas.errors import Conflict, NotFound
from eas.models import Job as JobRow
from metascheduler.config import SchedulerConfig
from metascheduler.jobs import ErrorClass, JobState
from metascheduler.retry import Quarantine, after_failure
from metascheduler.rows import job_value, site_state

CANDIDATES_PER_TRY = 8


@dataclass(frozen=True)
class Outcome:
    """How an attempt ended, as reported by the agent."""

    succeeded: bool
    error_class: ErrorClass | None = None
    message: str = ""
    used_resources: dict[str, Any] | None = None
    log_url: str | None = None


def claim_next(
    session: Session, site: str, owner: str, now: datetime, config: SchedulerConfig
) -> JobRow | None:
    """Lease the next queued job of `site` to `owner`; None when there is none to run.

    A site that is inactive or in maintenance gets no new claims.
    """
    if not site_state(session, now).up_at(site, now):
        return None
    boosted = JobRow.priority + case((JobRow.attempts > 0, 5), else_=0)
    query = (
        select(JobRow.id)
        .where(JobRow.target_site == site, JobRow.state == JobState.QUEUED.value)
        .where(or_(JobRow.not_before.is_(None), JobRow.not_before <= now))
        .order_by(boosted.desc(), JobRow.ready_at, JobRow.id)
        .limit(CANDIDATES_PER_TRY)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    for job_id in session.scalars(query).all():
        row = _lease(session, job_id, site, owner, now, config)
        if row is not None:
            return row
    return None


def claim_job(
    session: Session, job_id: int, site: str, owner: str, now: datetime, config: SchedulerConfig
) -> JobRow | None:
    """Lease job `job_id` to `owner` if it is QUEUED at `site` and may start now; else None.

    This is how a Celery message is turned into a claim: the message only names the job, the
    row decides, so a duplicate or stale message claims nothing.
    """
    if not site_state(session, now).up_at(site, now):
        return None
    return _lease(session, job_id, site, owner, now, config)


def _lease(
    session: Session, job_id: int, site: str, owner: str, now: datetime, config: SchedulerConfig
) -> JobRow | None:
    # The conditional update is the claim: of two racing claimers only one matches.
    claimed = session.execute(
        update(JobRow)
        .where(JobRow.id == job_id, JobRow.state == JobState.QUEUED.value)
        .where(JobRow.target_site == site)
        .where(or_(JobRow.not_before.is_(None), JobRow.not_before <= now))
        .values(
            state=JobState.CLAIMED.value,
            lease_owner=owner,
            lease_epoch=JobRow.lease_epoch + 1,
            lease_expiry=now + config.lease,
            heartbeat_at=now,
            attempts=JobRow.attempts + 1,
            wait_reason=None,
        )
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        return None
    return session.get(JobRow, job_id, populate_existing=True)


def _held(session: Session, job_id: int, owner: str, epoch: int) -> JobRow:
    query = select(JobRow).where(JobRow.id == job_id)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    row = session.scalars(query).one_or_none()
    if row is None:
        raise NotFound(f"no job {job_id}")
    if row.lease_epoch != epoch or row.lease_owner != owner:
        raise Conflict(
            f"stale lease on job {job_id}: epoch {epoch} of {owner}, "
            f"current epoch {row.lease_epoch} of {row.lease_owner}"
        )
    if row.state not in (JobState.CLAIMED.value, JobState.RUNNING.value):
        raise Conflict(f"job {job_id} is {row.state}, not held")
    return row


def heartbeat(
    session: Session, job_id: int, owner: str, epoch: int, now: datetime, config: SchedulerConfig
) -> JobRow:
    """Extend the lease of a job still held at `epoch`."""
    row = _held(session, job_id, owner, epoch)
    row.heartbeat_at = now
    row.lease_expiry = now + config.lease
    return row


def start(
    session: Session, job_id: int, owner: str, epoch: int, now: datetime, config: SchedulerConfig
) -> JobRow:
    """Mark a claimed job RUNNING (the pipeline has started)."""
    row = heartbeat(session, job_id, owner, epoch, now, config)
    row.state = JobState.RUNNING.value
    row.started = row.started or now
    return row


def finish(
    session: Session,
    job_id: int,
    owner: str,
    epoch: int,
    outcome: Outcome,
    now: datetime,
    config: SchedulerConfig,
) -> JobRow:
    """Record an attempt's end: success, a retry (with backoff / more memory) or quarantine."""
    row = _held(session, job_id, owner, epoch)
    row.lease_owner, row.lease_expiry = None, None
    row.used_resources = outcome.used_resources
    row.log_url = outcome.log_url or row.log_url
    if outcome.succeeded:
        row.state, row.finished, row.error_class, row.wait_reason = "SUCCEEDED", now, None, None
        return row
    error = outcome.error_class or ErrorClass.NONZERO_EXIT
    row.error_class = error.value
    apply_failure(row, error, outcome.message, now, config)
    return row


def apply_failure(
    row: JobRow, error: ErrorClass, message: str, now: datetime, config: SchedulerConfig
) -> None:
    """Put a failed attempt's job where the retry policy says: PENDING again or FAILED."""
    decision = after_failure(job_value(row), error, now, config.retry_policy())
    detail = f": {message}" if message else ""
    if isinstance(decision, Quarantine):
        row.state, row.finished, row.quarantined = "FAILED", now, True
        row.wait_reason = f"quarantined: {decision.reason}{detail}"
        return
    row.state = JobState.PENDING.value
    row.not_before = decision.not_before
    row.wait_reason = f"retry after {error.value}{detail}"
    resources = dict(row.requested_resources or {})
    resources["ram"] = decision.ram_gb
    row.requested_resources = resources
