"""Placement plan versions: store with stats and parent, current plan, diff two versions."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from eas.core.bulk import existing_keys, insert_rows
from eas.core.lookup import fetch
from eas.core.sites import require_sites
from eas.errors import BadRequest, Conflict, NotFound
from eas.models import Assignment, Observation, Plan, Tile
from eas.schemas import AssignmentChange, PlanDiff, PlanIn

Subject = tuple[int | None, int | None, str]  # (obs_id, tile_id, role)


def _require_subjects(session: Session, plan: PlanIn) -> None:
    for column, ids, what in (
        (Observation.obs_id, {a.obs_id for a in plan.assignments if a.obs_id is not None}, "obs"),
        (Tile.tile_id, {a.tile_id for a in plan.assignments if a.tile_id is not None}, "tile"),
    ):
        unknown = [str(i) for i in sorted(ids - existing_keys(session, column, ids))]
        if unknown:
            raise BadRequest(
                f"plan {plan.version} assigns unknown {what}(s): {', '.join(unknown[:20])}"
            )


def store_plan(session: Session, plan: PlanIn) -> Plan:
    """Store a plan version with its assignments; a CURRENT one supersedes the previous."""
    if session.get(Plan, plan.version) is not None:
        raise Conflict(f"plan version {plan.version} already exists")
    if plan.parent_version is not None and session.get(Plan, plan.parent_version) is None:
        raise BadRequest(f"plan {plan.version} names unknown parent version {plan.parent_version}")
    subjects = [(a.obs_id, a.tile_id, a.role) for a in plan.assignments]
    if len(set(subjects)) != len(subjects):
        raise BadRequest(f"plan {plan.version} assigns the same subject and role twice")
    require_sites(session, {a.site for a in plan.assignments}, f"plan {plan.version}")
    _require_subjects(session, plan)
    if plan.status == "CURRENT":
        session.execute(update(Plan).where(Plan.status == "CURRENT").values(status="SUPERSEDED"))
    row = Plan(**plan.model_dump(exclude={"assignments"}))
    session.add(row)
    session.flush()
    rows = [
        {
            "plan_version": plan.version,
            "obs_id": a.obs_id,
            "tile_id": a.tile_id,
            "role": a.role,
            "site_name": a.site,
        }
        for a in plan.assignments
    ]
    insert_rows(session, Assignment, rows)
    return row


def list_plans(session: Session) -> Sequence[Plan]:
    """Every plan version, newest first."""
    return session.scalars(select(Plan).order_by(Plan.version.desc())).all()


def get_plan(session: Session, version: int) -> Plan:
    """Plan `version`; NotFound otherwise."""
    return fetch(session, Plan, version, "plan version")


def current_plan(session: Session) -> Plan:
    """The plan in force; NotFound when none was stored."""
    row = session.scalar(select(Plan).where(Plan.status == "CURRENT"))
    if row is None:
        raise NotFound("no current plan")
    return row


def list_assignments(
    session: Session, version: int, site: str | None = None, role: str | None = None
) -> Sequence[Assignment]:
    """Assignments of plan `version`, optionally of one site and role."""
    get_plan(session, version)
    query = select(Assignment).where(Assignment.plan_version == version).order_by(Assignment.id)
    if site is not None:
        query = query.where(Assignment.site_name == site)
    if role is not None:
        query = query.where(Assignment.role == role)
    return session.scalars(query).all()


def _sites_by_subject(session: Session, version: int) -> dict[Subject, str]:
    rows = session.execute(
        select(Assignment.obs_id, Assignment.tile_id, Assignment.role, Assignment.site_name).where(
            Assignment.plan_version == version
        )
    )
    return {(obs, tile, role): site for obs, tile, role, site in rows}


def diff_plans(session: Session, from_version: int, to_version: int) -> PlanDiff:
    """Subjects whose site differs between two versions (including ones only in one)."""
    get_plan(session, from_version)
    get_plan(session, to_version)
    before = _sites_by_subject(session, from_version)
    after = _sites_by_subject(session, to_version)
    changes = [
        AssignmentChange(
            obs_id=subject[0],
            tile_id=subject[1],
            role=subject[2],  # type: ignore[arg-type]
            from_site=before.get(subject),
            to_site=after.get(subject),
        )
        for subject in sorted(before.keys() | after.keys(), key=_subject_order)
        if before.get(subject) != after.get(subject)
    ]
    unchanged = sum(1 for s, site in before.items() if after.get(s) == site)
    return PlanDiff(
        from_version=from_version, to_version=to_version, unchanged=unchanged, changes=changes
    )


def _subject_order(subject: Subject) -> tuple[int, int, str]:
    obs, tile, role = subject
    return (0, obs, role) if obs is not None else (1, tile or 0, role)
