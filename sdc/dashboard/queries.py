"""What the dashboard pages show, read from the archive with a session (never writes)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Row, func, select
from sqlalchemy.orm import Session

from eas.core.sites import list_sites, list_windows
from eas.errors import BadRequest
from eas.models import JOB_STATES, DataProduct, Generation, Job, Observation, Replica, Usage
from eas.models import Assignment as AssignmentRow
from sdc.dashboard.plots import PlacedObservation, Window

JOB_LIMIT = 500


@dataclass(frozen=True)
class SiteOverview:
    """One site as operators watch it: up or down, queues, running work, storage."""

    name: str
    country: str
    cores: int
    storage_tb: float
    active: bool
    maintenance_reason: str | None
    maintenance_until: datetime | None
    queue: dict[str, int]
    running: list[Row[*tuple[Any, ...]]]  # id, pipeline, target_site
    used_bytes: int

    @property
    def state(self) -> str:
        """`inactive`, `in maintenance` or `active`."""
        if not self.active:
            return "inactive"
        return "in maintenance" if self.maintenance_until is not None else "active"

    @property
    def used_percent(self) -> float:
        """Storage used as a percentage of the site's capacity (0 when it has none)."""
        capacity = self.storage_tb * 1e12
        return 100.0 * self.used_bytes / capacity if capacity else 0.0


def site_overviews(session: Session, now: datetime) -> list[SiteOverview]:
    """Every site with its state at `now`, job counts per state and AVAILABLE bytes held."""
    counts: dict[str | None, dict[str, int]] = {}
    for site, state, count in session.execute(
        select(Job.target_site, Job.state, func.count()).group_by(Job.target_site, Job.state)
    ):
        counts.setdefault(site, {})[state] = count
    used: dict[str, int] = {
        site: int(total)
        for site, total in session.execute(
            select(Replica.site_name, func.sum(DataProduct.size_bytes))
            .join(DataProduct, DataProduct.product_id == Replica.product_id)
            .where(Replica.state == "AVAILABLE")
            .group_by(Replica.site_name)
        )
    }
    running: dict[str | None, list[Row[*tuple[Any, ...]]]] = {}
    for job in session.execute(
        select(Job.id, Job.pipeline, Job.target_site)
        .where(Job.state.in_(("CLAIMED", "RUNNING")))
        .order_by(Job.id)
    ):
        running.setdefault(job.target_site, []).append(job)
    current = {w.site_name: w for w in list_windows(session, None, now) if w.start <= now}
    return [
        SiteOverview(
            name=site.name,
            country=site.country,
            cores=site.cores,
            storage_tb=site.storage_tb,
            active=site.active,
            maintenance_reason=current[site.name].reason if site.name in current else None,
            maintenance_until=current[site.name].end if site.name in current else None,
            queue={state: counts.get(site.name, {}).get(state, 0) for state in JOB_STATES},
            running=running.get(site.name, []),
            used_bytes=used.get(site.name, 0),
        )
        for site in list_sites(session)
    ]


def timeline_rows(session: Session) -> tuple[list[str], list[Window]]:
    """Site names and every maintenance window, for the timeline picture."""
    sites = [site.name for site in list_sites(session)]
    windows = [Window(w.site_name, w.start, w.end) for w in list_windows(session)]
    return sites, windows


def placed_observations(session: Session, version: int) -> list[PlacedObservation]:
    """The observations of plan `version` with their primary site, by start time."""
    rows = session.execute(
        select(Observation.start, Observation.ra, Observation.dec, AssignmentRow.site_name)
        .join(AssignmentRow, AssignmentRow.obs_id == Observation.obs_id)
        .where(AssignmentRow.plan_version == version, AssignmentRow.role == "primary")
        .order_by(Observation.start)
    )
    return [PlacedObservation(start, ra, dec, site) for start, ra, dec, site in rows]


def assignment_counts(session: Session, version: int) -> dict[str, dict[str, int]]:
    """Plan `version`'s assignments per site and role."""
    counts: dict[str, dict[str, int]] = {}
    for site, role, count in session.execute(
        select(AssignmentRow.site_name, AssignmentRow.role, func.count())
        .where(AssignmentRow.plan_version == version)
        .group_by(AssignmentRow.site_name, AssignmentRow.role)
    ):
        counts.setdefault(site, {})[role] = count
    return counts


@dataclass(frozen=True)
class JobFilter:
    """The jobs table's filters; empty means any."""

    state: str | None = None
    site: str | None = None
    pipeline: str | None = None


# The jobs table's columns: loading whole rows decoded every job's JSON columns, which cost
# more than the query and the HTML together.
JOB_COLUMNS = (
    Job.id,
    Job.pipeline,
    Job.state,
    Job.target_site,
    Job.obs_id,
    Job.tile_id,
    Job.priority,
    Job.attempts,
    Job.created,
    Job.finished,
)


def find_jobs(
    session: Session, wanted: JobFilter, limit: int = JOB_LIMIT
) -> Sequence[Row[*tuple[Any, ...]]]:
    """Jobs matching every given filter, newest first (the table's columns only)."""
    if wanted.state is not None and wanted.state not in JOB_STATES:
        raise BadRequest(f"unknown job state {wanted.state!r}; one of {', '.join(JOB_STATES)}")
    query = select(*JOB_COLUMNS).order_by(Job.id.desc()).limit(limit)
    if wanted.state is not None:
        query = query.where(Job.state == wanted.state)
    if wanted.site is not None:
        query = query.where(Job.target_site == wanted.site)
    if wanted.pipeline is not None:
        query = query.where(Job.pipeline == wanted.pipeline)
    return session.execute(query).all()


def pipeline_names(session: Session) -> list[str]:
    """Every pipeline some job runs, for the filter's choices."""
    return list(session.scalars(select(Job.pipeline).distinct().order_by(Job.pipeline)))


@dataclass(frozen=True)
class JobProducts:
    """A job's inputs (Usage) and outputs (Generation), with the lineage pairs they make."""

    inputs: list[DataProduct]
    outputs: list[DataProduct]
    lineage: list[tuple[str, str]] = field(default_factory=list)


def job_products(session: Session, job_id: int) -> JobProducts:
    """The products a job used and generated; each output is paired with each input."""
    inputs, outputs = (
        list(
            session.scalars(
                select(DataProduct)
                .join(edge, edge.product_id == DataProduct.product_id)
                .where(edge.job_id == job_id)
                .order_by(DataProduct.product_id)
            )
        )
        for edge in (Usage, Generation)
    )
    pairs = [(i.product_id, o.product_id) for o in outputs for i in inputs]
    return JobProducts(inputs, outputs, pairs)


def product_jobs(session: Session, product_id: str) -> tuple[list[Job], list[Job]]:
    """(jobs that generated the product, jobs that used it)."""
    made = select(Generation.job_id).where(Generation.product_id == product_id)
    used = select(Usage.job_id).where(Usage.product_id == product_id)
    return (
        list(session.scalars(select(Job).where(Job.id.in_(made)).order_by(Job.id))),
        list(session.scalars(select(Job).where(Job.id.in_(used)).order_by(Job.id))),
    )


def resource_rows(job: Job) -> list[tuple[str, object, object]]:
    """(resource, requested, used) for every resource either side names, by name.

    By name because PostgreSQL's JSONB keeps no key order.
    """
    requested = job.requested_resources or {}
    used = job.used_resources or {}
    names = sorted(requested.keys() | used.keys())
    return [(name, requested.get(name, ""), used.get(name, "")) for name in names]
