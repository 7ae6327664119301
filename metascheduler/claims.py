"""Taking leases on job rows: one conditional `UPDATE ... RETURNING` claims a batch.

A claim sets the owner, bumps the job's fencing epoch and its attempts and sets the expiry;
every later call of the holder carries that epoch (`metascheduler.leases`). The claim is
the conditional update itself (`WHERE state = 'QUEUED'`), so of two racing claimers exactly
one gets a row; on PostgreSQL the candidates are picked `FOR UPDATE SKIP LOCKED`, so racing
claimers take different rows instead of waiting for each other.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, Select, case, func, or_, select, update
from sqlalchemy.orm import Session

from eas.models import Job as JobRow
from metascheduler.config import SchedulerConfig
from metascheduler.jobs import JobState
from metascheduler.priority import RETRY_BOOST
from metascheduler.rows import site_up

MAX_CLAIM_BATCH = 500


def _effective_priority() -> ColumnElement[int]:
    return JobRow.priority + case((JobRow.attempts > 0, RETRY_BOOST), else_=0)


def _claimable(site: str, now: datetime) -> Select[int]:
    return (
        select(JobRow.id)
        .where(JobRow.target_site == site, JobRow.state == JobState.QUEUED.value)
        .where(or_(JobRow.not_before.is_(None), JobRow.not_before <= now))
    )


def claim_queued(
    session: Session,
    site: str,
    owner: str,
    now: datetime,
    config: SchedulerConfig,
    limit: int = 1,
    start: bool = False,
) -> list[JobRow]:
    """Lease up to `limit` queued jobs of `site` to `owner`, in queue order (maybe none).

    `start`: the jobs go straight to RUNNING (the agent starts them at once), saving the
    separate start call. A site that is inactive or in maintenance gets no claims.
    """
    candidates = (
        _claimable(site, now)
        .order_by(_effective_priority().desc(), JobRow.ready_at, JobRow.id)
        .limit(min(limit, MAX_CLAIM_BATCH))
    )
    # the batch is run at once (it fills the agent's free slots): its own order is by id
    return sorted(_lease(session, candidates, site, owner, now, config, start), key=_id)


def claim_listed(
    session: Session,
    job_ids: Sequence[int],
    site: str,
    owner: str,
    now: datetime,
    config: SchedulerConfig,
    start: bool = False,
) -> list[JobRow]:
    """Lease those of `job_ids` that are QUEUED at `site` and may start now (maybe none).

    This is how Celery messages become claims: a message only names its job, the row
    decides, so a duplicate or stale message claims nothing.
    """
    wanted = sorted(set(job_ids))[:MAX_CLAIM_BATCH]
    if not wanted:
        return []
    candidates = _claimable(site, now).where(JobRow.id.in_(wanted))
    return sorted(_lease(session, candidates, site, owner, now, config, start), key=_id)


def claim_next(
    session: Session, site: str, owner: str, now: datetime, config: SchedulerConfig
) -> JobRow | None:
    """Lease the next queued job of `site` to `owner`; None when there is none to run."""
    rows = claim_queued(session, site, owner, now, config, limit=1)
    return rows[0] if rows else None


def claim_job(
    session: Session, job_id: int, site: str, owner: str, now: datetime, config: SchedulerConfig
) -> JobRow | None:
    """Lease job `job_id` to `owner` if it is QUEUED at `site` and may start now; else None."""
    rows = claim_listed(session, [job_id], site, owner, now, config)
    return rows[0] if rows else None


def _id(row: JobRow) -> int:
    return row.id


def _lease(
    session: Session,
    candidates: Select[int],
    site: str,
    owner: str,
    now: datetime,
    config: SchedulerConfig,
    start: bool,
) -> list[JobRow]:
    if not site_up(session, site, now):
        return []
    chosen: Select[int] | list[int] = candidates
    if session.get_bind().dialect.name == "postgresql":
        # Locked first, in a statement of its own: as a subquery of the UPDATE, PostgreSQL
        # may run it once per row of a nested loop, each run locking more rows than `limit`.
        chosen = list(session.scalars(candidates.with_for_update(skip_locked=True)))
        if not chosen:
            return []
    values: dict[str, object] = {
        "state": JobState.CLAIMED.value,
        "lease_owner": owner,
        "lease_epoch": JobRow.lease_epoch + 1,
        "lease_expiry": now + config.lease,
        "heartbeat_at": now,
        "attempts": JobRow.attempts + 1,
        "wait_reason": None,
    }
    if start:
        values.update(state=JobState.RUNNING.value, started=func.coalesce(JobRow.started, now))
    # The state test is repeated on the UPDATE: on SQLite (no row locks, one writer at a
    # time, the subquery runs once) it is what makes a racing claimer match nothing.
    ids = chosen if isinstance(chosen, list) else chosen.scalar_subquery()
    claimed = session.scalars(
        update(JobRow)
        .where(JobRow.id.in_(ids))
        .where(JobRow.state == JobState.QUEUED.value)
        .values(values)
        .returning(JobRow)
        .execution_options(synchronize_session=False, populate_existing=True)
    )
    return list(claimed.all())
