"""The archive side of the mirror: read the site's products, record a verified replica.

Each function takes a session and never commits (the caller's transaction does).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from eas.core.replicas import add_replica
from eas.models import DataProduct, Observation, Replica, TileObservation
from eas.rucio_mirror.audit import ArchiveCopy
from eas.rucio_mirror.naming import ProductRecord
from eas.schemas import ReplicaIn

ScopeOf = Callable[[str | None], str]
_CHUNK = 1000  # ids per IN (...) list: well under SQLite's and PostgreSQL's limits


def _chunks(ids: Sequence[int] | Sequence[str]) -> Iterable[list]:  # type: ignore[type-arg]
    for start in range(0, len(ids), _CHUNK):
        yield list(ids[start : start + _CHUNK])


def observation_surveys(session: Session, obs_ids: Iterable[int]) -> dict[int, str]:
    """The survey of each stored observation among `obs_ids`."""
    surveys: dict[int, str] = {}
    for chunk in _chunks(sorted(set(obs_ids))):
        rows = session.execute(
            select(Observation.obs_id, Observation.survey).where(Observation.obs_id.in_(chunk))
        )
        surveys.update({obs_id: survey for obs_id, survey in rows})
    return surveys


def tile_surveys(session: Session, tile_ids: Iterable[int]) -> dict[int, str]:
    """The survey of each stored tile's first (lowest-id) observation."""
    first: dict[int, int] = {}
    for chunk in _chunks(sorted(set(tile_ids))):
        rows = session.execute(
            select(TileObservation.tile_id, func.min(TileObservation.obs_id))
            .where(TileObservation.tile_id.in_(chunk))
            .group_by(TileObservation.tile_id)
        )
        first.update({tile_id: obs_id for tile_id, obs_id in rows})
    surveys = observation_surveys(session, first.values())
    return {tile_id: surveys[obs_id] for tile_id, obs_id in first.items() if obs_id in surveys}


def _record(row: DataProduct, scope: str) -> ProductRecord:
    return ProductRecord(
        product_id=row.product_id,
        scope=scope,
        product_type=row.product_type,
        version=row.version,
        size_bytes=row.size_bytes,
        adler32=row.adler32,
        md5=row.md5,
        obs_id=row.obs_id,
        tile_id=row.tile_id,
        metadata=dict(row.product_metadata or {}),
    )


def records(
    session: Session, rows: Sequence[DataProduct], scope_of: ScopeOf
) -> list[ProductRecord]:
    """Products as the mirror sees them, each with the scope of its survey."""
    obs = observation_surveys(session, [r.obs_id for r in rows if r.obs_id is not None])
    tiles = tile_surveys(
        session, [r.tile_id for r in rows if r.obs_id is None and r.tile_id is not None]
    )
    found = []
    for row in rows:
        if row.obs_id is not None:
            survey = obs.get(row.obs_id)
        elif row.tile_id is not None:
            survey = tiles.get(row.tile_id)
        else:
            survey = None
        found.append(_record(row, scope_of(survey)))
    return found


def products_at_site(session: Session, site: str, scope_of: ScopeOf) -> list[ProductRecord]:
    """Every product with an AVAILABLE replica at `site`, by product id."""
    rows = session.scalars(
        select(DataProduct)
        .join(Replica, Replica.product_id == DataProduct.product_id)
        .where(Replica.site_name == site, Replica.state == "AVAILABLE")
        .order_by(DataProduct.product_id)
    ).all()
    return records(session, rows, scope_of)


def site_copies(session: Session, site: str) -> dict[str, ArchiveCopy]:
    """The archive's AVAILABLE replicas at `site`, by product id."""
    rows = session.execute(
        select(Replica.product_id, DataProduct.adler32, Replica.url, Replica.state)
        .join(DataProduct, Replica.product_id == DataProduct.product_id)
        .where(Replica.site_name == site, Replica.state == "AVAILABLE")
    )
    return {pid: ArchiveCopy(pid, adler32, url, state) for pid, adler32, url, state in rows}


def known_products(
    session: Session, site: str, product_ids: Iterable[str]
) -> dict[str, ArchiveCopy]:
    """Of `product_ids`, those the archive knows: with no replica at `site` (state None), or
    with one in another state than AVAILABLE (that state, no URL)."""
    found: dict[str, ArchiveCopy] = {}
    for chunk in _chunks(sorted(set(product_ids))):
        rows = session.execute(
            select(DataProduct.product_id, DataProduct.adler32, Replica.state)
            .outerjoin(
                Replica,
                (Replica.product_id == DataProduct.product_id) & (Replica.site_name == site),
            )
            .where(DataProduct.product_id.in_(chunk))
        )
        for pid, adler32, state in rows:
            if state != "AVAILABLE":
                found[pid] = ArchiveCopy(pid, adler32, None, state)
    return found


def record_verified_replica(session: Session, product_id: str, site: str, url: str) -> None:
    """Store the replica a verified read proved to be at `site`."""
    add_replica(session, product_id, ReplicaIn(site=site, url=url, state="AVAILABLE"))
