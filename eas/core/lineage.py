"""Lineage: used/generated edges between jobs and products, walked with a recursive CTE."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from eas.core.bulk import existing_keys
from eas.errors import BadRequest, Forbidden, NotFound
from eas.models import DataProduct, Generation, Job, Usage
from eas.models.base import utcnow
from eas.schemas import LineageGraph, LineageIn

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


def walk_lineage(
    session: Session | Connection, product_id: str, direction: str, depth: int
) -> LineageGraph:
    """Ancestors or descendants of a product to `depth` hops, with the edges between them.

    Takes a session or, for readers outside any transaction, a connection.
    """
    if direction not in ("ancestors", "descendants"):
        raise BadRequest(f"direction must be ancestors or descendants, not {direction!r}")
    if not 1 <= depth <= MAX_DEPTH:
        raise BadRequest(f"depth must be between 1 and {MAX_DEPTH}, not {depth}")
    connection = session.connection() if isinstance(session, Session) else session
    rows = _walk_rows(connection, direction, {"product_id": product_id, "depth": depth})
    if not rows and not _is_product(connection, product_id):
        raise NotFound(f"no product {product_id}")
    nearest: dict[str, tuple[int, str]] = {}
    for parent, child, _job, hops, product_type in rows:
        node = parent if direction == "ancestors" else child
        if node not in nearest or hops < nearest[node][0]:
            nearest[node] = (hops, product_type)
    # One validation of plain dicts (pydantic-core) costs less than constructing each model.
    return LineageGraph.model_validate(
        {
            "product_id": product_id,
            "direction": direction,
            "depth": depth,
            "nodes": [
                {"product_id": p, "product_type": t, "depth": d}
                for d, p, t in sorted((d, p, t) for p, (d, t) in nearest.items())
            ],
            "edges": [
                {"parent": p, "child": c, "job_id": j}
                for p, c, j in sorted({(p, c, j) for p, c, j, _, _ in rows})
            ],
        }
    )


def _walk_rows(connection: Connection, direction: str, params: dict[str, Any]) -> list[Any]:
    """The walk's rows, through the driver's own cursor.

    SQLAlchemy's statement and result handling cost as much as the recursive query itself.
    On PostgreSQL the statement is prepared once per connection: planning the recursive CTE
    took longer than running it.
    """
    dbapi = connection.connection.dbapi_connection
    assert dbapi is not None
    cursor = dbapi.cursor()
    try:
        if connection.dialect.name != "postgresql":
            cursor.execute(WALK_SQL[direction], params)
            return list(cursor.fetchall())
        name = f"eas_lineage_{direction}"
        # Pool-record info lives exactly as long as the server session holding the PREPARE.
        prepared: set[str] = connection.connection.info.setdefault("prepared", set())
        if name not in prepared:
            sql = WALK_SQL[direction].replace(":product_id", "$1").replace(":depth", "$2")
            cursor.execute(f"PREPARE {name}(text, int) AS {sql}")
            # Otherwise PostgreSQL keeps re-planning for every product id until it trusts the
            # generic plan (hundreds of calls here); the plan is the same index walk for any
            # id. The archive prepares nothing else and defines no functions, so the setting
            # reaches only these statements.
            cursor.execute("SET plan_cache_mode = force_generic_plan")
            prepared.add(name)
        cursor.execute(f"EXECUTE {name}(%(product_id)s, %(depth)s)", params)
        return list(cursor.fetchall())
    finally:
        cursor.close()


def _is_product(connection: Connection, product_id: str) -> bool:
    found = connection.execute(
        select(DataProduct.product_id).where(DataProduct.product_id == product_id)
    )
    return found.first() is not None
