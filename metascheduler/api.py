"""Scheduler routes served beside the archive API: agents claim and report, operators read."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Query, Request, Response, status

from eas.api.deps import Agent, Planner, Reader, SessionDep, require_site
from eas.api.tokens import Principal
from eas.errors import ArchiveError
from eas.job_schemas import (
    ClaimBatch,
    ClaimRequest,
    JobExplanation,
    JobOutcome,
    JobOutputs,
    JobPublic,
    LeaseRef,
    OutputsRecorded,
    PriorityChange,
    ReportAnswer,
    ReportBatch,
)
from metascheduler import claims, leases, queries
from metascheduler.config import SchedulerConfig
from metascheduler.jobs import ErrorClass
from metascheduler.outputs import register_job_outputs

router = APIRouter(prefix="/scheduler", tags=["scheduler"])


def _config(request: Request) -> SchedulerConfig:
    config = getattr(request.app.state, "scheduler_config", None)
    return config if isinstance(config, SchedulerConfig) else SchedulerConfig()


def _now() -> datetime:
    return datetime.now(UTC)


def _site_of(who: Principal) -> str | None:
    """The site an agent token is bound to (None: an admin acts for any site)."""
    return who.site if who.role == "agent" else None


@router.post("/claims")
def claim_batch(
    body: ClaimBatch, request: Request, session: SessionDep, who: Agent
) -> list[JobPublic]:
    """Lease up to `limit` queued jobs of the agent's site, or those of `job_ids` still
    QUEUED there, in one conditional update (an empty list when there is none)."""
    require_site(who, body.site)
    now, config = _now(), _config(request)
    if body.job_ids is not None:
        rows = claims.claim_listed(
            session, body.job_ids, body.site, body.owner, now, config, body.start
        )
    else:
        rows = claims.claim_queued(
            session, body.site, body.owner, now, config, body.limit, body.start
        )
    return [JobPublic.model_validate(row) for row in rows]


@router.post(
    "/claim",
    response_model=JobPublic,
    responses={204: {"description": "nothing to run at this site"}},
)
def claim(body: ClaimRequest, request: Request, session: SessionDep, who: Agent) -> Any:
    """Lease the next queued job of the agent's site (204 when there is none)."""
    require_site(who, body.site)
    row = claims.claim_next(session, body.site, body.owner, _now(), _config(request))
    if row is None:
        return Response(status_code=status.HTTP_204_NO_CONTENT)
    return JobPublic.model_validate(row)


@router.post(
    "/jobs/{job_id}/claim",
    response_model=JobPublic,
    responses={204: {"description": "the job is not queued at this site (any more)"}},
)
def claim_job(
    job_id: int, body: ClaimRequest, request: Request, session: SessionDep, who: Agent
) -> Any:
    """Lease this job if it is QUEUED at the agent's site (204 otherwise): a Celery message's
    claim. Fenced like the normal claim: an agent acts only for its own site."""
    require_site(who, body.site)
    row = claims.claim_job(session, job_id, body.site, body.owner, _now(), _config(request))
    if row is None:
        return Response(status_code=status.HTTP_204_NO_CONTENT)
    return JobPublic.model_validate(row)


@router.post("/jobs/{job_id}/heartbeat")
def heartbeat(
    job_id: int, body: LeaseRef, request: Request, session: SessionDep, who: Agent
) -> JobPublic:
    """Extend the lease (409 when the epoch is stale, 403 for another site's job)."""
    row = leases.heartbeat(
        session, job_id, body.owner, body.epoch, _now(), _config(request), _site_of(who)
    )
    return JobPublic.model_validate(row)


@router.post("/jobs/{job_id}/start")
def start(
    job_id: int, body: LeaseRef, request: Request, session: SessionDep, who: Agent
) -> JobPublic:
    """The pipeline started."""
    row = leases.start(
        session, job_id, body.owner, body.epoch, _now(), _config(request), _site_of(who)
    )
    return JobPublic.model_validate(row)


def _outcome(body: JobOutcome) -> leases.Outcome:
    return leases.Outcome(
        succeeded=body.succeeded,
        error_class=ErrorClass(body.error_class) if body.error_class else None,
        message=body.message,
        used_resources=body.used_resources,
        log_url=body.log_url,
    )


@router.post("/jobs/{job_id}/finish")
def finish(
    job_id: int, body: JobOutcome, request: Request, session: SessionDep, who: Agent
) -> JobPublic:
    """Report the attempt's end; failures follow the retry policy."""
    row = leases.finish(
        session,
        job_id,
        body.owner,
        body.epoch,
        _outcome(body),
        _now(),
        _config(request),
        _site_of(who),
    )
    return JobPublic.model_validate(row)


@router.post("/finishes")
def finish_batch(
    body: ReportBatch, request: Request, session: SessionDep, who: Agent
) -> list[ReportAnswer]:
    """Report several attempts' ends at once; each is fenced by its own epoch and answered
    on its own (a stale one is refused and changes nothing, the others are recorded)."""
    reports = [(leases.Lease(r.job_id, r.owner, r.epoch), _outcome(r)) for r in body.reports]
    answers = leases.finish_many(session, reports, _now(), _config(request), _site_of(who))
    return [
        ReportAnswer(job_id=r.job_id, status=a.status, detail=a.detail)
        if isinstance(a, ArchiveError)
        else ReportAnswer(job_id=r.job_id, status=200, state=a)
        for r, a in zip(body.reports, answers, strict=True)
    ]


@router.post("/jobs/{job_id}/outputs", status_code=status.HTTP_201_CREATED)
def register_outputs(
    job_id: int, body: JobOutputs, request: Request, session: SessionDep, who: Agent
) -> OutputsRecorded:
    """Register the job's output products, their replicas and its lineage under the lease:
    all of it, or nothing when the epoch is stale (409)."""
    ids = register_job_outputs(session, job_id, body, _now(), _config(request), _site_of(who))
    return OutputsRecorded(job_id=job_id, product_ids=ids)


@router.get("/jobs")
def list_jobs(
    session: SessionDep,
    _: Reader,
    state: str | None = None,
    site: str | None = None,
    quarantined: bool | None = None,
    limit: int = Query(1000, ge=1, le=10000),
) -> list[JobPublic]:
    """Jobs by state and site."""
    rows = queries.list_jobs(session, state, site, quarantined, limit)
    return [JobPublic.model_validate(r) for r in rows]


@router.get("/jobs/{job_id}")
def get_job(job_id: int, session: SessionDep, _: Reader) -> JobPublic:
    """One job."""
    return JobPublic.model_validate(queries.get_job(session, job_id))


@router.get("/jobs/{job_id}/why")
def why(job_id: int, request: Request, session: SessionDep, _: Reader) -> JobExplanation:
    """Why the job is not running: inputs, maintenance, queue position, lease holder."""
    lines = queries.explain_job(session, job_id, _now(), _config(request))
    return JobExplanation(
        job_id=job_id, state=queries.get_job(session, job_id).state, reasons=lines
    )


@router.post("/jobs/{job_id}/priority")
def bump_priority(job_id: int, body: PriorityChange, session: SessionDep, _: Planner) -> JobPublic:
    """Raise or lower a job's priority."""
    return JobPublic.model_validate(queries.bump_priority(session, job_id, body.delta))
