"""The sites page: each site's state, queues, running jobs, storage, maintenance timeline."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from eas.api.deps import SessionDep
from sdc.dashboard.auth import Viewer
from sdc.dashboard.pages import render
from sdc.dashboard.plots import maintenance_timeline
from sdc.dashboard.queries import site_overviews, timeline_rows

router = APIRouter()
# The queue columns operators watch; finished states are counted on the jobs page.
QUEUE_STATES = ("PENDING", "WAITING", "QUEUED", "CLAIMED", "RUNNING", "FAILED")


@router.get("/", response_class=HTMLResponse, include_in_schema=False)
def sites_page(request: Request, viewer: Viewer, session: SessionDep) -> HTMLResponse:
    """Every site: state now, queue lengths per job state, running jobs, storage use."""
    now = datetime.now(UTC)
    context = {
        "viewer": viewer,
        "sites": site_overviews(session, now),
        "queue_states": QUEUE_STATES,
        "now": now,
    }
    return render(request, "sites.html", context)


@router.get("/sites/timeline.png", include_in_schema=False)
def timeline_png(_viewer: Viewer, session: SessionDep) -> Response:
    """The maintenance windows of every site on one time axis."""
    sites, windows = timeline_rows(session)
    png = maintenance_timeline(sites, windows, datetime.now(UTC))
    return Response(png, media_type="image/png")
