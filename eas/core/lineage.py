"""Lineage: used/generated edges between jobs and products, walked with a recursive CTE."""

from __future__ import annotations

from sqlalchemy import CTE, func, literal, select
from sqlalchemy.orm import Session, aliased

from eas.errors import BadRequest, Forbidden, NotFound
from eas.models import DataProduct, Generation, Job, Usage
from eas.models.base import utcnow
from eas.schemas import LineageEdge, LineageGraph, LineageIn, LineageNode

MAX_DEPTH = 50


def record_lineage(session: Session, lineage: LineageIn, acting_site: str | None = None) -> Job:
    """Store used/generated edges of a job (idempotent); without a job id, record an activity.

    `acting_site`, for agent callers, must be the job's target site.
    """
    if lineage.job_id is not None:
        job = session.get(Job, lineage.job_id)
        if job is None:
            raise NotFound(f"no job {lineage.job_id}")
        if acting_site is not None and job.target_site != acting_site:
            raise Forbidden(f"job {job.id} runs at {job.target_site}, not at {acting_site}")
    else:
        site = lineage.site or acting_site
        if acting_site is not None and site != acting_site:
            raise Forbidden(f"an agent of {acting_site} cannot record lineage for {site}")
        job = Job(pipeline=lineage.pipeline, target_site=site, state="SUCCEEDED", finished=utcnow())
        session.add(job)
        session.flush()
    wanted = set(lineage.used) | set(lineage.generated)
    known = set(
        session.scalars(select(DataProduct.product_id).where(DataProduct.product_id.in_(wanted)))
    )
    unknown = sorted(wanted - known)
    if unknown:
        raise BadRequest(f"lineage names unknown product(s): {', '.join(unknown[:20])}")
    for model, ids in ((Usage, lineage.used), (Generation, lineage.generated)):
        stored = set(session.scalars(select(model.product_id).where(model.job_id == job.id)))
        for product_id in sorted(set(ids) - stored):
            session.add(model(job_id=job.id, product_id=product_id))
    session.flush()
    return job


def lineage_cte(product_id: str, direction: str, depth: int) -> CTE:
    """Edges (parent, child, job_id, depth) reachable from `product_id` within `depth` hops."""
    used, made = aliased(Usage), aliased(Generation)
    start = select(
        used.product_id.label("parent"),
        made.product_id.label("child"),
        made.job_id.label("job_id"),
        literal(1).label("depth"),
    ).join(made, made.job_id == used.job_id)
    if direction == "ancestors":
        start = start.where(made.product_id == product_id)
    else:
        start = start.where(used.product_id == product_id)
    walk = start.cte("walk", recursive=True)
    used2, made2 = aliased(Usage), aliased(Generation)
    step = select(used2.product_id, made2.product_id, made2.job_id, (walk.c.depth + 1)).join(
        made2, made2.job_id == used2.job_id
    )
    if direction == "ancestors":
        step = step.join(walk, made2.product_id == walk.c.parent)
    else:
        step = step.join(walk, used2.product_id == walk.c.child)
    return walk.union(step.where(walk.c.depth < depth))


def walk_lineage(session: Session, product_id: str, direction: str, depth: int) -> LineageGraph:
    """Ancestors or descendants of a product to `depth` hops, with the edges between them."""
    if direction not in ("ancestors", "descendants"):
        raise BadRequest(f"direction must be ancestors or descendants, not {direction!r}")
    if not 1 <= depth <= MAX_DEPTH:
        raise BadRequest(f"depth must be between 1 and {MAX_DEPTH}, not {depth}")
    if session.get(DataProduct, product_id) is None:
        raise NotFound(f"no product {product_id}")
    walk = lineage_cte(product_id, direction, depth)
    reached = walk.c.parent if direction == "ancestors" else walk.c.child
    nodes = session.execute(
        select(reached, DataProduct.product_type, func.min(walk.c.depth))
        .join(DataProduct, DataProduct.product_id == reached)
        .group_by(reached, DataProduct.product_type)
        .order_by(func.min(walk.c.depth), reached)
    ).all()
    edges = session.execute(
        select(walk.c.parent, walk.c.child, walk.c.job_id)
        .distinct()
        .order_by(walk.c.parent, walk.c.child, walk.c.job_id)
    ).all()
    return LineageGraph(
        product_id=product_id,
        direction=direction,  # type: ignore[arg-type]
        depth=depth,
        nodes=[LineageNode(product_id=p, product_type=t, depth=d) for p, t, d in nodes],
        edges=[LineageEdge(parent=p, child=c, job_id=j) for p, c, j in edges],
    )
