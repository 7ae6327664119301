"""The metascheduler's pure decisions: dispatch, failover, waiting, leases, retries, order."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from metascheduler.explain import why
from metascheduler.jobs import ErrorClass, Job, JobState, MaintenanceWindow, SiteState
from metascheduler.policy import Dispatch, Keep, Reclaim, Wait, next_action
from metascheduler.priority import queue_position
from metascheduler.retry import Quarantine, Retry, RetryPolicy, after_failure

NOW = datetime(2027, 3, 1, 12, tzinfo=UTC)
SITES = frozenset({"SDC-FR", "SDC-DE", "SDC-IT"})


def job(**changes: object) -> Job:
    base = Job(
        job_id=1,
        pipeline="calibrate",
        state=JobState.PENDING,
        primary_site="SDC-FR",
        secondary_site="SDC-DE",
        site=None,
        priority=0,
        attempts=0,
        ready_at=NOW,
        deadline=NOW + timedelta(days=3),
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def down(site: str, days: float, reason: str = "upgrade") -> MaintenanceWindow:
    return MaintenanceWindow(site, NOW - timedelta(hours=1), NOW + timedelta(days=days), reason)


def test_ready_job_goes_to_its_primary() -> None:
    action = next_action(job(), SiteState(SITES), NOW)
    assert action == Dispatch("SDC-FR", "primary site is up")
    assert isinstance(action, Dispatch) and action.queue == "site.SDC-FR"


def test_missing_inputs_wait_never_fail() -> None:
    action = next_action(job(missing_inputs=("p1", "p2")), SiteState(SITES), NOW)
    assert action == Wait("waiting for inputs: p1, p2")


def test_short_maintenance_waits_for_the_primary() -> None:
    action = next_action(job(), SiteState(SITES, (down("SDC-FR", 1),)), NOW)
    assert isinstance(action, Wait)
    assert "SDC-FR in maintenance" in action.reason and "before the deadline" in action.reason


def test_long_maintenance_fails_over_to_the_secondary() -> None:
    action = next_action(job(), SiteState(SITES, (down("SDC-FR", 10),)), NOW)
    assert isinstance(action, Dispatch) and action.site == "SDC-DE"
    assert "failover" in action.reason


def test_chained_windows_count_as_one_outage() -> None:
    first = down("SDC-FR", 2)
    second = MaintenanceWindow("SDC-FR", first.end, first.end + timedelta(days=5), "more")
    action = next_action(job(), SiteState(SITES, (first, second)), NOW)
    assert isinstance(action, Dispatch) and action.site == "SDC-DE"


def test_both_sites_down_waits_with_an_alert() -> None:
    sites = SiteState(SITES, (down("SDC-FR", 10), down("SDC-DE", 10, "power")))
    action = next_action(job(), sites, NOW)
    assert isinstance(action, Wait) and action.alert
    assert "SDC-FR" in action.reason and "SDC-DE" in action.reason and "power" in action.reason


def test_inactive_primary_fails_over() -> None:
    action = next_action(job(), SiteState(frozenset({"SDC-DE"})), NOW)
    assert isinstance(action, Dispatch) and action.site == "SDC-DE"


def test_queued_job_moves_when_its_site_goes_down_beyond_deadline() -> None:
    queued = job(state=JobState.QUEUED, site="SDC-FR")
    action = next_action(queued, SiteState(SITES, (down("SDC-FR", 10),)), NOW)
    assert isinstance(action, Dispatch) and action.site == "SDC-DE"


def test_failed_over_job_stays_at_the_secondary() -> None:
    queued = job(state=JobState.QUEUED, site="SDC-DE")
    assert isinstance(next_action(queued, SiteState(SITES), NOW), Keep)


def test_expired_lease_is_reclaimed_with_a_new_epoch() -> None:
    held = job(
        state=JobState.RUNNING,
        site="SDC-FR",
        lease_owner="agent-a",
        lease_epoch=4,
        lease_expires_at=NOW - timedelta(seconds=1),
    )
    action = next_action(held, SiteState(SITES), NOW)
    assert action == Reclaim(5, "lease of agent-a expired")
    live = replace(held, lease_expires_at=NOW + timedelta(minutes=1))
    assert isinstance(next_action(live, SiteState(SITES), NOW), Keep)


def test_backoff_holds_a_retry() -> None:
    retried = job(attempts=1, not_before=NOW + timedelta(minutes=5))
    assert isinstance(next_action(retried, SiteState(SITES), NOW), Wait)
    assert isinstance(next_action(retried, SiteState(SITES), NOW + timedelta(minutes=6)), Dispatch)


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (ErrorClass.NODE_LOST, Retry),
        (ErrorClass.TIMEOUT, Retry),
        (ErrorClass.OUT_OF_MEMORY, Retry),
        (ErrorClass.BAD_INPUT, Quarantine),
        (ErrorClass.NONZERO_EXIT, Quarantine),
    ],
)
def test_retry_by_error_class(error: ErrorClass, expected: type) -> None:
    assert isinstance(after_failure(job(attempts=1), error, NOW, RetryPolicy()), expected)


def test_out_of_memory_retries_with_more_memory_and_backoff_grows() -> None:
    policy = RetryPolicy()
    first = after_failure(job(attempts=1, ram_gb=4.0), ErrorClass.OUT_OF_MEMORY, NOW, policy)
    second = after_failure(job(attempts=2, ram_gb=6.0), ErrorClass.OUT_OF_MEMORY, NOW, policy)
    assert isinstance(first, Retry) and first.ram_gb == 6.0
    assert isinstance(second, Retry) and second.ram_gb == 9.0
    assert second.not_before - NOW == 2 * (first.not_before - NOW)


def test_too_many_failures_quarantine() -> None:
    decision = after_failure(job(attempts=3), ErrorClass.NODE_LOST, NOW, RetryPolicy())
    assert decision == Quarantine("failed 3 times (last: NODE_LOST)")


def test_queue_order_priority_then_retries_then_age() -> None:
    old = job(job_id=1, state=JobState.QUEUED, site="SDC-FR", ready_at=NOW - timedelta(hours=1))
    new = job(job_id=2, state=JobState.QUEUED, site="SDC-FR")
    retry = job(job_id=3, state=JobState.QUEUED, site="SDC-FR", attempts=1, priority=-5)
    urgent = job(job_id=4, state=JobState.QUEUED, site="SDC-FR", priority=10)
    elsewhere = job(job_id=5, state=JobState.QUEUED, site="SDC-DE", priority=99)
    queue = [old, new, retry, urgent, elsewhere]
    assert [queue_position(j, queue) for j in (urgent, retry, old, new)] == [1, 2, 3, 4]


def test_why_names_maintenance_and_queue_position() -> None:
    queued = job(state=JobState.QUEUED, site="SDC-FR")
    lines = why(queued, SiteState(SITES, (down("SDC-FR", 1),)), NOW, [queued])
    text = "\n".join(lines)
    assert "SDC-FR in maintenance until" in text
    assert "queue position 1 at SDC-FR" in text


def test_why_names_the_lease_holder() -> None:
    held = job(
        state=JobState.RUNNING,
        site="SDC-FR",
        lease_owner="agent-a",
        lease_epoch=2,
        lease_expires_at=NOW + timedelta(minutes=5),
    )
    assert any("lease held by agent-a" in line for line in why(held, SiteState(SITES), NOW))
