"""The jobs pages: a filterable table, and one job with its products, resources, log and why."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import unquote, urlparse

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from eas.api.deps import SessionDep
from eas.core.sites import list_sites
from eas.errors import BadRequest, NotFound
from eas.models import JOB_STATES
from metascheduler.config import SchedulerConfig
from metascheduler.queries import explain_job, get_job
from sdc.dashboard.auth import Viewer
from sdc.dashboard.pages import problem, render
from sdc.dashboard.queries import (
    JOB_LIMIT,
    JobFilter,
    find_jobs,
    job_products,
    pipeline_names,
    resource_rows,
)

router = APIRouter()
TAIL_BYTES = 8192  # enough for the last screenful of a pipeline log


def log_tail(log_url: str | None, limit: int = TAIL_BYTES) -> str | None:
    """The end of a log at a local `file://` URL; None for other URLs or a missing file."""
    if not log_url or not log_url.startswith("file://"):
        return None
    path = Path(unquote(urlparse(log_url).path))
    try:
        with path.open("rb") as log:
            log.seek(0, 2)
            size = log.tell()
            log.seek(max(0, size - limit))
            text = log.read().decode("utf-8", errors="replace")
    except OSError:
        return None
    # Starting mid-file: drop the partial first line.
    return text.split("\n", 1)[-1] if size > limit else text


@router.get("/jobs", response_class=HTMLResponse, include_in_schema=False)
def jobs_page(
    request: Request,
    viewer: Viewer,
    session: SessionDep,
    state: str = "",
    site: str = "",
    pipeline: str = "",
) -> HTMLResponse:
    """Jobs filtered by state, site and pipeline (an empty filter matches all)."""
    wanted = JobFilter(state or None, site or None, pipeline or None)
    try:
        jobs = find_jobs(session, wanted)
    except BadRequest as exc:
        return problem(request, 400, str(exc))
    context = {
        "viewer": viewer,
        "jobs": jobs,
        "wanted": wanted,
        "limit": JOB_LIMIT,
        "states": JOB_STATES,
        "sites": [s.name for s in list_sites(session)],
        "pipelines": pipeline_names(session),
    }
    return render(request, "jobs.html", context)


@router.get("/jobs/{job_id}", response_class=HTMLResponse, include_in_schema=False)
def job_page(request: Request, viewer: Viewer, session: SessionDep, job_id: int) -> HTMLResponse:
    """One job: inputs, outputs, lineage pairs, resources, log and why it is where it is."""
    try:
        job = get_job(session, job_id)
    except NotFound as exc:
        return problem(request, 404, str(exc))
    config: SchedulerConfig = getattr(request.app.state, "scheduler_config", SchedulerConfig())
    context = {
        "viewer": viewer,
        "job": job,
        "products": job_products(session, job_id),
        "resources": resource_rows(job),
        "log_tail": log_tail(job.log_url),
        "why": explain_job(session, job_id, datetime.now(UTC), config),
        # the pipelines page names each graph after the pipeline the agents run it as
        "pipeline_graph": job.pipeline in request.app.state.dashboard.pipelines.scripts,
    }
    return render(request, "job.html", context)
