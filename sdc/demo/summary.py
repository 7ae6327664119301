"""The demo's closing figures, computed from the archive and the plan."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from eas.models import DataProduct, Generation, Job, Replica, Usage
from metascheduler.config import SchedulerConfig
from metascheduler.plan_import import archive_id
from metascheduler.queries import explain_job
from placement.model import Plan
from sdc.demo.plan import PlannedSurvey, copied_pct


@dataclass(frozen=True)
class SiteLine:
    """One site: its planned share and what it ran."""

    site: str
    share: float
    jobs: int


@dataclass(frozen=True)
class Summary:
    """Everything the demo prints at the end."""

    copies_pct: float
    round_robin_pct: float
    sites: list[SiteLine]
    jobs: dict[str, int]
    products: dict[str, int]
    used_edges: int
    generated_edges: int
    tile_copies_made: int
    tile_copies_predicted: int
    failed: list[int]


def copied_percent(planned: PlannedSurvey, plan: Plan) -> float:
    """Tile-input volume of the observed part that must cross sites under `plan`, in percent."""
    return copied_pct(planned.problem.survey, plan)


def predicted_tile_copies(planned: PlannedSurvey, tiles_run: set[int]) -> int:
    """Copies the plan implies for the tiles whose jobs ran: one per (input, foreign site),
    since a site that holds a copy serves every tile it processes."""
    survey, plan = planned.problem.survey, planned.plan
    needed: set[tuple[int, int]] = set()
    for t, tile_id in enumerate(survey.tile_ids):
        if archive_id(tile_id, "tile") not in tiles_run:
            continue
        site = int(plan.tile_site[t])
        for o in survey.tile_inputs(t):
            if plan.primary[o] != site and plan.secondary[o] != site:
                needed.add((int(o), site))
    return len(needed)


def summarise(sessions: sessionmaker[Session], planned: PlannedSurvey) -> Summary:
    """Read the outcome back from the archive."""
    names = planned.problem.site_names
    shares = planned.problem.shares()
    index = {archive_id(o): i for i, o in enumerate(planned.problem.survey.obs_ids)}
    plan = planned.plan
    with sessions() as session:
        jobs = dict(session.execute(select(Job.state, func.count()).group_by(Job.state)).all())
        done = Counter(
            session.scalars(select(Job.target_site).where(Job.state == "SUCCEEDED")).all()
        )
        products = dict(
            session.execute(
                select(DataProduct.product_type, func.count()).group_by(DataProduct.product_type)
            ).all()
        )
        used = session.scalar(select(func.count()).select_from(Usage)) or 0
        generated = session.scalar(select(func.count()).select_from(Generation)) or 0
        succeeded_tiles = select(Job.tile_id).where(Job.state == "SUCCEEDED")
        tiles_run = {t for t in session.scalars(succeeded_tiles) if t is not None}
        made = 0
        calibrated = session.execute(
            select(DataProduct.obs_id, Replica.site_name)
            .join(Replica, Replica.product_id == DataProduct.product_id)
            .where(DataProduct.product_type == "CALIBRATED_FRAME", Replica.state == "AVAILABLE")
        ).all()
        for obs_id, site in calibrated:
            i = index.get(int(obs_id)) if obs_id is not None else None
            if i is not None and site not in (names[plan.primary[i]], names[plan.secondary[i]]):
                made += 1
        failed = list(session.scalars(select(Job.id).where(Job.state == "FAILED")))
    return Summary(
        copies_pct=copied_percent(planned, plan),
        round_robin_pct=copied_percent(planned, planned.round_robin),
        sites=[SiteLine(n, float(shares[i]), done.get(n, 0)) for i, n in enumerate(names)],
        jobs=jobs,
        products=products,
        used_edges=used,
        generated_edges=generated,
        tile_copies_made=made,
        tile_copies_predicted=predicted_tile_copies(planned, tiles_run),
        failed=failed,
    )


def explain_unfinished(
    sessions: sessionmaker[Session], config: SchedulerConfig, limit: int = 5
) -> dict[int, list[str]]:
    """`sdc scheduler why` for the first `limit` jobs that failed or are still open."""
    with sessions() as session:
        stuck = session.scalars(
            select(Job.id).where(Job.state != "SUCCEEDED").order_by(Job.id).limit(limit)
        ).all()
        now = datetime.now(UTC)
        return {job_id: explain_job(session, job_id, now, config) for job_id in stuck}
