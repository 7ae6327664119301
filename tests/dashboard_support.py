"""A small operating archive for the dashboard tests: every kind of row the pages show.

Written through the archive's core functions (the same ones the API uses), so the pages
read what a real deployment would have stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy.orm import Session, sessionmaker

from eas.core.lineage import record_lineage
from eas.core.plans import store_plan
from eas.core.products import register_product
from eas.core.replicas import add_replica
from eas.core.sites import add_windows
from eas.core.survey import add_observations, add_tiles
from eas.db import transaction
from eas.models import Job
from eas.schemas import (
    AssignmentIn,
    LineageIn,
    MaintenanceWindowIn,
    PlanIn,
    ReplicaIn,
    TileIn,
)
from tests import archive_support

SITES = ("SDC-FR", "SDC-IT", "SDC-DE")
OBSERVATIONS = 6
LOG_LINES = 1000  # ~12 kB: longer than the page shows


@dataclass(frozen=True)
class Seeded:
    """What the seed stored that tests look for."""

    tokens: dict[str, str]
    calibrate_job: int
    mosaic_job: int
    queued_job: int
    running_job: int
    raw: str
    calibrated: str
    mosaic: str
    log: Path


def seed_operations(sessions: sessionmaker[Session], folder: Path) -> Seeded:
    """Sites, maintenance, observations, tiles, two plans, products, replicas, jobs, lineage."""
    tokens = archive_support.seed(sessions)
    now = datetime.now(UTC)
    log = folder / "calibrate-1.log"
    log.write_text("".join(f"step {i}: ok\n" for i in range(LOG_LINES)) + "calibration done\n")
    with transaction(sessions) as session:
        add_windows(
            session,
            [
                MaintenanceWindowIn(
                    site="SDC-DE",
                    start=now - timedelta(hours=1),
                    end=now + timedelta(days=1),
                    reason="disk upgrade",
                ),
                MaintenanceWindowIn(
                    site="SDC-IT",
                    start=now + timedelta(days=3),
                    end=now + timedelta(days=4),
                    reason="network works",
                ),
            ],
        )
        add_observations(
            session,
            [
                archive_support.observation(i, ra=30.0 * i, dec=-20.0 + 8 * i, hours=6 * i)
                for i in range(OBSERVATIONS)
            ],
        )
        add_tiles(session, [TileIn(tile_id=100, ra=30.0, dec=0.0, radius_deg=1.0, obs_ids=[0, 1])])
        for version, shift in ((1, 0), (2, 1)):
            store_plan(session, _plan(version, shift))
        raw, calibrated, mosaic = _products(session)
        calibrate = _job(session, "calibrate", "SUCCEEDED", "SDC-FR", obs_id=0)
        calibrate.log_url = log.resolve().as_uri()
        calibrate.requested_resources = {"cores": 2, "ram": 2.0, "walltime": 4.0}
        calibrate.used_resources = {"cores": 1.4, "ram": 0.8, "walltime": 0.01}
        mosaic_job = _job(session, "mosaic", "SUCCEEDED", "SDC-IT", tile_id=100)
        queued = _job(session, "calibrate", "QUEUED", "SDC-FR", obs_id=1)
        running = _job(session, "calibrate", "RUNNING", "SDC-IT", obs_id=2)
        running.lease_owner = "agent-it-1"
        running.lease_expiry = now + timedelta(minutes=5)
        failed = _job(session, "calibrate", "FAILED", "SDC-DE", obs_id=3)
        failed.error_class = "NONZERO_EXIT"
        failed.attempts = 3
        session.flush()
        record_lineage(session, LineageIn(job_id=calibrate.id, used=[raw], generated=[calibrated]))
        record_lineage(
            session, LineageIn(job_id=mosaic_job.id, used=[calibrated], generated=[mosaic])
        )
    return Seeded(
        tokens, calibrate.id, mosaic_job.id, queued.id, running.id, raw, calibrated, mosaic, log
    )


def _plan(version: int, shift: int) -> PlanIn:
    """Observations round-robin over SITES (version 2 shifted by one), one tile."""
    assignments = []
    for obs in range(OBSERVATIONS):
        primary = SITES[(obs + shift) % len(SITES)]
        secondary = SITES[(obs + shift + 1) % len(SITES)]
        assignments += [
            AssignmentIn(obs_id=obs, role="primary", site=primary),
            AssignmentIn(obs_id=obs, role="secondary", site=secondary),
        ]
    assignments.append(AssignmentIn(tile_id=100, role="processing", site=SITES[shift]))
    return PlanIn(
        version=version,
        parent_version=version - 1 or None,
        solver="round-robin" if version == 1 else "cp-sat",
        stats={"copies": 4 - version},
        objective=float(10 - version),
        assignments=assignments,
    )


def _products(session: Session) -> tuple[str, str, str]:
    """A raw frame, its calibrated frame and a mosaic, with AVAILABLE replicas."""
    stored = []
    for product_id, product_type, site, where in (
        ("raw-0", "RAW_FRAME", "SDC-FR", {"obs_id": 0}),
        ("cal-0", "CALIBRATED_FRAME", "SDC-FR", {"obs_id": 0}),
        ("mosaic-100", "MOSAIC", "SDC-IT", {"tile_id": 100}),
    ):
        product = archive_support.product(product_id, product_type, size_bytes=2_000_000, **where)
        register_product(session, product)
        add_replica(session, product_id, ReplicaIn(site=site, url=f"dss://{site}/{product_id}"))
        stored.append(product_id)
    add_replica(session, "raw-0", ReplicaIn(site="SDC-IT", url="dss://SDC-IT/raw-0"))
    return stored[0], stored[1], stored[2]


def _job(session: Session, pipeline: str, state: str, site: str, **subject: int) -> Job:
    job = Job(pipeline=pipeline, state=state, target_site=site, primary_site=site, **subject)
    session.add(job)
    session.flush()
    return job
