"""The scheduler daemon: `run_once()` performs the pure decisions on the job rows."""

from __future__ import annotations

import logging
import signal
import threading
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.orm.attributes import set_committed_value

from eas.db import transaction
from eas.models import Job as JobRow
from metascheduler.config import SchedulerConfig
from metascheduler.dispatch import Dispatcher, DispatchError, make_dispatcher
from metascheduler.jobs import ErrorClass, JobState
from metascheduler.leases import apply_failure
from metascheduler.planning import create_calibration_jobs, create_tile_jobs, tile_inputs
from metascheduler.policy import Action, Dispatch, Reclaim, Wait, next_action
from metascheduler.rows import job_value, site_state

log = logging.getLogger(__name__)
OPEN_STATES = ("PENDING", "WAITING", "QUEUED", "CLAIMED", "RUNNING")
# rows that agents change concurrently (claims, reports): the loop writes them only if unchanged
AGENT_STATES = ("QUEUED", "CLAIMED", "RUNNING")
BULK_CHUNK = 1000  # ids per bulk UPDATE (SQLite's bound-parameter limit is far above)


@dataclass
class CycleReport:
    """What one scheduler cycle did."""

    created: int = 0
    dispatched: dict[str, int] = field(default_factory=dict)
    waiting: int = 0
    reclaimed: int = 0
    failed: int = 0
    republished: int = 0
    unannounced: int = 0  # queued jobs whose message the broker did not take (retried later)
    alerts: list[str] = field(default_factory=list)


class Scheduler:
    """Creates jobs from the plan and arrivals and moves them along; one cycle per call."""

    def __init__(
        self,
        sessions: sessionmaker[Session],
        config: SchedulerConfig,
        dispatcher: Dispatcher | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._sessions = sessions
        self._config = config
        self._dispatcher = dispatcher or make_dispatcher(config)
        self._clock = clock
        self._stop = threading.Event()
        # job id -> when this scheduler last published its message, for the reconciler. Kept
        # in memory: a restarted scheduler publishes every QUEUED row once more on its first
        # cycle (it cannot know what the broker still holds; duplicates claim nothing).
        self._published: dict[int, datetime] = {}
        self._started = clock() - timedelta(seconds=config.republish_seconds)

    def run_once(self) -> CycleReport:
        """One cycle: create new jobs, then decide and apply the next step of every open job."""
        now = self._clock()
        report = CycleReport()
        queued: dict[str, list[int]] = defaultdict(list)
        moves: dict[str, list[JobRow]] = defaultdict(list)
        with transaction(self._sessions) as session:
            report.created = create_calibration_jobs(session, now, self._config)
            report.created += create_tile_jobs(session, now, self._config)
            sites = site_state(session, now)
            rows = session.scalars(
                select(JobRow).where(JobRow.state.in_(OPEN_STATES)).order_by(JobRow.id)
            ).all()
            for row in rows:
                missing: tuple[str, ...] = ()
                if row.tile_id is not None and row.state in ("PENDING", "WAITING"):
                    present, missing = tile_inputs(session, row.tile_id, self._config)
                    row.input_product_ids = present
                action = next_action(job_value(row, missing), sites, now)
                if _changes(row, action) and not unchanged_since_read(session, row):
                    continue  # claimed, reported or cancelled meanwhile: decided next cycle
                if isinstance(action, Dispatch):  # written in bulk below
                    moves[action.site].append(row)
                else:
                    self._apply(row, action, now, report, queued)
            for site, job_ids in _mark_queued(session, moves).items():
                queued[site].extend(job_ids)
            stale = self._unannounced(rows, queued, now)
        for site, job_ids in queued.items():
            if self._announce(site, job_ids, report):
                report.dispatched[site] = len(job_ids)
        for site, job_ids in stale.items():
            if self._announce(site, job_ids, report):
                report.republished += len(job_ids)
        return report

    def _announce(self, site: str, job_ids: list[int], report: CycleReport) -> bool:
        try:
            self._dispatcher.publish(site, job_ids)
        except DispatchError as exc:
            # the rows stay QUEUED; forgetting the publish makes the reconciler retry next cycle
            for job_id in job_ids:
                self._published.pop(job_id, None)
            report.unannounced += len(job_ids)
            report.alerts.append(str(exc))
            log.warning("%s", exc)
            return False
        return True

    def _unannounced(
        self, rows: Sequence[JobRow], queued: dict[str, list[int]], now: datetime
    ) -> dict[str, list[int]]:
        """The reconciler: QUEUED rows whose last message is older than the republish
        interval (the broker may have lost it). Duplicates are harmless: the claim decides."""
        fresh = {job_id for job_ids in queued.values() for job_id in job_ids}
        waiting = {row.id: row.target_site for row in rows if row.state == "QUEUED"}
        self._published = {i: t for i, t in self._published.items() if i in waiting}
        self._published.update(dict.fromkeys(fresh, now))
        due = now - timedelta(seconds=self._config.republish_seconds)
        stale: dict[str, list[int]] = defaultdict(list)
        for job_id, site in waiting.items():
            if site and job_id not in fresh and self._published.get(job_id, self._started) <= due:
                stale[site].append(job_id)
                self._published[job_id] = now
        return stale

    def _apply(
        self,
        row: JobRow,
        action: Any,
        now: datetime,
        report: CycleReport,
        queued: dict[str, list[int]],
    ) -> None:
        match action:
            case Wait(reason=reason, alert=alert):
                if row.state != "WAITING" or row.wait_reason != reason:
                    row.state, row.wait_reason = "WAITING", reason
                    if alert:
                        report.alerts.append(f"job {row.id}: {reason}")
                        log.warning("job %s: %s", row.id, reason)
                report.waiting += 1
            case Reclaim(new_epoch=epoch, reason=reason):
                report.reclaimed += 1
                row.lease_owner, row.lease_expiry, row.lease_epoch = None, None, epoch
                row.error_class = ErrorClass.LEASE_EXPIRED.value
                apply_failure(row, ErrorClass.LEASE_EXPIRED, reason, now, self._config)
                if row.state == JobState.PENDING.value:
                    # the site is fine, its agent died: queue again at once, no backoff
                    row.state, row.not_before = "QUEUED", None
                    queued[row.target_site or ""].append(row.id)
                else:
                    report.failed += 1

    def run_forever(self) -> None:
        """Cycle until SIGTERM/SIGINT; the current cycle always completes."""
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, lambda *_: self._stop.set())
        while not self._stop.is_set():
            report = self.run_once()
            log.info("cycle: %s", report)
            self._stop.wait(self._config.interval_seconds)


def _mark_queued(session: Session, moves: dict[str, list[JobRow]]) -> dict[str, list[int]]:
    """Queue the cycle's dispatched rows that are still in the state the cycle read them in;
    the ids queued, by site. One UPDATE per site, state and chunk instead of one per row (a
    burst of new jobs is thousands of rows). A row cancelled, claimed or otherwise moved on
    since the cycle's read is left alone: it is neither queued nor announced. The loaded
    objects are brought in line without a reload."""
    queued: dict[str, list[int]] = defaultdict(list)
    for site, rows in moves.items():
        by_state: dict[str, list[JobRow]] = defaultdict(list)
        for row in rows:
            by_state[row.state].append(row)
        for read_state, same in by_state.items():
            for i in range(0, len(same), BULK_CHUNK):
                chunk = {row.id: row for row in same[i : i + BULK_CHUNK]}
                marked = session.scalars(
                    update(JobRow)
                    .where(JobRow.id.in_(list(chunk)), JobRow.state == read_state)
                    .values(state="QUEUED", target_site=site, wait_reason=None)
                    .returning(JobRow.id)
                    .execution_options(synchronize_session=False)
                ).all()
                for job_id in marked:
                    row = chunk[job_id]
                    for key, value in (("state", "QUEUED"), ("target_site", site)):
                        set_committed_value(row, key, value)
                    set_committed_value(row, "wait_reason", None)
                queued[site].extend(marked)
    return {site: sorted(job_ids) for site, job_ids in queued.items()}


def _changes(row: JobRow, action: Action) -> bool:
    """True when applying `action` writes this one row while someone else may be changing it
    (an agent's claim or report, an operator's cancel): it is then written only if unchanged
    since the cycle read it. Dispatches of rows no agent holds are written in bulk by
    `_mark_queued`, under the same condition."""
    match action:
        case Dispatch(site=site):
            moved = row.state != "QUEUED" or row.target_site != site
            return row.state in AGENT_STATES and moved
        case Wait(reason=reason):
            return row.state != "WAITING" or row.wait_reason != reason
        case Reclaim():
            return True
    return False


def unchanged_since_read(session: Session, row: JobRow) -> bool:
    """Lock the row if it is still as this cycle read it (state, epoch, expiry): a claim,
    heartbeat or finish since then makes the cycle's decision on it void."""
    expiry = JobRow.lease_expiry
    seen = (
        update(JobRow)
        .where(JobRow.id == row.id, JobRow.state == row.state)
        .where(JobRow.lease_epoch == row.lease_epoch)
        .where(expiry.is_(None) if row.lease_expiry is None else expiry == row.lease_expiry)
        .values(lease_epoch=JobRow.lease_epoch)
        .returning(JobRow.id)
        .execution_options(synchronize_session=False)
    )
    return session.scalars(seen).first() is not None
