"""When the local batch system wakes the runner: jobs ended and the lanes' queue runs low."""

from __future__ import annotations

from sdc_agents.drm.local import _Turnover


def test_ended_jobs_wake_the_runner_only_once_the_queue_runs_low() -> None:
    turnover = _Turnover(low_water=2)
    for _ in range(5):
        turnover.handed_over()
    turnover.taken()
    turnover.taken()  # two running, three queued
    assert not turnover.wait(0)  # nothing ended yet
    turnover.job_ended()
    turnover.taken()  # the lane took the next one: two queued
    assert turnover.wait(0)
    assert not turnover.wait(0)  # what woke it was collected


def test_a_job_ending_with_a_full_queue_does_not_wake_it_but_the_last_one_does() -> None:
    turnover = _Turnover(low_water=0)
    for _ in range(3):
        turnover.handed_over()
    turnover.taken()
    turnover.job_ended()
    assert not turnover.wait(0)  # two still queued: the lanes have work
    turnover.taken()
    turnover.taken()
    turnover.job_ended()
    assert turnover.wait(0)  # queue empty
    turnover.job_ended()
    assert turnover.wait(0)  # and nothing left unfinished
