"""The agent's finish reporter: concurrent finishes share one call, each caller gets its own
answer or its own refusal."""

from __future__ import annotations

import threading

import pytest

from eas.errors import Conflict
from eas.job_schemas import JobReport, ReportAnswer
from sdc_agents.agent.reporter import FinishReporter


def report(job_id: int) -> JobReport:
    return JobReport(job_id=job_id, owner="agent", epoch=1, succeeded=True)


def test_reports_ending_during_a_call_go_together_in_the_next() -> None:
    calls: list[list[int]] = []
    first_call_started, release_first_call = threading.Event(), threading.Event()

    def send(batch: list[JobReport]) -> list[ReportAnswer]:
        calls.append([r.job_id for r in batch])
        if len(calls) == 1:
            first_call_started.set()
            release_first_call.wait()
        return [
            ReportAnswer(job_id=r.job_id, status=409, detail=f"stale lease on job {r.job_id}")
            if r.job_id == 3
            else ReportAnswer(job_id=r.job_id, status=200, state="SUCCEEDED")
            for r in batch
        ]

    reporter = FinishReporter(send)
    answers: dict[int, object] = {}

    def finish(job_id: int) -> None:
        try:
            answers[job_id] = reporter.finish(report(job_id)).state
        except Conflict as exc:
            answers[job_id] = exc

    first = threading.Thread(target=finish, args=(1,))
    first.start()
    first_call_started.wait()
    others = [threading.Thread(target=finish, args=(i,)) for i in (2, 3, 4)]
    for thread in others:
        thread.start()
    while len(reporter._pending) < 3:  # the three queue up behind the first call
        threading.Event().wait(0.001)
    release_first_call.set()
    for thread in [first, *others]:
        thread.join()
    assert calls[0] == [1] and sorted(calls[1]) == [2, 3, 4] and len(calls) == 2
    assert {k: v for k, v in answers.items() if k != 3} == dict.fromkeys((1, 2, 4), "SUCCEEDED")
    assert isinstance(answers[3], Conflict) and "stale lease on job 3" in str(answers[3])


def test_a_failed_call_fails_every_report_in_it() -> None:
    def send(batch: list[JobReport]) -> list[ReportAnswer]:
        raise OSError("archive unreachable")

    with pytest.raises(OSError, match="unreachable"):
        FinishReporter(send).finish(report(1))


def test_a_sender_waits_for_the_agents_other_running_jobs_to_join_its_call() -> None:
    calls: list[list[int]] = []

    def send(batch: list[JobReport]) -> list[ReportAnswer]:
        calls.append(sorted(r.job_id for r in batch))
        return [ReportAnswer(job_id=r.job_id, status=200, state="SUCCEEDED") for r in batch]

    # three jobs in hand: the first to end waits for the two others (the linger is long
    # here so that the test does not depend on timing), then one call carries all three
    reporter = FinishReporter(send, jobs_in_hand=lambda: 3, linger=60)
    threads = [threading.Thread(target=reporter.finish, args=(report(i),)) for i in (1, 2, 3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert calls == [[1, 2, 3]]


def test_a_lone_job_is_reported_at_once() -> None:
    calls: list[list[int]] = []

    def send(batch: list[JobReport]) -> list[ReportAnswer]:
        calls.append([r.job_id for r in batch])
        return [ReportAnswer(job_id=r.job_id, status=200, state="SUCCEEDED") for r in batch]

    reporter = FinishReporter(send, jobs_in_hand=lambda: 1, linger=60)
    assert reporter.finish(report(7)).state == "SUCCEEDED" and calls == [[7]]


def test_a_failing_count_of_jobs_in_hand_does_not_stop_later_reports() -> None:
    fail = [True]

    def in_hand() -> int:
        if fail[0]:
            raise RuntimeError("count unavailable")
        return 0

    def send(batch: list[JobReport]) -> list[ReportAnswer]:
        return [ReportAnswer(job_id=r.job_id, status=200, state="SUCCEEDED") for r in batch]

    reporter = FinishReporter(send, jobs_in_hand=in_hand)
    with pytest.raises(RuntimeError, match="count unavailable"):
        reporter.finish(report(1))
    fail[0] = False
    done: list[str | None] = []
    later = threading.Thread(target=lambda: done.append(reporter.finish(report(2)).state))
    later.start()
    later.join(timeout=30)
    assert not later.is_alive() and done == ["SUCCEEDED"]
