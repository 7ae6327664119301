"""Between job rows and the pure decisions: row -> `Job` value, sites -> `SiteState`."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, exists, select
from sqlalchemy.orm import Session

from eas.models import Job as JobRow
from eas.models import MaintenanceWindow as WindowRow
from eas.models import Site
from metascheduler.jobs import ErrorClass, Job, JobState, MaintenanceWindow, SiteState


def job_value(row: JobRow, missing_inputs: tuple[str, ...] = ()) -> Job:
    """The decision-relevant facts of a job row."""
    primary = row.primary_site or row.target_site or ""
    ready = row.ready_at or row.created
    return Job(
        job_id=row.id,
        pipeline=row.pipeline,
        state=JobState(row.state),
        primary_site=primary,
        secondary_site=row.secondary_site,
        site=row.target_site,
        priority=row.priority,
        attempts=row.attempts,
        ready_at=ready,
        deadline=row.deadline or ready,
        missing_inputs=missing_inputs,
        error_class=ErrorClass(row.error_class) if row.error_class else None,
        lease_owner=row.lease_owner,
        lease_epoch=row.lease_epoch,
        lease_expires_at=row.lease_expiry,
        not_before=row.not_before,
        ram_gb=float((row.requested_resources or {}).get("ram", 2.0)),
    )


def site_state(session: Session, now: datetime) -> SiteState:
    """Active sites and the maintenance windows that have not ended by `now`."""
    active = frozenset(session.scalars(select(Site.name).where(Site.active.is_(True))))
    windows = session.scalars(select(WindowRow).where(WindowRow.end > now)).all()
    return SiteState(
        active=active,
        maintenance=tuple(
            MaintenanceWindow(w.site_name, w.start, w.end, w.reason) for w in windows
        ),
    )


def site_up(
    site: str | ColumnElement[str], now: datetime | ColumnElement[datetime]
) -> ColumnElement[bool]:
    """True when `site` is active and in no maintenance window at `now`: a condition the
    claim puts into its own statement (one query less per claim)."""
    in_maintenance = exists().where(
        WindowRow.site_name == site, WindowRow.start <= now, WindowRow.end > now
    )
    return exists().where(Site.name == site, Site.active.is_(True), ~in_maintenance)
