"""Replicas: which site holds which product, in what state."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from eas.core.bulk import insert_if_absent
from eas.core.lookup import fetch
from eas.core.products import get_product
from eas.core.sites import require_sites
from eas.errors import Conflict
from eas.models import Replica
from eas.models.base import utcnow
from eas.schemas import ReplicaIn


def add_replica(session: Session, product_id: str, replica: ReplicaIn) -> tuple[Replica, bool]:
    """Record a copy of a product at a site; returns (row, created).

    The same site and URL again is the stored row with its state updated (agents retry);
    another URL for a site that already holds the product is a Conflict.
    """
    get_product(session, product_id)
    require_sites(session, [replica.site], "replica")
    now = utcnow()
    values = {
        "product_id": product_id,
        "site_name": replica.site,
        "url": replica.url,
        "state": replica.state,
        "checked_at": now,
    }
    created = insert_if_absent(session, Replica, values)
    row = session.scalars(
        select(Replica).where(Replica.product_id == product_id, Replica.site_name == replica.site)
    ).one()
    if created:
        return row, True
    if row.url != replica.url:
        raise Conflict(
            f"{replica.site} already holds product {product_id} at {row.url}, not {replica.url}"
        )
    row.state = replica.state
    row.checked_at = now
    session.flush()
    return row, False


def get_replica(session: Session, replica_id: int) -> Replica:
    """Replica `replica_id`; NotFound otherwise."""
    return fetch(session, Replica, replica_id, "replica")


def set_replica_state(session: Session, replica_id: int, state: str) -> Replica:
    """Change a replica's state and note when it was checked."""
    row = get_replica(session, replica_id)
    row.state = state
    row.checked_at = utcnow()
    session.flush()
    return row


def list_replicas(
    session: Session,
    site: str | None = None,
    state: str | None = None,
    product_id: str | None = None,
    limit: int = 1000,
) -> Sequence[Replica]:
    """Replicas filtered by site, state and product, by id."""
    query = select(Replica).order_by(Replica.id).limit(limit)
    if site is not None:
        query = query.where(Replica.site_name == site)
    if state is not None:
        query = query.where(Replica.state == state)
    if product_id is not None:
        query = query.where(Replica.product_id == product_id)
    return session.scalars(query).all()
