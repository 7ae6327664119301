"""Lineage: record used/generated edges (agents, admins); walk ancestors or descendants."""

from __future__ import annotations

from fastapi import APIRouter, Query, status

from eas.api.deps import Agent, Reader, SessionDep
from eas.core import lineage as core
from eas.schemas import Direction, LineageGraph, LineageIn, LineageRecorded

router = APIRouter(tags=["lineage"])


@router.post("/lineage", status_code=status.HTTP_201_CREATED)
def record_lineage(lineage: LineageIn, session: SessionDep, who: Agent) -> LineageRecorded:
    """Store a job's used/generated edges (idempotent)."""
    acting_site = who.site if who.role == "agent" else None
    job = core.record_lineage(session, lineage, acting_site)
    return LineageRecorded(job_id=job.id)


@router.get("/products/{product_id}/lineage")
def walk_lineage(
    product_id: str,
    session: SessionDep,
    _: Reader,
    direction: Direction = "ancestors",
    depth: int = Query(3, ge=1, le=core.MAX_DEPTH),
) -> LineageGraph:
    """Ancestors or descendants of a product, to a depth."""
    return core.walk_lineage(session, product_id, direction, depth)
