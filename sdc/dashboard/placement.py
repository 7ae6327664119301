"""The placement page: the current plan, older versions, their diff, and the plan's pictures."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from eas.api.deps import SessionDep
from eas.core.plans import current_plan, diff_plans, get_plan, list_plans
from eas.errors import NotFound
from sdc.dashboard.auth import Viewer
from sdc.dashboard.pages import problem, render
from sdc.dashboard.plots import share_over_time, sky_map
from sdc.dashboard.queries import assignment_counts, placed_observations

router = APIRouter()
DIFF_ROWS = 500  # a page shows the first changes; the count says how many there are


@router.get("/placement", response_class=HTMLResponse, include_in_schema=False)
def placement_page(
    request: Request,
    viewer: Viewer,
    session: SessionDep,
    from_version: int | None = None,
    to_version: int | None = None,
) -> HTMLResponse:
    """The current plan with its stats and shares, every version, and a diff of two."""
    plans = list_plans(session)
    try:
        plan = current_plan(session)
    except NotFound:
        plan = None
    diff = None
    if from_version is not None and to_version is not None:
        try:
            diff = diff_plans(session, from_version, to_version)
        except NotFound as exc:
            return problem(request, 404, str(exc))
    context = {
        "viewer": viewer,
        "plan": plan,
        "plans": plans,
        "counts": assignment_counts(session, plan.version) if plan else {},
        "diff": diff,
        "diff_rows": DIFF_ROWS,
    }
    return render(request, "placement.html", context)


def _picture(session: SessionDep, version: int, draw: str) -> Response:
    try:
        get_plan(session, version)
    except NotFound as exc:
        return Response(str(exc), status_code=404, media_type="text/plain")
    observations = placed_observations(session, version)
    png = sky_map(observations) if draw == "sky" else share_over_time(observations)
    return Response(png, media_type="image/png")


@router.get("/placement/{version}/sky.png", include_in_schema=False)
def sky_png(_viewer: Viewer, session: SessionDep, version: int) -> Response:
    """Plan `version`'s observations on the sky, coloured by primary site."""
    return _picture(session, version, "sky")


@router.get("/placement/{version}/share.png", include_in_schema=False)
def share_png(_viewer: Viewer, session: SessionDep, version: int) -> Response:
    """Plan `version`'s per-site share of primaries over time."""
    return _picture(session, version, "share")
