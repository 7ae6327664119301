"""Replicas: which site holds which product, in what state."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from eas.core.bulk import insert_if_absent
from eas.core.lookup import fetch
from eas.core.products import get_product
from eas.core.sites import require_sites
from eas.errors import Conflict
from eas.models import Replica
from eas.models.base import utcnow
from eas.schemas import ReplicaIn


def add_replica(
    session: Session, product_id: str, replica: ReplicaIn, exclusive: bool = False
) -> tuple[Replica, bool]:
    """Record a copy of a product at a site; returns (row, created).

    The same site and URL again is the stored row with its state updated (agents retry);
    another URL for a site that already holds the product is a Conflict. `exclusive`: any
    existing row is a Conflict (the caller claims the row, e.g. to copy the product once).
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
    if exclusive:
        raise Conflict(f"{replica.site} already has a replica of {product_id} ({row.state})")
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


def set_replica_state(
    session: Session, replica_id: int, state: str, expected: str | None = None
) -> Replica:
    """Change a replica's state and note when it was checked.

    With `expected`, only a replica now in that state changes (Conflict otherwise): one
    conditional UPDATE, so of two racing callers exactly one wins.
    """
    row = get_replica(session, replica_id)
    if expected is None:
        row.state = state
        row.checked_at = utcnow()
        session.flush()
        return row
    changed = session.execute(
        update(Replica)
        .where(Replica.id == replica_id, Replica.state == expected)
        .values(state=state, checked_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    session.refresh(row)
    if changed.rowcount != 1:  # type: ignore[attr-defined]
        raise Conflict(f"replica {replica_id} is {row.state}, not {expected}")
    return row


def list_replicas(
    session: Session,
    site: str | None = None,
    state: str | None = None,
    product_id: str | None = None,
    limit: int = 1000,
    after_id: int | None = None,
) -> Sequence[Replica]:
    """Replicas filtered by site, state and product, by id; `after_id` pages on."""
    query = select(Replica).order_by(Replica.id).limit(limit)
    if after_id is not None:
        query = query.where(Replica.id > after_id)
    if site is not None:
        query = query.where(Replica.site_name == site)
    if state is not None:
        query = query.where(Replica.state == state)
    if product_id is not None:
        query = query.where(Replica.product_id == product_id)
    return session.scalars(query).all()
