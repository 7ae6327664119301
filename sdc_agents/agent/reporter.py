"""Finish reports of an agent's concurrent jobs, sent together (group commit).

A worker whose job ended calls `FinishReporter.finish(report)` and gets its own answer, as
with a call of its own. When no report is in flight the caller sends; reports that end
while one is in flight wait for it and then go together in the next call. Like
PostgreSQL's `commit_delay` with `commit_siblings`, a sender whose agent still runs other
jobs (`jobs_in_hand`) first waits up to `linger` (5 ms) for them to end too: the jobs of a
claimed batch end together, and without the wait the first of them went alone, costing its
batch a second round trip. A lone job is sent at once. Each report is fenced by its own
epoch on the archive: a stale one is refused alone (Conflict), the others are recorded.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from eas.errors import ERRORS_BY_STATUS, ArchiveError
from eas.job_schemas import MAX_BATCH, JobReport, ReportAnswer

LINGER = 0.005  # seconds a sender waits for the agent's other running jobs to end too


@dataclass
class _Pending:
    report: JobReport
    answer: ReportAnswer | None = None
    error: BaseException | None = None


class FinishReporter:
    """Sends finish reports of concurrently ending jobs in shared calls."""

    def __init__(
        self,
        send: Callable[[list[JobReport]], list[ReportAnswer]],
        jobs_in_hand: Callable[[], int] | None = None,
        linger: float = LINGER,
    ) -> None:
        self._send = send
        # the jobs the agent runs, reports pending included; set by whoever runs them
        self.jobs_in_hand = jobs_in_hand
        self._linger = linger
        self._changed = threading.Condition()
        self._pending: list[_Pending] = []
        self._sending = False

    def finish(self, report: JobReport) -> ReportAnswer:
        """Report one job's end; raises the archive's refusal of it (e.g. Conflict)."""
        item = _Pending(report)
        with self._changed:
            self._pending.append(item)
            self._changed.notify_all()  # a lingering sender counts the reports in
            while item.answer is None and item.error is None:
                if self._sending:
                    self._changed.wait()
                    continue
                self._sending = True
                try:  # whatever happens, the next finisher may send
                    self._wait_for_siblings()
                    batch, self._pending = self._pending[:MAX_BATCH], self._pending[MAX_BATCH:]
                    self._changed.release()
                    try:
                        self._deliver(batch)
                    finally:
                        self._changed.acquire()
                finally:
                    self._sending = False
                    self._changed.notify_all()
        if item.error is not None:
            raise item.error
        assert item.answer is not None
        return item.answer

    def _wait_for_siblings(self) -> None:
        """Wait (lock held, released while waiting) up to `linger` while jobs in hand that
        have not reported yet may end and join this call."""
        if self.jobs_in_hand is None:
            return
        deadline = time.monotonic() + self._linger
        while len(self._pending) < min(self.jobs_in_hand(), MAX_BATCH):
            if (left := deadline - time.monotonic()) <= 0:
                return
            self._changed.wait(left)

    def _deliver(self, batch: list[_Pending]) -> None:
        try:
            answers = self._send([item.report for item in batch])
        except Exception as exc:  # noqa: BLE001 - every waiting caller gets the failure
            for item in batch:
                item.error = exc
            return
        if len(answers) != len(batch):
            for item in batch:
                item.error = ArchiveError(f"{len(answers)} answers to {len(batch)} reports")
            return
        for item, answer in zip(batch, answers, strict=True):  # the archive answers in order
            if answer.status != 200:
                error = ERRORS_BY_STATUS.get(answer.status, ArchiveError)
                item.error = error(answer.detail or f"job {answer.job_id}: {answer.status}")
            else:
                item.answer = answer
