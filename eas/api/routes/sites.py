"""Sites and maintenance windows: anyone reads; planners and admins write (agents: own site)."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, status

from eas.api.deps import Planner, Reader, SessionDep, SiteWriter, require_site
from eas.core import sites as core
from eas.schemas import (
    MaintenanceWindowIn,
    MaintenanceWindowPublic,
    SiteIn,
    SitePublic,
    SiteUpdate,
)

router = APIRouter(tags=["sites"])


@router.get("/sites")
def list_sites(session: SessionDep, _: Reader) -> list[SitePublic]:
    """Every site."""
    return [SitePublic.model_validate(s) for s in core.list_sites(session)]


@router.post("/sites", status_code=status.HTTP_201_CREATED)
def create_site(site: SiteIn, session: SessionDep, _: Planner) -> SitePublic:
    """Declare a new site."""
    return SitePublic.model_validate(core.create_site(session, site))


@router.get("/sites/{name}")
def get_site(name: str, session: SessionDep, _: Reader) -> SitePublic:
    """One site."""
    return SitePublic.model_validate(core.get_site(session, name))


@router.patch("/sites/{name}")
def update_site(name: str, change: SiteUpdate, session: SessionDep, _: Planner) -> SitePublic:
    """Change some fields of a site."""
    return SitePublic.model_validate(core.update_site(session, name, change))


@router.delete("/sites/{name}", status_code=status.HTTP_204_NO_CONTENT)
def delete_site(name: str, session: SessionDep, _: Planner) -> None:
    """Remove a site that nothing references."""
    core.delete_site(session, name)


@router.get("/maintenance")
def list_windows(
    session: SessionDep,
    _: Reader,
    site: str | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
) -> list[MaintenanceWindowPublic]:
    """Maintenance windows, optionally of one site and overlapping [start, end)."""
    rows = core.list_windows(session, site, start, end)
    return [MaintenanceWindowPublic.model_validate(w) for w in rows]


@router.post("/maintenance", status_code=status.HTTP_201_CREATED)
def add_window(
    window: MaintenanceWindowIn, session: SessionDep, principal: SiteWriter
) -> MaintenanceWindowPublic:
    """Declare downtime (an agent only for its own site)."""
    require_site(principal, window.site)
    return MaintenanceWindowPublic.model_validate(core.add_windows(session, [window])[0])


@router.get("/maintenance/{window_id}")
def get_window(window_id: int, session: SessionDep, _: Reader) -> MaintenanceWindowPublic:
    """One maintenance window."""
    return MaintenanceWindowPublic.model_validate(core.get_window(session, window_id))


@router.delete("/maintenance/{window_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_window(window_id: int, session: SessionDep, principal: SiteWriter) -> None:
    """Cancel a maintenance window (an agent only for its own site)."""
    require_site(principal, core.get_window(session, window_id).site_name)
    core.delete_window(session, window_id)
