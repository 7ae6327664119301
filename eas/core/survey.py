"""Observations and sky tiles: bulk insert, lookup, time-range and cone queries."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import astropy.units as u
import numpy as np
from astropy.coordinates import SkyCoord
from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from eas.core.bulk import existing_keys, insert_new, insert_rows
from eas.core.lookup import fetch
from eas.errors import BadRequest, Conflict
from eas.models import Observation, Tile, TileObservation
from eas.schemas import ObservationIn, TileIn

_OBSERVATION_DEFAULTS: dict[str, Any] = {"footprint": None, "survey": "wide"}


def _no_duplicates(ids: Sequence[int], what: str) -> None:
    repeated = sorted(i for i, count in Counter(ids).items() if count > 1)
    if repeated:
        raise BadRequest(f"{what} id(s) given twice: {', '.join(map(str, repeated[:20]))}")


def add_observations(session: Session, observations: Sequence[ObservationIn]) -> int:
    """Insert observations in bulk; Conflict naming ids already stored (nothing is inserted)."""
    return add_observation_rows(session, [o.model_dump() for o in observations])


def add_observation_rows(session: Session, rows: Sequence[Mapping[str, Any]]) -> int:
    """`add_observations` for rows already validated (`eas.schemas.ObservationRow` dicts)."""
    _no_duplicates([row["obs_id"] for row in rows], "observation")
    # Every row carries every column, so one COPY (or executemany) statement takes them all.
    complete = [{**_OBSERVATION_DEFAULTS, **row} for row in rows]
    insert_new(session, Observation.obs_id, complete, "observation")
    return len(complete)


def get_observation(session: Session, obs_id: int) -> Observation:
    """The observation `obs_id`; NotFound otherwise."""
    return fetch(session, Observation, obs_id, "observation")


def add_tiles(session: Session, tiles: Sequence[TileIn]) -> int:
    """Insert tiles and their observation links; BadRequest naming any unknown observation."""
    ids = [t.tile_id for t in tiles]
    _no_duplicates(ids, "tile")
    taken = sorted(existing_keys(session, Tile.tile_id, ids))
    if taken:
        raise Conflict(f"tile(s) already stored: {', '.join(map(str, taken[:20]))}")
    wanted = sorted({o for t in tiles for o in t.obs_ids})
    known = existing_keys(session, Observation.obs_id, wanted)
    for tile in tiles:
        unknown = sorted(set(tile.obs_ids) - known)
        if unknown:
            raise BadRequest(
                f"tile {tile.tile_id} names unknown observation(s): {', '.join(map(str, unknown))}"
            )
    insert_rows(session, Tile, [t.model_dump(exclude={"obs_ids"}) for t in tiles])
    links = [{"tile_id": t.tile_id, "obs_id": o} for t in tiles for o in sorted(set(t.obs_ids))]
    insert_rows(session, TileObservation, links)
    return len(tiles)


def get_tile(session: Session, tile_id: int) -> Tile:
    """The tile `tile_id`; NotFound otherwise."""
    return fetch(session, Tile, tile_id, "tile")


@dataclass(frozen=True)
class Cone:
    """A circle on the sky, degrees."""

    ra: float
    dec: float
    radius_deg: float


def cone_of(ra: float | None, dec: float | None, radius_deg: float | None) -> Cone | None:
    """The cone asked for, None when none is; BadRequest when incomplete or off the sky."""
    if ra is None and dec is None and radius_deg is None:
        return None
    if ra is None or dec is None or radius_deg is None:
        raise BadRequest("a cone needs ra, dec and radius together")
    if not 0 <= ra < 360:
        raise BadRequest(f"ra {ra} is outside [0, 360)")
    if not -90 <= dec <= 90:
        raise BadRequest(f"dec {dec} is outside [-90, 90]")
    if not 0 < radius_deg <= 180:
        raise BadRequest(f"radius {radius_deg} is outside (0, 180]")
    return Cone(ra, dec, radius_deg)


def _select(session: Session, query: Select[Any], cone: Cone | None, limit: int) -> list[Any]:
    """Run `query`, keeping only rows whose (ra, dec) lies in `cone` when one is given."""
    if cone is None:
        return list(session.scalars(query.limit(limit)))
    model = query.column_descriptions[0]["entity"]
    # The declination band is exact as a bound; the separation test then trims its corners.
    band = query.where(model.dec.between(cone.dec - cone.radius_deg, cone.dec + cone.radius_deg))
    rows = session.scalars(band).all()
    if not rows:
        return []
    centre = SkyCoord(ra=cone.ra * u.deg, dec=cone.dec * u.deg)
    points = SkyCoord(
        ra=np.array([r.ra for r in rows]) * u.deg, dec=np.array([r.dec for r in rows]) * u.deg
    )
    inside = centre.separation(points).deg <= cone.radius_deg
    return [row for row, keep in zip(rows, inside, strict=True) if keep][:limit]


def query_observations(
    session: Session,
    start_from: datetime | None = None,
    start_to: datetime | None = None,
    ra: float | None = None,
    dec: float | None = None,
    radius_deg: float | None = None,
    limit: int = 1000,
) -> list[Observation]:
    """Observations starting in [start_from, start_to) and/or within a sky cone, by start."""
    cone = cone_of(ra, dec, radius_deg)
    query = select(Observation).order_by(Observation.start, Observation.obs_id)
    if start_from is not None:
        query = query.where(Observation.start >= start_from)
    if start_to is not None:
        query = query.where(Observation.start < start_to)
    return _select(session, query, cone, limit)


def query_tiles(
    session: Session,
    ra: float | None = None,
    dec: float | None = None,
    radius_deg: float | None = None,
    obs_id: int | None = None,
    limit: int = 1000,
) -> list[Tile]:
    """Tiles whose centre lies within a sky cone and/or that combine observation `obs_id`."""
    cone = cone_of(ra, dec, radius_deg)
    query = select(Tile).order_by(Tile.tile_id)
    if obs_id is not None:
        query = query.join(TileObservation).where(TileObservation.obs_id == obs_id)
    return _select(session, query, cone, limit)
