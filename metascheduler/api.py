"""Scheduler routes served beside the archive API: agents claim and report, operators read."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Query, Request, Response, status

from eas.api.deps import Agent, Planner, Reader, SessionDep, require_site
from eas.job_schemas import (
    ClaimRequest,
    JobExplanation,
    JobOutcome,
    JobPublic,
    LeaseRef,
    PriorityChange,
)
from metascheduler import claims, queries
from metascheduler.config import SchedulerConfig
from metascheduler.jobs import ErrorClass

router = APIRouter(prefix="/scheduler", tags=["scheduler"])


def _config(request: Request) -> SchedulerConfig:
    config = getattr(request.app.state, "scheduler_config", None)
    return config if isinstance(config, SchedulerConfig) else SchedulerConfig()


def _now() -> datetime:
    return datetime.now(UTC)


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


def _own_job(session: SessionDep, job_id: int, who: Agent) -> None:
    require_site(who, queries.get_job(session, job_id).target_site)


@router.post("/jobs/{job_id}/heartbeat")
def heartbeat(
    job_id: int, body: LeaseRef, request: Request, session: SessionDep, who: Agent
) -> JobPublic:
    """Extend the lease (409 when the epoch is stale)."""
    _own_job(session, job_id, who)
    row = claims.heartbeat(session, job_id, body.owner, body.epoch, _now(), _config(request))
    return JobPublic.model_validate(row)


@router.post("/jobs/{job_id}/start")
def start(
    job_id: int, body: LeaseRef, request: Request, session: SessionDep, who: Agent
) -> JobPublic:
    """The pipeline started."""
    _own_job(session, job_id, who)
    row = claims.start(session, job_id, body.owner, body.epoch, _now(), _config(request))
    return JobPublic.model_validate(row)


@router.post("/jobs/{job_id}/finish")
def finish(
    job_id: int, body: JobOutcome, request: Request, session: SessionDep, who: Agent
) -> JobPublic:
    """Report the attempt's end; failures follow the retry policy."""
    _own_job(session, job_id, who)
    outcome = claims.Outcome(
        succeeded=body.succeeded,
        error_class=ErrorClass(body.error_class) if body.error_class else None,
        message=body.message,
        used_resources=body.used_resources,
        log_url=body.log_url,
    )
    row = claims.finish(session, job_id, body.owner, body.epoch, outcome, _now(), _config(request))
    return JobPublic.model_validate(row)


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
