"""Placement plans: store a version (planners, admins), current plan, assignments, diff."""

from __future__ import annotations

from fastapi import APIRouter, status

from eas.api.deps import Planner, Reader, SessionDep
from eas.core import plans as core
from eas.schemas import AssignmentPublic, AssignmentRole, PlanDiff, PlanIn, PlanPublic

router = APIRouter(tags=["plans"])


@router.post("/plans", status_code=status.HTTP_201_CREATED)
def store_plan(plan: PlanIn, session: SessionDep, _: Planner) -> PlanPublic:
    """Store a plan version with its assignments and stats."""
    return PlanPublic.model_validate(core.store_plan(session, plan))


@router.get("/plans")
def list_plans(session: SessionDep, _: Reader) -> list[PlanPublic]:
    """Every plan version, newest first."""
    return [PlanPublic.model_validate(p) for p in core.list_plans(session)]


@router.get("/plans/current")
def current_plan(session: SessionDep, _: Reader) -> PlanPublic:
    """The plan in force."""
    return PlanPublic.model_validate(core.current_plan(session))


@router.get("/plans/{version}")
def get_plan(version: int, session: SessionDep, _: Reader) -> PlanPublic:
    """One plan version."""
    return PlanPublic.model_validate(core.get_plan(session, version))


@router.get("/plans/{version}/assignments")
def list_assignments(
    version: int,
    session: SessionDep,
    _: Reader,
    site: str | None = None,
    role: AssignmentRole | None = None,
) -> list[AssignmentPublic]:
    """Assignments of one plan version, optionally of one site and role."""
    rows = core.list_assignments(session, version, site, role)
    return [AssignmentPublic.model_validate(a) for a in rows]


@router.get("/plans/{from_version}/diff/{to_version}")
def diff_plans(from_version: int, to_version: int, session: SessionDep, _: Reader) -> PlanDiff:
    """What moved between two plan versions."""
    return core.diff_plans(session, from_version, to_version)
