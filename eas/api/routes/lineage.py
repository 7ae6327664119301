"""Lineage: record used/generated edges (agents, admins); walk ancestors or descendants."""

from __future__ import annotations

from fastapi import APIRouter, Query, Response, status
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import Engine

from eas.api.deps import Agent, ReadEngineDep, Reader, SessionDep
from eas.core import lineage as core
from eas.schemas import Direction, LineageGraph, LineageIn, LineageRecorded

router = APIRouter(tags=["lineage"])


@router.post("/lineage", status_code=status.HTTP_201_CREATED)
def record_lineage(lineage: LineageIn, session: SessionDep, who: Agent) -> LineageRecorded:
    """Store a job's used/generated edges (idempotent)."""
    acting_site = who.site if who.role == "agent" else None
    job = core.record_lineage(session, lineage, acting_site)
    return LineageRecorded(job_id=job.id)


@router.get("/products/{product_id}/lineage", response_model=LineageGraph)
async def walk_lineage(
    product_id: str,
    reads: ReadEngineDep,
    _: Reader,
    direction: Direction = "ancestors",
    depth: int = Query(3, ge=1, le=core.MAX_DEPTH),
) -> Response:
    """Ancestors or descendants of a product, to a depth."""
    graph = await run_in_threadpool(_walk_json, reads, product_id, direction, depth)
    return Response(graph, media_type="application/json")


def _walk_json(reads: Engine, product_id: str, direction: str, depth: int) -> bytes:
    # One statement on an autocommit connection; the graph is already a validated model,
    # so it is serialised once here instead of being validated again by FastAPI.
    with reads.connect() as connection:
        return (
            core.walk_lineage(connection, product_id, direction, depth).model_dump_json().encode()
        )
