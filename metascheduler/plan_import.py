"""A placement plan enters the archive: its survey's observations and tiles (those not stored
yet) and a new CURRENT plan version whose parent is the plan it replaces.

Decisions: the planner's ids are strings, the archive's are integers: the archive keys an
id by its trailing number (`OBS-000123` -> 123), which must be unique; tiles get the MER
tile's circumscribed radius (0.53° square -> 0.375°).
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from eas.core import plans
from eas.core import survey as survey_core
from eas.errors import BadRequest
from eas.models import Observation, Tile
from eas.models import Plan as PlanRow
from eas.schemas import AssignmentIn, ObservationIn, PlanIn, TileIn
from placement.model import Plan, Survey

TILE_RADIUS_DEG = 0.375
BYTES_PER_GB = 1_000_000_000
_TRAILING_NUMBER = re.compile(r"(\d+)$")


def archive_id(value: str, what: str = "observation") -> int:
    """The archive's integer key of a planner id: the id itself or its trailing number
    (`OBS-000123` -> 123)."""
    match = _TRAILING_NUMBER.search(value)
    if match is None:
        raise BadRequest(f"{what} id {value!r} has no number the archive could key it by")
    return int(match.group(1))


def _unique(ids: list[int], names: list[str], what: str) -> list[int]:
    if len(set(ids)) != len(ids):
        seen: dict[int, str] = {}
        for number, name in zip(ids, names, strict=True):
            if number in seen:
                raise BadRequest(
                    f"{what} ids {seen[number]!r} and {name!r} share the number {number}"
                )
            seen[number] = name
    return ids


def _new_observations(session: Session, survey: Survey) -> list[ObservationIn]:
    ids = _unique([archive_id(o) for o in survey.obs_ids], survey.obs_ids, "observation")
    stored = set(session.scalars(select(Observation.obs_id).where(Observation.obs_id.in_(ids))))
    return [
        ObservationIn(
            obs_id=obs_id,
            start=datetime.fromtimestamp(float(survey.obs_start[i]), UTC),
            ra=float(survey.obs_ra[i]) % 360.0,
            dec=float(survey.obs_dec[i]),
            size_bytes=int(float(survey.obs_size_gb[i]) * BYTES_PER_GB),
        )
        for i, obs_id in enumerate(ids)
        if obs_id not in stored
    ]


def _new_tiles(session: Session, survey: Survey) -> list[TileIn]:
    ids = _unique([archive_id(t, "tile") for t in survey.tile_ids], survey.tile_ids, "tile")
    stored = set(session.scalars(select(Tile.tile_id).where(Tile.tile_id.in_(ids))))
    return [
        TileIn(
            tile_id=tile_id,
            ra=float(survey.tile_ra[t]) % 360.0,
            dec=float(survey.tile_dec[t]),
            radius_deg=TILE_RADIUS_DEG,
            obs_ids=[archive_id(survey.obs_ids[o]) for o in survey.tile_inputs(t)],
        )
        for t, tile_id in enumerate(ids)
        if tile_id not in stored
    ]


def publish_plan(
    session: Session, survey: Survey, plan: Plan, site_names: list[str], solver: str
) -> PlanRow:
    """Store the survey's new observations and tiles and the plan as the next CURRENT version."""
    survey_core.add_observations(session, _new_observations(session, survey))
    survey_core.add_tiles(session, _new_tiles(session, survey))
    assignments = []
    for i, obs_id in enumerate(survey.obs_ids):
        number = archive_id(obs_id)
        assignments.append(
            AssignmentIn(obs_id=number, role="primary", site=site_names[int(plan.primary[i])])
        )
        assignments.append(
            AssignmentIn(obs_id=number, role="secondary", site=site_names[int(plan.secondary[i])])
        )
    for t, tile_id in enumerate(survey.tile_ids):
        site = site_names[int(plan.tile_site[t])]
        assignments.append(
            AssignmentIn(tile_id=archive_id(tile_id, "tile"), role="processing", site=site)
        )
    latest = session.scalar(select(func.max(PlanRow.version)))
    current = session.scalar(select(PlanRow.version).where(PlanRow.status == "CURRENT"))
    stats = {
        k: v
        for k, v in plan.stats.items()
        if isinstance(v, str) or (isinstance(v, int | float) and math.isfinite(v))
    }
    return plans.store_plan(
        session,
        PlanIn(
            version=(latest or 0) + 1,
            parent_version=current,
            solver=solver,
            stats=stats,
            objective=float(plan.stats["copies_gb"]) if "copies_gb" in plan.stats else None,
            assignments=assignments,
        ),
    )
