"""Lineage: used/generated edges between jobs and products, walked with a recursive CTE."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from eas.core.bulk import existing_keys
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
    known = existing_keys(session, DataProduct.product_id, wanted)
    unknown = sorted(wanted - known)
    if unknown:
        raise BadRequest(f"lineage names unknown product(s): {', '.join(unknown[:20])}")
    for model, ids in ((Usage, lineage.used), (Generation, lineage.generated)):
        stored = set(session.scalars(select(model.product_id).where(model.job_id == job.id)))
        for product_id in sorted(set(ids) - stored):
            session.add(model(job_id=job.id, product_id=product_id))
    session.flush()
    return job


# One statement per direction, as SQL text: composing the CTE with the ORM for every call
# cost more than running it. Both SQLite and PostgreSQL run this SQL unchanged. UNION (not
# UNION ALL) drops repeated (edge, depth) rows where paths in the graph rejoin.
_WALK = """
WITH RECURSIVE walk(parent, child, job_id, depth) AS (
    SELECT u.product_id, g.product_id, g.job_id, 1
      FROM usage u JOIN generation g ON g.job_id = u.job_id
     WHERE {start} = :product_id
    UNION
    SELECT u.product_id, g.product_id, g.job_id, w.depth + 1
      FROM usage u JOIN generation g ON g.job_id = u.job_id JOIN walk w ON {step}
     WHERE w.depth < :depth
)
SELECT parent, child, job_id, depth,
       (SELECT product_type FROM data_product WHERE product_id = walk.{reached})
  FROM walk
"""
WALK_SQL = {
    "ancestors": _WALK.format(
        start="g.product_id", step="g.product_id = w.parent", reached="parent"
    ),
    "descendants": _WALK.format(
        start="u.product_id", step="u.product_id = w.child", reached="child"
    ),
}


def walk_lineage(session: Session, product_id: str, direction: str, depth: int) -> LineageGraph:
    """Ancestors or descendants of a product to `depth` hops, with the edges between them."""
    if direction not in ("ancestors", "descendants"):
        raise BadRequest(f"direction must be ancestors or descendants, not {direction!r}")
    if not 1 <= depth <= MAX_DEPTH:
        raise BadRequest(f"depth must be between 1 and {MAX_DEPTH}, not {depth}")
    connection = session.connection()
    # The driver's own parameter style, run as is: SQLAlchemy's statement handling cost as
    # much as the query itself here.
    sql = WALK_SQL[direction]
    if connection.dialect.paramstyle == "pyformat":
        sql = sql.replace(":product_id", "%(product_id)s").replace(":depth", "%(depth)s")
    rows = connection.exec_driver_sql(sql, {"product_id": product_id, "depth": depth}).all()
    if not rows and session.get(DataProduct, product_id) is None:
        raise NotFound(f"no product {product_id}")
    nearest: dict[str, tuple[int, str]] = {}
    for parent, child, _job, hops, product_type in rows:
        node = parent if direction == "ancestors" else child
        if node not in nearest or hops < nearest[node][0]:
            nearest[node] = (hops, product_type)
    nodes = sorted((d, p, t) for p, (d, t) in nearest.items())
    edges = sorted({(parent, child, job) for parent, child, job, _, _ in rows})
    # Rows straight from the database: constructed without re-validating every field.
    return LineageGraph.model_construct(
        product_id=product_id,
        direction=direction,
        depth=depth,
        nodes=[
            LineageNode.model_construct(product_id=p, product_type=t, depth=d) for d, p, t in nodes
        ],
        edges=[LineageEdge.model_construct(parent=p, child=c, job_id=j) for p, c, j in edges],
    )
