"""Sites and maintenance windows."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from eas.core.lookup import fetch
from eas.errors import BadRequest, Conflict
from eas.models import MaintenanceWindow, Site
from eas.schemas import MaintenanceWindowIn, SiteIn, SiteUpdate


def list_sites(session: Session) -> Sequence[Site]:
    """Every site, by name."""
    return session.scalars(select(Site).order_by(Site.name)).all()


def get_site(session: Session, name: str) -> Site:
    """The site called `name`; NotFound otherwise."""
    return fetch(session, Site, name, "site")


def require_sites(session: Session, names: Iterable[str], what: str) -> None:
    """Raise BadRequest naming every site in `names` the archive does not know."""
    wanted = set(names)
    known = set(session.scalars(select(Site.name).where(Site.name.in_(wanted))))
    unknown = sorted(wanted - known)
    if unknown:
        empty = session.scalar(select(Site.name).limit(1)) is None
        hint = "; the archive has no sites yet: load them first (sites.yaml)" if empty else ""
        raise BadRequest(f"{what} names unknown site(s): {', '.join(unknown)}{hint}")


def create_site(session: Session, site: SiteIn) -> Site:
    """Store a new site; Conflict when the name is taken."""
    if session.get(Site, site.name) is not None:
        raise Conflict(f"site {site.name!r} already exists")
    row = Site(**site.model_dump())
    session.add(row)
    session.flush()
    return row


def upsert_sites(session: Session, sites: Iterable[SiteIn]) -> tuple[int, int]:
    """Create or update each site; returns (created, updated)."""
    created = updated = 0
    for site in sites:
        row = session.get(Site, site.name)
        if row is None:
            session.add(Site(**site.model_dump()))
            created += 1
        else:
            for field, value in site.model_dump().items():
                setattr(row, field, value)
            updated += 1
    session.flush()
    return created, updated


def update_site(session: Session, name: str, change: SiteUpdate) -> Site:
    """Change the given fields of a site."""
    row = get_site(session, name)
    for field, value in change.model_dump(exclude_unset=True).items():
        setattr(row, field, value)
    session.flush()
    return row


def delete_site(session: Session, name: str) -> None:
    """Remove a site and its maintenance windows."""
    session.delete(get_site(session, name))
    session.flush()


def list_windows(
    session: Session,
    site: str | None = None,
    overlapping_from: datetime | None = None,
    overlapping_to: datetime | None = None,
) -> Sequence[MaintenanceWindow]:
    """Maintenance windows, optionally of one site and overlapping [from, to)."""
    query = select(MaintenanceWindow).order_by(MaintenanceWindow.start, MaintenanceWindow.id)
    if site is not None:
        query = query.where(MaintenanceWindow.site_name == site)
    if overlapping_from is not None:
        query = query.where(MaintenanceWindow.end > overlapping_from)
    if overlapping_to is not None:
        query = query.where(MaintenanceWindow.start < overlapping_to)
    return session.scalars(query).all()


def add_windows(
    session: Session, windows: Sequence[MaintenanceWindowIn]
) -> list[MaintenanceWindow]:
    """Store windows; one already stored with the same site, start and end is kept, not copied."""
    require_sites(session, (w.site for w in windows), "maintenance window")
    stored = []
    for window in windows:
        row = session.scalar(
            select(MaintenanceWindow).where(
                MaintenanceWindow.site_name == window.site,
                MaintenanceWindow.start == window.start,
                MaintenanceWindow.end == window.end,
            )
        )
        if row is None:
            row = MaintenanceWindow(
                site_name=window.site, start=window.start, end=window.end, reason=window.reason
            )
            session.add(row)
        else:
            row.reason = window.reason
        stored.append(row)
    session.flush()
    return stored


def get_window(session: Session, window_id: int) -> MaintenanceWindow:
    """The maintenance window with this id; NotFound otherwise."""
    return fetch(session, MaintenanceWindow, window_id, "maintenance window")


def delete_window(session: Session, window_id: int) -> None:
    """Remove a maintenance window."""
    session.delete(get_window(session, window_id))
    session.flush()
