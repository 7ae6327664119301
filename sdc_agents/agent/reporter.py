"""Finish reports of an agent's concurrent jobs, sent together (group commit).

A worker whose job ended calls `FinishReporter.finish(report)` and gets its own answer, as
with a call of its own. When no report is in flight the caller sends at once; reports that
end while one is in flight wait for it and then go together in the next call. Nothing waits
on a timer, so a lone job is reported as fast as before, and a busy agent pays one round
trip (one transaction on the archive) for many jobs. Each report is fenced by its own
epoch on the archive: a stale one is refused alone (Conflict), the others are recorded.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from eas.errors import ERRORS_BY_STATUS, ArchiveError
from eas.job_schemas import MAX_BATCH, JobReport, ReportAnswer


@dataclass
class _Pending:
    report: JobReport
    answer: ReportAnswer | None = None
    error: BaseException | None = None


class FinishReporter:
    """Sends finish reports of concurrently ending jobs in shared calls."""

    def __init__(self, send: Callable[[list[JobReport]], list[ReportAnswer]]) -> None:
        self._send = send
        self._changed = threading.Condition()
        self._pending: list[_Pending] = []
        self._sending = False

    def finish(self, report: JobReport) -> ReportAnswer:
        """Report one job's end; raises the archive's refusal of it (e.g. Conflict)."""
        item = _Pending(report)
        with self._changed:
            self._pending.append(item)
            while item.answer is None and item.error is None:
                if self._sending:
                    self._changed.wait()
                    continue
                self._sending = True
                batch, self._pending = self._pending[:MAX_BATCH], self._pending[MAX_BATCH:]
                self._changed.release()
                try:
                    self._deliver(batch)
                finally:
                    self._changed.acquire()
                    self._sending = False
                    self._changed.notify_all()
        if item.error is not None:
            raise item.error
        assert item.answer is not None
        return item.answer

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
