"""Client of the scheduler API served beside the archive: what agents and operators call."""

from __future__ import annotations

from typing import Any

from pydantic import TypeAdapter

from eas.client import ArchiveClient, _list
from eas.job_schemas import (
    ClaimBatch,
    ClaimRequest,
    JobExplanation,
    JobOutcome,
    JobOutputs,
    JobPublic,
    JobReport,
    LeaseRef,
    OutputsRecorded,
    PriorityChange,
    ReportAnswer,
    ReportBatch,
)

_JOB_LIST = TypeAdapter(list[JobPublic])
_ANSWER_LIST = TypeAdapter(list[ReportAnswer])


class JobClient(ArchiveClient):
    """`ArchiveClient` plus the scheduler routes: claim, heartbeat, start, finish, why."""

    def claim(self, site: str, owner: str) -> JobPublic | None:
        """Lease the next job of `site`; None when there is nothing to run."""
        body = ClaimRequest(site=site, owner=owner).model_dump()
        answer = self._write("POST", "/scheduler/claim", body, False)
        return None if answer is None else JobPublic.model_validate(answer)

    def claim_job(self, job_id: int, site: str, owner: str) -> JobPublic | None:
        """Lease job `job_id` if it is QUEUED at `site`; None when it is not (any more)."""
        body = ClaimRequest(site=site, owner=owner).model_dump()
        answer = self._write("POST", f"/scheduler/jobs/{job_id}/claim", body, False)
        return None if answer is None else JobPublic.model_validate(answer)

    def claim_batch(
        self,
        site: str,
        owner: str,
        limit: int = 1,
        job_ids: list[int] | None = None,
        start: bool = False,
    ) -> list[JobPublic]:
        """Lease up to `limit` jobs of `site` (or those of `job_ids` still QUEUED there) in
        one call; `start`: they are RUNNING at once. Not retried: a repeated claim would
        lease more jobs."""
        body = ClaimBatch(site=site, owner=owner, limit=limit, job_ids=job_ids, start=start)
        answer = self._write("POST", "/scheduler/claims", body.model_dump(), False)
        return _JOB_LIST.validate_python(answer)

    def heartbeat(self, job_id: int, owner: str, epoch: int) -> JobPublic:
        """Extend a lease; Conflict when it was taken over."""
        return self._lease_call(job_id, "heartbeat", LeaseRef(owner=owner, epoch=epoch))

    def start(self, job_id: int, owner: str, epoch: int) -> JobPublic:
        """Mark a claimed job RUNNING."""
        return self._lease_call(job_id, "start", LeaseRef(owner=owner, epoch=epoch))

    def finish(self, job_id: int, outcome: JobOutcome) -> JobPublic:
        """Report how the attempt ended."""
        return self._lease_call(job_id, "finish", outcome)

    def finish_many(self, reports: list[JobReport]) -> list[ReportAnswer]:
        """Report several attempts' ends in one call; one answer per report, in order."""
        body = ReportBatch(reports=reports).model_dump()
        return _ANSWER_LIST.validate_python(self._write("POST", "/scheduler/finishes", body, True))

    def register_outputs(self, job_id: int, outputs: JobOutputs) -> OutputsRecorded:
        """Register a held job's products, replicas and lineage, fenced by its epoch
        (Conflict when the lease was taken over: then nothing is registered)."""
        path = f"/scheduler/jobs/{job_id}/outputs"
        answer = self._write("POST", path, outputs.model_dump(mode="json"), True)
        return OutputsRecorded.model_validate(answer)

    def _lease_call(self, job_id: int, verb: str, body: LeaseRef) -> JobPublic:
        # Fenced by epoch, so repeating the call after a lost answer is harmless.
        answer = self._write("POST", f"/scheduler/jobs/{job_id}/{verb}", body.model_dump(), True)
        return JobPublic.model_validate(answer)

    def jobs(
        self, state: str | None = None, site: str | None = None, limit: int = 1000
    ) -> list[JobPublic]:
        """Jobs filtered by state and target site."""
        params: dict[str, Any] = {"state": state, "site": site, "limit": limit}
        return _list(JobPublic, self._get("/scheduler/jobs", params))

    def job(self, job_id: int) -> JobPublic:
        """One job."""
        return JobPublic.model_validate(self._get(f"/scheduler/jobs/{job_id}"))

    def why(self, job_id: int) -> JobExplanation:
        """Why the job is not running (or what it is doing)."""
        return JobExplanation.model_validate(self._get(f"/scheduler/jobs/{job_id}/why"))

    def bump_priority(self, job_id: int, delta: int) -> JobPublic:
        """Raise (or lower) a job's priority."""
        body = PriorityChange(delta=delta).model_dump()
        answer = self._write("POST", f"/scheduler/jobs/{job_id}/priority", body, False)
        return JobPublic.model_validate(answer)
