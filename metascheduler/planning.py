"""New jobs from the plan and arriving data.

An observation's raw product registered -> its calibration job at the plan's primary site
(secondary for failover). Any input of a tile calibrated -> the tile job at the plan's
processing site; it waits (never fails) until every input is there. `job_key` makes
creation idempotent: a cycle that runs twice creates nothing twice.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from eas.models import Assignment, DataProduct, Observation, Plan, TileObservation
from eas.models import Job as JobRow
from metascheduler.config import SchedulerConfig


def obs_job_key(pipeline: str, obs_id: int) -> str:
    """The idempotency key of an observation's job."""
    return f"{pipeline}:obs:{obs_id}"


def tile_job_key(pipeline: str, tile_id: int) -> str:
    """The idempotency key of a tile's job."""
    return f"{pipeline}:tile:{tile_id}"


def _current_version(session: Session) -> int | None:
    return session.scalar(select(Plan.version).where(Plan.status == "CURRENT"))


def _existing_keys(session: Session, prefix: str) -> set[str]:
    keys = session.scalars(select(JobRow.job_key).where(JobRow.job_key.startswith(prefix)))
    return {key for key in keys if key is not None}


def _new_job(
    pipeline: str, key: str, now: datetime, arrival: datetime, config: SchedulerConfig
) -> JobRow:
    """A PENDING job due `latency` after its data arrived; the caller names its subject."""
    return JobRow(
        pipeline=pipeline,
        job_key=key,
        input_product_ids=[],
        priority=config.pipeline_priorities.get(pipeline, 0),
        state="PENDING",
        ready_at=now,
        deadline=arrival + config.latency,
        requested_resources={},
        parameters={},
    )


def create_calibration_jobs(session: Session, now: datetime, config: SchedulerConfig) -> int:
    """One calibration job per observation whose raw data arrived; returns how many were new."""
    version = _current_version(session)
    if version is None:
        return 0
    pipeline = config.calibration_pipeline
    done = _existing_keys(session, f"{pipeline}:obs:")
    raw: dict[int, list[str]] = defaultdict(list)
    rows = session.execute(
        select(DataProduct.obs_id, DataProduct.product_id)
        .where(DataProduct.product_type == config.raw_product_type)
        .where(DataProduct.obs_id.is_not(None))
        .order_by(DataProduct.obs_id, DataProduct.product_id)
    )
    for obs_id, product_id in rows:
        if obs_id is not None and obs_job_key(pipeline, obs_id) not in done:
            raw[obs_id].append(product_id)
    if not raw:
        return 0
    sites: dict[tuple[int, str], str] = {
        (obs_id, role): site
        for obs_id, role, site in session.execute(
            select(Assignment.obs_id, Assignment.role, Assignment.site_name)
            .where(Assignment.plan_version == version)
            .where(Assignment.obs_id.in_(raw))
        )
        if obs_id is not None
    }
    starts: dict[int, datetime] = {
        obs_id: start
        for obs_id, start in session.execute(
            select(Observation.obs_id, Observation.start).where(Observation.obs_id.in_(raw))
        )
    }
    created = 0
    for obs_id, inputs in raw.items():
        primary = sites.get((obs_id, "primary"))
        if primary is None:
            continue  # not in the plan yet: picked up once a plan covers it
        arrival = max(starts.get(obs_id, now), now)
        job = _new_job(pipeline, obs_job_key(pipeline, obs_id), now, arrival, config)
        job.obs_id, job.parameters, job.input_product_ids = obs_id, {"obs_id": obs_id}, inputs
        job.primary_site, job.secondary_site = primary, sites.get((obs_id, "secondary"))
        session.add(job)
        created += 1
    session.flush()
    return created


def create_tile_jobs(session: Session, now: datetime, config: SchedulerConfig) -> int:
    """One job per planned tile once any of its inputs is calibrated; returns how many."""
    version = _current_version(session)
    if version is None:
        return 0
    pipeline = config.tile_pipeline
    done = _existing_keys(session, f"{pipeline}:tile:")
    calibrated_obs = select(DataProduct.obs_id).where(
        DataProduct.product_type == config.calibrated_product_type
    )
    candidates = session.execute(
        select(Assignment.tile_id, Assignment.site_name)
        .join(TileObservation, TileObservation.tile_id == Assignment.tile_id)
        .where(Assignment.plan_version == version, Assignment.role == "processing")
        .where(TileObservation.obs_id.in_(calibrated_obs))
        .distinct()
    ).all()
    created = 0
    for tile_id, site in candidates:
        if tile_id is None or tile_job_key(pipeline, tile_id) in done:
            continue
        job = _new_job(pipeline, tile_job_key(pipeline, tile_id), now, now, config)
        job.tile_id, job.parameters, job.primary_site = tile_id, {"tile_id": tile_id}, site
        session.add(job)
        created += 1
    session.flush()
    return created


def tile_inputs(
    session: Session, tile_id: int, config: SchedulerConfig
) -> tuple[list[str], tuple[str, ...]]:
    """(calibrated product ids present, descriptions of the missing ones) for a tile."""
    obs_ids = session.scalars(
        select(TileObservation.obs_id).where(TileObservation.tile_id == tile_id)
    ).all()
    present: dict[int | None, str] = {
        obs_id: product_id
        for obs_id, product_id in session.execute(
            select(DataProduct.obs_id, DataProduct.product_id)
            .where(DataProduct.product_type == config.calibrated_product_type)
            .where(DataProduct.obs_id.in_(obs_ids))
        )
    }
    missing = tuple(
        f"{config.calibrated_product_type} of obs {obs_id}"
        for obs_id in sorted(obs_ids)
        if obs_id not in present
    )
    return sorted(present.values()), missing
