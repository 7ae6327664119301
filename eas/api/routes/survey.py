"""Observations and tiles: bulk insert (planners, admins), lookup, time and cone queries."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Query, Request, status
from fastapi.concurrency import run_in_threadpool
from sqlalchemy.orm import Session

from eas.api.deps import ConfigDep, Planner, Reader, SessionDep
from eas.api.direct_input import parse_rows, request_body_schema
from eas.core import survey as core
from eas.schemas import OBSERVATION_ROWS, Inserted, ObservationPublic, TileIn, TilePublic

router = APIRouter(tags=["survey"])


@router.post(
    "/observations",
    status_code=status.HTTP_201_CREATED,
    openapi_extra=request_body_schema(OBSERVATION_ROWS),
)
async def add_observations(request: Request, session: SessionDep, _: Planner) -> Inserted:
    """Insert observations in bulk (all or none): a JSON list of ObservationIn."""
    body = await request.body()
    # Validation and COPY in one worker thread: neither holds up the event loop.
    inserted = await run_in_threadpool(_store_observations, session, body)
    return Inserted(inserted=inserted)


def _store_observations(session: Session, body: bytes) -> int:
    rows = parse_rows(body, OBSERVATION_ROWS)
    return core.add_observation_rows(session, rows)


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
