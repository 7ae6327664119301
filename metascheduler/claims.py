"""Taking leases on job rows: one conditional `UPDATE ... RETURNING` claims a batch.

A claim sets the owner, bumps the job's fencing epoch and its attempts and sets the expiry;
every later call of the holder carries that epoch (`metascheduler.leases`). The claim is
the conditional update itself (`WHERE state = 'QUEUED'`), so of two racing claimers exactly
one gets a row; on PostgreSQL the candidates are picked `FOR UPDATE SKIP LOCKED`, so racing
claimers take different rows instead of waiting for each other.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    ColumnElement,
    Row,
    Table,
    Update,
    bindparam,
    case,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Session

from eas.models import Job as JobRow
from metascheduler.config import SchedulerConfig
from metascheduler.jobs import JobState
from metascheduler.priority import RETRY_BOOST
from metascheduler.rows import site_up

MAX_CLAIM_BATCH = 500
# A claimed job as the claim's RETURNING gives it: the job table's columns as attributes
# (`row.id`, `row.lease_epoch`, ...), read by `JobPublic.model_validate` like an ORM row.
Claimed = Row[Any]


def _effective_priority(job: Table) -> ColumnElement[int]:
    return job.c.priority + case((job.c.attempts > 0, RETRY_BOOST), else_=0)


def claim_queued(
    session: Session,
    site: str,
    owner: str,
    now: datetime,
    config: SchedulerConfig,
    limit: int = 1,
    start: bool = False,
) -> list[Claimed]:
    """Lease up to `limit` queued jobs of `site` to `owner`, in queue order (maybe none).

    `start`: the jobs go straight to RUNNING (the agent starts them at once), saving the
    separate start call. A site that is inactive or in maintenance gets no claims.
    """
    statement = _claim_statement(_on_postgresql(session), listed=False, start=start)
    values = _values(site, owner, now, config, limit=min(limit, MAX_CLAIM_BATCH))
    # the batch is run at once (it fills the agent's free slots): its own order is by id
    return sorted(session.execute(statement, values), key=_id)


def claim_listed(
    session: Session,
    job_ids: Sequence[int],
    site: str,
    owner: str,
    now: datetime,
    config: SchedulerConfig,
    start: bool = False,
) -> list[Claimed]:
    """Lease those of `job_ids` that are QUEUED at `site` and may start now (maybe none).

    This is how Celery messages become claims: a message only names its jobs, the row
    decides, so a duplicate or stale message claims nothing.
    """
    wanted = sorted(set(job_ids))[:MAX_CLAIM_BATCH]
    if not wanted:
        return []
    statement = _claim_statement(_on_postgresql(session), listed=True, start=start)
    values = _values(site, owner, now, config, ids=wanted)
    return sorted(session.execute(statement, values), key=_id)


def claim_next(
    session: Session, site: str, owner: str, now: datetime, config: SchedulerConfig
) -> Claimed | None:
    """Lease the next queued job of `site` to `owner`; None when there is none to run."""
    rows = claim_queued(session, site, owner, now, config, limit=1)
    return rows[0] if rows else None


def claim_job(
    session: Session, job_id: int, site: str, owner: str, now: datetime, config: SchedulerConfig
) -> Claimed | None:
    """Lease job `job_id` to `owner` if it is QUEUED at `site` and may start now; else None."""
    rows = claim_listed(session, [job_id], site, owner, now, config)
    return rows[0] if rows else None


def _id(row: Claimed) -> int:
    return int(row.id)


def _on_postgresql(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _values(
    site: str, owner: str, now: datetime, config: SchedulerConfig, **more: object
) -> dict[str, object]:
    return {"site": site, "owner": owner, "now": now, "expiry": now + config.lease, **more}


@functools.cache
def _claim_statement(postgresql: bool, listed: bool, start: bool) -> Update:
    """The claim, one statement: pick the candidates (at a site that is up), lease them,
    return them. Its values are bound parameters (`_values`), so it is built once per kind:
    a claim is the agents' hottest call, and building the statement and its cache key on
    every call cost more CPU than the database's work. Core, not the ORM, for the same
    reason: the rows come back as `Row`s with the job's columns as attributes.
    """
    job = cast(Table, JobRow.__table__)  # the mapped table (typed FromClause)
    now = bindparam("now", type_=job.c.lease_expiry.type)
    candidates = (
        select(job.c.id)
        .where(job.c.target_site == bindparam("site"), job.c.state == JobState.QUEUED.value)
        .where(or_(job.c.not_before.is_(None), job.c.not_before <= now))
        .where(site_up(bindparam("site"), now))
    )
    if listed:
        candidates = candidates.where(job.c.id.in_(bindparam("ids", expanding=True)))
    else:
        order = (_effective_priority(job).desc(), job.c.ready_at, job.c.id)
        candidates = candidates.order_by(*order).limit(bindparam("limit"))
    values: dict[str, Any] = {
        "state": JobState.CLAIMED.value,
        "lease_owner": bindparam("owner"),
        "lease_epoch": job.c.lease_epoch + 1,
        "lease_expiry": bindparam("expiry", type_=job.c.lease_expiry.type),
        "heartbeat_at": now,
        "attempts": job.c.attempts + 1,
        "wait_reason": None,
    }
    if start:
        values.update(state=JobState.RUNNING.value, started=func.coalesce(job.c.started, now))
    claim = update(job)
    if postgresql:
        # Locked in a MATERIALIZED CTE, run once: as a plain subquery of the UPDATE,
        # PostgreSQL may run it once per row of a nested loop, each run locking more rows
        # than `limit`. SKIP LOCKED: racing claimers take different rows, never wait.
        # The rows it returns were QUEUED when it locked them and stay locked until the
        # claim commits, so the UPDATE joins them by id alone: a repeated state test let
        # the planner of a table without statistics (a fresh burst) scan every QUEUED row.
        locked = candidates.with_for_update(skip_locked=True)
        picked = locked.cte("picked").prefix_with("MATERIALIZED")
        claim = claim.where(job.c.id == picked.c.id)
    else:
        # The state test is repeated on the UPDATE: on SQLite (no row locks, one writer at
        # a time, the subquery runs once) it is what makes a racing claimer match nothing.
        claim = claim.where(job.c.id.in_(candidates.scalar_subquery()))
        claim = claim.where(job.c.state == JobState.QUEUED.value)
    return claim.values(values).returning(*job.c)
