"""What the holder of a lease may do: heartbeat, start, finish; each fenced by the epoch.

Every call names the job, the owner and the epoch its claim returned. The fence is one
conditional `UPDATE ... WHERE lease_owner = :owner AND lease_epoch = :epoch` on a held row
(which also extends the lease); the change the call makes follows in the same transaction,
behind the row lock the update took. A call whose epoch is stale (the lease expired and the
job was queued again, or finished) matches nothing and is refused (Conflict, HTTP 409):
nothing of it is written.
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, Update, bindparam, select, tuple_, update
from sqlalchemy.orm import Session

from eas.errors import ArchiveError, Conflict, Forbidden, NotFound
from eas.models import Job as JobRow
from metascheduler.config import SchedulerConfig
from metascheduler.jobs import LEASED_STATES, ErrorClass, JobState
from metascheduler.retry import Quarantine, after_failure
from metascheduler.rows import job_value

HELD_STATES = tuple(sorted(state.value for state in LEASED_STATES))


@dataclass(frozen=True)
class Lease:
    """A job as its holder names it: id, owner, fencing epoch."""

    job_id: int
    owner: str
    epoch: int


@dataclass(frozen=True)
class Outcome:
    """How an attempt ended, as reported by the agent."""

    succeeded: bool
    error_class: ErrorClass | None = None
    message: str = ""
    used_resources: dict[str, Any] | None = None
    log_url: str | None = None


def fence(
    session: Session,
    leases: Sequence[Lease],
    now: datetime,
    config: SchedulerConfig,
    site: str | None = None,
) -> set[Lease]:
    """Extend every lease still held at its epoch (at `site`, for an agent); those held.

    The rows stay locked until the transaction ends, so what the caller writes next cannot
    interleave with a reclaim.
    """
    if not leases:
        return set()
    keys = [(lease.job_id, lease.owner, lease.epoch) for lease in leases]
    values = {"keys": keys, "site": site, "now": now, "expiry": now + config.lease}
    rows = session.execute(_fence_statement(site is not None, succeed=False), values)
    # a matched row's owner is the lease's (the WHERE clause compared it): never None here
    return {Lease(i, owner or "", epoch) for i, owner, epoch in rows}


def _succeed_held(
    session: Session, leases: Sequence[Lease], now: datetime, site: str | None
) -> set[Lease]:
    """Fence and end as SUCCEEDED, in one statement, the jobs of `leases` still held; those
    ended (a busy agent's reports are mostly plain successes)."""
    if not leases:
        return set()
    by_id = {lease.job_id: lease for lease in leases}
    keys = [(lease.job_id, lease.owner, lease.epoch) for lease in leases]
    values = {"keys": keys, "site": site, "now": now}
    rows = session.execute(_fence_statement(site is not None, succeed=True), values)
    return {by_id[job_id] for (job_id,) in rows}


@functools.cache
def _fence_statement(by_site: bool, succeed: bool) -> Update:
    """The fence as one statement with bound values, built once per kind (the reports of
    busy agents are the hottest writes): extend the held leases, or end them as SUCCEEDED."""
    job = cast(Table, JobRow.__table__)  # the mapped table (typed FromClause)
    now = bindparam("now", type_=job.c.heartbeat_at.type)
    keys = tuple_(job.c.id, job.c.lease_owner, job.c.lease_epoch)
    statement = (
        update(job)
        .where(keys.in_(bindparam("keys", expanding=True)))
        .where(job.c.state.in_(HELD_STATES))
    )
    if by_site:
        statement = statement.where(job.c.target_site == bindparam("site"))
    if not succeed:
        expiry = bindparam("expiry", type_=job.c.lease_expiry.type)
        statement = statement.values(heartbeat_at=now, lease_expiry=expiry)
        return statement.returning(job.c.id, job.c.lease_owner, job.c.lease_epoch)
    ended = statement.values(
        state=JobState.SUCCEEDED.value,
        heartbeat_at=now,
        finished=now,
        lease_owner=None,
        lease_expiry=None,
        used_resources=None,
        error_class=None,
        wait_reason=None,
    )
    return ended.returning(job.c.id)


def refusal(session: Session, lease: Lease, site: str | None = None) -> ArchiveError:
    """Why `lease` is not held: NotFound, Forbidden (another site's job) or Conflict."""
    row = session.get(JobRow, lease.job_id, populate_existing=True)
    if row is None:
        return NotFound(f"no job {lease.job_id}")
    if site is not None and row.target_site != site:
        return Forbidden(f"job {row.id} runs at {row.target_site}, not at {site}")
    if row.lease_epoch == lease.epoch and row.state not in HELD_STATES:
        return Conflict(f"job {lease.job_id} is {row.state}, not held")
    if row.lease_epoch != lease.epoch or row.lease_owner != lease.owner:
        return Conflict(
            f"stale lease on job {lease.job_id}: epoch {lease.epoch} of {lease.owner}, "
            f"current epoch {row.lease_epoch} of {row.lease_owner}"
        )
    return Conflict(f"job {lease.job_id} is {row.state}, not held")


def held(
    session: Session, lease: Lease, now: datetime, config: SchedulerConfig, site: str | None
) -> JobRow:
    """The job row of a lease still held (extended and locked); raises `refusal` otherwise."""
    if not fence(session, [lease], now, config, site):
        raise refusal(session, lease, site)
    row = session.get(JobRow, lease.job_id, populate_existing=True)
    assert row is not None  # the fence just matched it
    return row


def heartbeat(
    session: Session,
    job_id: int,
    owner: str,
    epoch: int,
    now: datetime,
    config: SchedulerConfig,
    site: str | None = None,
) -> JobRow:
    """Extend the lease of a job still held at `epoch`."""
    return held(session, Lease(job_id, owner, epoch), now, config, site)


def start(
    session: Session,
    job_id: int,
    owner: str,
    epoch: int,
    now: datetime,
    config: SchedulerConfig,
    site: str | None = None,
) -> JobRow:
    """Mark a claimed job RUNNING (the pipeline has started)."""
    row = held(session, Lease(job_id, owner, epoch), now, config, site)
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
    site: str | None = None,
) -> JobRow:
    """Record an attempt's end: success, a retry (with backoff / more memory) or quarantine."""
    row = held(session, Lease(job_id, owner, epoch), now, config, site)
    _end(row, outcome, now, config)
    return row


def finish_many(
    session: Session,
    reports: Sequence[tuple[Lease, Outcome]],
    now: datetime,
    config: SchedulerConfig,
    site: str | None = None,
) -> list[str | ArchiveError]:
    """Record many attempts' ends in one transaction; per report the job's new state or
    the refusal. Each report is fenced by its own epoch: a stale one changes nothing and
    does not stop the others.
    """
    reported = Counter(lease.job_id for lease, _ in reports)
    success = Outcome(succeeded=True)
    # plain successes of jobs reported once (the bulk of a busy agent's reports): fenced
    # and ended in one statement; the rest fenced first, then ended one by one
    plain = [lease for lease, o in reports if o == success and reported[lease.job_id] == 1]
    rest = [lease for lease, o in reports if o != success or reported[lease.job_id] > 1]
    succeeded = _succeed_held(session, plain, now, site)
    held_now = fence(session, rest, now, config, site)
    # the refusals are read before any ORM change, so no reload can undo a change
    answers: list[str | ArchiveError | None] = []
    ending: dict[int, Outcome] = {}
    for lease, outcome in reports:
        if lease in succeeded:
            answers.append(JobState.SUCCEEDED.value)
        elif lease not in held_now:
            answers.append(refusal(session, lease, site))
        elif lease.job_id in ending:
            answers.append(Conflict(f"job {lease.job_id} was reported twice in one batch"))
        else:
            ending[lease.job_id] = outcome
            answers.append(None)
    states = _end_others(session, ending, now, config)
    pairs = zip(reports, answers, strict=True)
    return [states[lease.job_id] if a is None else a for (lease, _), a in pairs]


def _end_others(
    session: Session, ending: dict[int, Outcome], now: datetime, config: SchedulerConfig
) -> dict[int, str]:
    """End the other held jobs (retries, quarantine, resources used, log URLs)."""
    if not ending:
        return {}
    states: dict[int, str] = {}
    query = select(JobRow).where(JobRow.id.in_(list(ending)))
    for row in session.scalars(query.execution_options(populate_existing=True)):
        _end(row, ending[row.id], now, config)
        states[row.id] = row.state
    return states


def _end(row: JobRow, outcome: Outcome, now: datetime, config: SchedulerConfig) -> None:
    row.lease_owner, row.lease_expiry = None, None
    row.used_resources = outcome.used_resources
    row.log_url = outcome.log_url or row.log_url
    if outcome.succeeded:
        row.state, row.finished, row.error_class, row.wait_reason = "SUCCEEDED", now, None, None
        return
    error = outcome.error_class or ErrorClass.NONZERO_EXIT
    row.error_class = error.value
    apply_failure(row, error, outcome.message, now, config)


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
