"""Observations and tiles: bulk insert (planners, admins), lookup, time and cone queries."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Query, status

from eas.api.deps import ConfigDep, Planner, Reader, SessionDep
from eas.core import survey as core
from eas.schemas import Inserted, ObservationIn, ObservationPublic, TileIn, TilePublic

router = APIRouter(tags=["survey"])


@router.post("/observations", status_code=status.HTTP_201_CREATED)
def add_observations(
    observations: list[ObservationIn], session: SessionDep, _: Planner
) -> Inserted:
    """Insert observations in bulk (all or none)."""
    return Inserted(inserted=core.add_observations(session, observations))


@router.get("/observations")
def query_observations(
    session: SessionDep,
    config: ConfigDep,
    _: Reader,
    start_from: datetime | None = None,
    start_to: datetime | None = None,
    ra: float | None = Query(None, description="cone centre right ascension, degrees"),
    dec: float | None = Query(None, description="cone centre declination, degrees"),
    radius: float | None = Query(None, description="cone radius, degrees"),
    limit: int = Query(100, ge=1),
) -> list[ObservationPublic]:
    """Observations starting in [start_from, start_to) and/or within a sky cone."""
    rows = core.query_observations(
        session, start_from, start_to, ra, dec, radius, min(limit, config.max_page_size)
    )
    return [ObservationPublic.model_validate(o) for o in rows]


@router.get("/observations/{obs_id}")
def get_observation(obs_id: int, session: SessionDep, _: Reader) -> ObservationPublic:
    """One observation."""
    return ObservationPublic.model_validate(core.get_observation(session, obs_id))


@router.post("/tiles", status_code=status.HTTP_201_CREATED)
def add_tiles(tiles: list[TileIn], session: SessionDep, _: Planner) -> Inserted:
    """Insert tiles with the observations they combine (all or none)."""
    return Inserted(inserted=core.add_tiles(session, tiles))


@router.get("/tiles")
def query_tiles(
    session: SessionDep,
    config: ConfigDep,
    _: Reader,
    ra: float | None = None,
    dec: float | None = None,
    radius: float | None = None,
    obs_id: int | None = None,
    limit: int = Query(100, ge=1),
) -> list[TilePublic]:
    """Tiles centred within a sky cone and/or combining one observation."""
    rows = core.query_tiles(session, ra, dec, radius, obs_id, min(limit, config.max_page_size))
    return [TilePublic.model_validate(t) for t in rows]


@router.get("/tiles/{tile_id}")
def get_tile(tile_id: int, session: SessionDep, _: Reader) -> TilePublic:
    """One tile with its observation ids."""
    return TilePublic.model_validate(core.get_tile(session, tile_id))
