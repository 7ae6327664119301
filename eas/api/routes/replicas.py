"""Replicas: agents record and update their own site's copies; anyone lists them."""

from __future__ import annotations

from fastapi import APIRouter, Query, Response, status

from eas.api.deps import Agent, ConfigDep, Reader, SessionDep, require_site
from eas.core import replicas as core
from eas.schemas import ReplicaIn, ReplicaPublic, ReplicaState, ReplicaStateChange

router = APIRouter(tags=["replicas"])


@router.post("/products/{product_id}/replicas", status_code=status.HTTP_201_CREATED)
def add_replica(
    product_id: str,
    replica: ReplicaIn,
    response: Response,
    session: SessionDep,
    who: Agent,
    exclusive: bool = False,
) -> ReplicaPublic:
    """Record a copy of a product at a site (201 new, 200 when already recorded).

    `exclusive=true`: 409 when the site already has a row (claiming it, e.g. to copy once).
    """
    require_site(who, replica.site)
    row, created = core.add_replica(session, product_id, replica, exclusive)
    if not created:
        response.status_code = status.HTTP_200_OK
    return ReplicaPublic.model_validate(row)


@router.patch("/replicas/{replica_id}")
def set_replica_state(
    replica_id: int, change: ReplicaStateChange, session: SessionDep, who: Agent
) -> ReplicaPublic:
    """Change a replica's state (only from `expected_state` when given: 409 otherwise)."""
    require_site(who, core.get_replica(session, replica_id).site_name)
    row = core.set_replica_state(session, replica_id, change.state, change.expected_state)
    return ReplicaPublic.model_validate(row)


@router.get("/replicas")
def list_replicas(
    session: SessionDep,
    config: ConfigDep,
    _: Reader,
    site: str | None = None,
    state: ReplicaState | None = None,
    product_id: str | None = None,
    limit: int = Query(1000, ge=1),
    after_id: int | None = None,
) -> list[ReplicaPublic]:
    """Replicas by site, state and product, by id; `after_id` (the last id seen) pages on."""
    page = min(limit, config.max_page_size)
    rows = core.list_replicas(session, site, state, product_id, page, after_id)
    return [ReplicaPublic.model_validate(r) for r in rows]
