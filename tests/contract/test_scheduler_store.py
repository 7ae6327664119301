"""The metascheduler on the real archive database (SQLite and PostgreSQL): jobs from the plan
and arrivals, claims with fencing, lease expiry, retries, maintenance failover, tile waits."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import event, select, update
from sqlalchemy.orm import Session, sessionmaker

from eas.core import plans, products, sites, survey
from eas.db import transaction
from eas.errors import Conflict
from eas.models import Job as JobRow
from eas.schemas import AssignmentIn, MaintenanceWindowIn, PlanIn, TileIn
from metascheduler.claims import claim_listed, claim_next, claim_queued
from metascheduler.config import SchedulerConfig
from metascheduler.jobs import ErrorClass
from metascheduler.leases import Lease, Outcome, finish, finish_many, heartbeat, start
from metascheduler.loop import Scheduler, unchanged_since_read
from tests import archive_support
from tests.archive_support import EPOCH, observation, product, seed

archive_url = archive_support.archive_url
sessions = archive_support.sessions
sqlite_template = archive_support.sqlite_template
pg_archive_url = archive_support.pg_archive_url

CONFIG = SchedulerConfig(lease_seconds=60, backoff_first_seconds=30)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def survey_with_plan(sessions: sessionmaker[Session], n_obs: int = 4) -> None:
    """Sites, `n_obs` observations (primary FR, secondary DE), tile 1 over obs 0 and 1 at IT."""
    seed(sessions)
    with transaction(sessions) as session:
        survey.add_observations(session, [observation(i, hours=i) for i in range(n_obs)])
        survey.add_tiles(session, [TileIn(tile_id=1, ra=10, dec=0, radius_deg=0.3, obs_ids=[0, 1])])
        assignments = [AssignmentIn(obs_id=i, role="primary", site="SDC-FR") for i in range(n_obs)]
        assignments += [
            AssignmentIn(obs_id=i, role="secondary", site="SDC-DE") for i in range(n_obs)
        ]
        assignments.append(AssignmentIn(tile_id=1, role="processing", site="SDC-IT"))
        plans.store_plan(session, PlanIn(version=1, solver="test", assignments=assignments))


def arrive(sessions: sessionmaker[Session], *obs_ids: int, kind: str = "RAW_FRAME") -> None:
    with transaction(sessions) as session:
        for obs_id in obs_ids:
            products.register_product(session, product(f"{kind}-{obs_id}", kind, obs_id=obs_id))


def queued_calibrations(
    sessions: sessionmaker[Session], n_obs: int, arrived: int | None = None
) -> Clock:
    """A survey of `n_obs` observations, the first `arrived` (default: all) arrived and their
    calibration jobs QUEUED at SDC-FR; the clock the scheduler ran with."""
    survey_with_plan(sessions, n_obs=n_obs)
    arrive(sessions, *range(n_obs if arrived is None else arrived))
    clock = Clock(EPOCH)
    Scheduler(sessions, CONFIG, clock=clock).run_once()
    return clock


def jobs(sessions: sessionmaker[Session]) -> list[JobRow]:
    with sessions() as session:
        return list(session.scalars(select(JobRow).order_by(JobRow.id)))


def test_raw_arrivals_become_queued_calibration_jobs_once(
    sessions: sessionmaker[Session],
) -> None:
    survey_with_plan(sessions)
    arrive(sessions, 0, 1, 2)
    scheduler = Scheduler(sessions, CONFIG, clock=Clock(EPOCH))
    report = scheduler.run_once()
    assert report.created == 3 and report.dispatched == {"SDC-FR": 3}
    again = scheduler.run_once()
    assert again.created == 0
    rows = jobs(sessions)
    assert [(r.pipeline, r.state, r.target_site, r.secondary_site) for r in rows] == [
        ("calibrate", "QUEUED", "SDC-FR", "SDC-DE")
    ] * 3
    assert rows[0].input_product_ids == ["RAW_FRAME-0"]
    assert rows[0].deadline == EPOCH + timedelta(days=3)


def test_claims_fence_stale_holders(sessions: sessionmaker[Session]) -> None:
    clock = queued_calibrations(sessions, 4, arrived=1)
    with transaction(sessions) as session:
        assert claim_next(session, "SDC-DE", "agent-de", clock.now, CONFIG) is None
        row = claim_next(session, "SDC-FR", "agent-a", clock.now, CONFIG)
        assert row is not None and row.lease_epoch == 1 and row.attempts == 1
        job_id = row.id
        assert claim_next(session, "SDC-FR", "agent-b", clock.now, CONFIG) is None
    # agent-a dies; its lease expires and the scheduler queues the job again with a new epoch
    clock.now += timedelta(seconds=61)
    report = Scheduler(sessions, CONFIG, clock=clock).run_once()
    assert report.reclaimed == 1
    with transaction(sessions) as session:
        row = claim_next(session, "SDC-FR", "agent-b", clock.now, CONFIG)
        assert row is not None and row.id == job_id and row.lease_epoch == 3
    with transaction(sessions) as session, pytest.raises(Conflict, match="stale lease"):
        heartbeat(session, job_id, "agent-a", 1, clock.now, CONFIG)
    with transaction(sessions) as session:
        start(session, job_id, "agent-b", 3, clock.now, CONFIG)
        finish(session, job_id, "agent-b", 3, Outcome(succeeded=True), clock.now, CONFIG)
    with transaction(sessions) as session, pytest.raises(Conflict):
        finish(session, job_id, "agent-a", 1, Outcome(succeeded=True), clock.now, CONFIG)
    assert jobs(sessions)[0].state == "SUCCEEDED"


def test_transient_failure_backs_off_then_requeues(sessions: sessionmaker[Session]) -> None:
    survey_with_plan(sessions)
    arrive(sessions, 0)
    clock = Clock(EPOCH)
    scheduler = Scheduler(sessions, CONFIG, clock=clock)
    scheduler.run_once()
    with transaction(sessions) as session:
        row = claim_next(session, "SDC-FR", "agent-a", clock.now, CONFIG)
        assert row is not None
        failure = Outcome(False, ErrorClass.OUT_OF_MEMORY, "killed by the OOM killer")
        finish(session, row.id, "agent-a", row.lease_epoch, failure, clock.now, CONFIG)
    scheduler.run_once()
    (row,) = jobs(sessions)
    assert row.state == "WAITING" and "backoff" in (row.wait_reason or "")
    assert row.requested_resources["ram"] == 3.0
    clock.now += timedelta(seconds=31)
    scheduler.run_once()
    assert jobs(sessions)[0].state == "QUEUED"


def test_permanent_failure_is_quarantined(sessions: sessionmaker[Session]) -> None:
    clock = queued_calibrations(sessions, 4, arrived=1)
    with transaction(sessions) as session:
        row = claim_next(session, "SDC-FR", "agent-a", clock.now, CONFIG)
        assert row is not None
        failure = Outcome(False, ErrorClass.BAD_INPUT, "not a FITS file")
        finish(session, row.id, "agent-a", row.lease_epoch, failure, clock.now, CONFIG)
    (row,) = jobs(sessions)
    assert row.state == "FAILED" and row.quarantined
    assert "not a FITS file" in (row.wait_reason or "")


def test_maintenance_fails_over_and_blocks_claims(sessions: sessionmaker[Session]) -> None:
    survey_with_plan(sessions)
    arrive(sessions, 0, 1)
    clock = Clock(EPOCH)
    scheduler = Scheduler(sessions, CONFIG, clock=clock)
    scheduler.run_once()
    with transaction(sessions) as session:
        sites.add_windows(
            session,
            [
                MaintenanceWindowIn(
                    site="SDC-FR", start=EPOCH, end=EPOCH + timedelta(days=10), reason="upgrade"
                )
            ],
        )
    with transaction(sessions) as session:
        assert claim_next(session, "SDC-FR", "agent-fr", clock.now, CONFIG) is None
    report = scheduler.run_once()
    assert report.dispatched == {"SDC-DE": 2}
    with transaction(sessions) as session:
        assert claim_next(session, "SDC-DE", "agent-de", clock.now, CONFIG) is not None


def test_tile_job_waits_for_every_input(sessions: sessionmaker[Session]) -> None:
    survey_with_plan(sessions)
    arrive(sessions, 0, kind="CALIBRATED_FRAME")
    scheduler = Scheduler(sessions, CONFIG, clock=Clock(EPOCH))
    scheduler.run_once()
    (tile_job,) = [r for r in jobs(sessions) if r.pipeline == "mosaic"]
    assert tile_job.state == "WAITING"
    assert tile_job.wait_reason == "waiting for inputs: CALIBRATED_FRAME of obs 1"
    arrive(sessions, 1, kind="CALIBRATED_FRAME")
    scheduler.run_once()
    (tile_job,) = [r for r in jobs(sessions) if r.pipeline == "mosaic"]
    assert (tile_job.state, tile_job.target_site) == ("QUEUED", "SDC-IT")
    assert tile_job.input_product_ids == ["CALIBRATED_FRAME-0", "CALIBRATED_FRAME-1"]


def test_two_agents_racing_claim_each_job_once(
    sessions: sessionmaker[Session], archive_url: str
) -> None:
    n_jobs = 200
    clock = queued_calibrations(sessions, n_jobs)
    claimed: dict[str, list[int]] = {"agent-a": [], "agent-b": []}

    def agent(owner: str) -> None:
        while True:
            with transaction(sessions) as session:
                row = claim_next(session, "SDC-FR", owner, clock.now, CONFIG)
                if row is None:
                    return
                claimed[owner].append(row.id)

    threads = [threading.Thread(target=agent, args=(owner,)) for owner in claimed]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    every = claimed["agent-a"] + claimed["agent-b"]
    assert sorted(every) == sorted(set(every)) and len(every) == n_jobs
    if archive_url.startswith("postgresql"):
        assert claimed["agent-a"] and claimed["agent-b"]


def test_a_batch_claim_takes_at_most_its_limit_in_one_update(
    sessions: sessionmaker[Session],
) -> None:
    clock = queued_calibrations(sessions, 6)
    with transaction(sessions) as session:
        # (on PostgreSQL a locking subquery inside the UPDATE would lock and take them all)
        batch = claim_queued(session, "SDC-FR", "agent-a", clock.now, CONFIG, limit=4, start=True)
        assert [(r.state, r.lease_epoch, r.started) for r in batch] == [
            ("RUNNING", 1, clock.now)
        ] * 4
        named = claim_listed(
            session, [batch[0].id, 5, 6, 99], "SDC-FR", "agent-b", clock.now, CONFIG
        )
        assert [r.id for r in named] == [5, 6]  # not the held job, not an unknown one
        assert claim_listed(session, [1, 2], "SDC-DE", "agent-de", clock.now, CONFIG) == []
    assert [r.state for r in jobs(sessions)] == ["RUNNING"] * 4 + ["CLAIMED"] * 2


def test_the_reaper_leaves_a_lease_renewed_after_its_read(
    sessions: sessionmaker[Session],
) -> None:
    clock = queued_calibrations(sessions, 4, arrived=1)
    with transaction(sessions) as session:
        row = claim_next(session, "SDC-FR", "agent-a", clock.now, CONFIG)
        assert row is not None
    reaper = sessions()
    try:
        seen = reaper.get(JobRow, row.id)  # the scheduler reads the expired lease...
        assert seen is not None
        with transaction(sessions) as session:  # ...the agent's heartbeat lands meanwhile...
            heartbeat(session, row.id, "agent-a", 1, clock.now + timedelta(seconds=61), CONFIG)
        assert not unchanged_since_read(reaper, seen)  # ...so the reclaim is void
    finally:
        reaper.close()
    assert [(r.state, r.lease_epoch) for r in jobs(sessions)] == [("CLAIMED", 1)]


def test_a_batch_of_finishes_answers_each_report_on_its_own(
    sessions: sessionmaker[Session],
) -> None:
    clock = queued_calibrations(sessions, 4)
    with transaction(sessions) as session:
        claimed = claim_queued(session, "SDC-FR", "agent-a", clock.now, CONFIG, limit=4)
        a, b, c, d = (row.id for row in claimed)
    ok, bad = Outcome(succeeded=True), Outcome(False, ErrorClass.BAD_INPUT, "not a FITS file")
    reports = [
        (Lease(a, "agent-a", 1), ok),  # a plain success (ended by the fence itself)
        (Lease(b, "agent-a", 1), bad),  # a permanent failure: quarantined
        (Lease(c, "agent-a", 7), ok),  # a stale epoch: refused alone, nothing written
        (Lease(d, "agent-b", 1), ok),  # not the holder: refused
        (Lease(d, "agent-a", 1), ok),  # the holder's report of the same job: recorded
        (Lease(d, "agent-a", 1), ok),  # the same report again in the batch: refused
    ]
    with transaction(sessions) as session:
        answers = finish_many(session, reports, clock.now, CONFIG, "SDC-FR")
    assert answers[0:2] == ["SUCCEEDED", "FAILED"] and answers[4] == "SUCCEEDED"
    for i, reason in ((2, "stale lease"), (3, "stale lease"), (5, "reported twice")):
        assert isinstance(answers[i], Conflict) and reason in str(answers[i]), answers[i]
    by_id = {row.id: row for row in jobs(sessions)}
    assert [by_id[i].state for i in (a, b, c, d)] == ["SUCCEEDED", "FAILED", "CLAIMED", "SUCCEEDED"]
    assert by_id[a].lease_owner is None and by_id[c].lease_owner == "agent-a"


def cancel_when(sessions: sessionmaker[Session], sets: str, job_id: int) -> Callable[[], None]:
    """Cancel `job_id` in a transaction of its own just before the scheduler sends its first
    UPDATE of jobs that sets `sets` (after its read, before its write); returns the function
    that removes the hook."""
    engine = sessions.kw["bind"]
    fired: list[bool] = []

    def hook(connection: Any, cursor: Any, statement: str, *_: Any) -> None:
        if fired or not (statement.startswith("UPDATE job SET") and f"{sets}=" in statement):
            return
        fired.append(True)
        with engine.connect() as other:  # a connection of its own: an operator's cancel
            other.execute(update(JobRow).where(JobRow.id == job_id).values(state="CANCELLED"))
            other.commit()

    event.listen(engine, "before_cursor_execute", hook)
    return lambda: event.remove(engine, "before_cursor_execute", hook)


def pending_jobs(sessions: sessionmaker[Session], n: int, **values: Any) -> list[int]:
    """`n` ready jobs planned at SDC-FR (secondary SDC-DE), not yet dispatched."""
    rows = [
        JobRow(pipeline="noop", primary_site="SDC-FR", secondary_site="SDC-DE",
               ready_at=EPOCH, deadline=EPOCH + timedelta(days=3), **values)
        for _ in range(n)
    ]  # fmt: skip
    with transaction(sessions) as session:
        session.add_all(rows)
        session.flush()
        return [row.id for row in rows]


def test_a_job_cancelled_between_selection_and_queueing_stays_cancelled(
    sessions: sessionmaker[Session],
) -> None:
    survey_with_plan(sessions)
    first, cancelled, last = pending_jobs(sessions, 3)
    unhook = cancel_when(sessions, "wait_reason", cancelled)
    try:
        report = Scheduler(sessions, CONFIG, clock=Clock(EPOCH)).run_once()
    finally:
        unhook()
    assert report.dispatched == {"SDC-FR": 2}  # the cancelled job is not announced
    assert [(row.id, row.state) for row in jobs(sessions)] == [
        (first, "QUEUED"), (cancelled, "CANCELLED"), (last, "QUEUED")
    ]  # fmt: skip


def test_a_job_cancelled_while_the_cycle_decides_it_waits_stays_cancelled(
    sessions: sessionmaker[Session],
) -> None:
    survey_with_plan(sessions)
    (job_id,) = pending_jobs(sessions, 1, not_before=EPOCH + timedelta(minutes=5))
    unhook = cancel_when(sessions, "lease_epoch", job_id)
    try:
        report = Scheduler(sessions, CONFIG, clock=Clock(EPOCH)).run_once()
    finally:
        unhook()
    assert report.waiting == 0
    assert [(row.state, row.wait_reason) for row in jobs(sessions)] == [("CANCELLED", None)]
