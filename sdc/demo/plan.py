"""Demo phase 1: a small Euclid-like survey, its placement plan, and the plan in the archive."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from eas.core.sites import add_windows, upsert_sites
from eas.db import transaction
from eas.loaders import parse_sites
from eas.models import Plan as PlanRow
from eas.schemas import MaintenanceWindowIn
from metascheduler.plan_import import publish_plan
from placement.baselines import baseline
from placement.evaluate import copies
from placement.files import read_plan, read_sites, read_survey, write_plan, write_survey
from placement.generator import SurveySpec, generate_survey
from placement.model import MaintenanceWindow, Plan, Problem, Survey
from placement.solve import SolveOptions, solve


class ArchiveInUse(RuntimeError):
    """The archive database already holds a plan this workspace did not make."""


# The planner plans ahead: the demo solves at least this many days (so that the balance
# windows have something to balance and the plan's advantage shows) and observes the first
# `--days` of them. A one-day plan is all balance and no locality: round-robin copies less.
PLAN_HORIZON_DAYS = 30


@dataclass(frozen=True)
class Horizon:
    """What the planner solved: the whole horizon, beside round-robin on the same survey."""

    days: int
    maintenance: int
    observations: int
    tiles: int
    copies_pct: float
    round_robin_pct: float

    @classmethod
    def of(
        cls, days: int, maintenance: int, survey: Survey, plan: Plan, round_robin: Plan
    ) -> Horizon:
        """The horizon's figures: the plan's copies beside round-robin's on the same survey."""
        return cls(
            days, maintenance, survey.n_obs, survey.n_tiles,
            copied_pct(survey, plan), copied_pct(survey, round_robin),
        )  # fmt: skip


@dataclass(frozen=True)
class PlannedSurvey:
    """The observed part of the plan beside round-robin's, and where the files went."""

    problem: Problem
    plan: Plan
    round_robin: Plan
    survey_dir: Path
    plan_file: Path
    horizon: Horizon | None = None


def plan_survey(
    workspace: Path, sites_file: Path, days: int, n_sites: int, seed: int, time_limit: float
) -> PlannedSurvey:
    """Generate the survey (starting now) over the planning horizon, solve its placement,
    and keep its first `days`: the observations made then and the tiles they complete.

    The whole horizon goes to `horizon/` (survey and plan.json), the observed part to
    `survey/` and `plan.json`, which is what the archive and the rest of the demo use.
    """
    sites = read_sites(sites_file)[:n_sites]
    start = datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "")
    horizon_days = max(days, PLAN_HORIZON_DAYS)
    whole = generate_survey(SurveySpec(days=horizon_days, seed=seed, deep_fields=1, start=start))
    calendar = maintenance_calendar([site.name for site in sites], float(whole.obs_start.min()))
    problem = Problem(sites, calendar, whole)
    plan = solve(problem, SolveOptions(time_limit=time_limit, workers=1, seed=seed))
    round_robin = baseline(problem, "round-robin")
    write_survey(whole, workspace / "horizon" / "survey")
    write_plan(plan, whole, problem.site_names, workspace / "horizon" / "plan.json")
    horizon = Horizon.of(horizon_days, len(calendar), whole, plan, round_robin)
    keep_obs, keep_tiles = first_days(whole, days)
    survey = sub_survey(whole, keep_obs, keep_tiles)
    observed = Problem(sites, calendar, survey)
    plan_part = sub_plan(plan, keep_obs, keep_tiles)
    survey_dir, plan_file = workspace / "survey", workspace / "plan.json"
    write_survey(survey, survey_dir)
    write_plan(plan_part, survey, problem.site_names, plan_file)
    return PlannedSurvey(
        observed, plan_part, sub_plan(round_robin, keep_obs, keep_tiles), survey_dir, plan_file,
        horizon,
    )  # fmt: skip


def maintenance_calendar(names: list[str], first: float) -> list[MaintenanceWindow]:
    """The demo's maintenance calendar: outages later in the horizon that the plan routes
    around (the observed first day is not touched by them; the scenario adds one now).

    Two overlapping windows where four or more sites remain a pair for every observation,
    one window with three sites, none with two (a pair needs both sites up).
    """
    day = 86400.0
    if len(names) < 3:
        return []
    windows = [
        MaintenanceWindow(names[1], first + 3.3 * day, first + 4.75 * day, "cluster upgrade")
    ]
    if len(names) >= 4:
        windows.append(
            MaintenanceWindow(names[-1], first + 4.5 * day, first + 5.5 * day, "power work")
        )
    return windows


def copied_pct(survey: Survey, plan: Plan) -> float:
    """Tile-input volume that must cross sites under `plan`, in percent."""
    total, copied, _ = copies(survey, plan.primary, plan.secondary, plan.tile_site)
    return 100.0 * copied / total if total else 0.0


def first_days(survey: Survey, days: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the observations of the first `days` (counted from the first observation,
    as the demo delivers them) and of the tiles whose inputs are all among them."""
    keep_obs = np.flatnonzero(survey.obs_start < survey.obs_start.min() + days * 86400)
    observed = np.zeros(survey.n_obs, dtype=bool)
    observed[keep_obs] = True
    complete = np.logical_and.reduceat(observed[survey.tile_obs], survey.tile_ptr[:-1])
    complete &= np.diff(survey.tile_ptr) > 0
    return keep_obs, np.flatnonzero(complete)


def sub_survey(survey: Survey, keep_obs: np.ndarray, keep_tiles: np.ndarray) -> Survey:
    """The survey of the kept observations and tiles (every kept tile's inputs are kept)."""
    new_index = np.full(survey.n_obs, -1, dtype=np.int64)
    new_index[keep_obs] = np.arange(len(keep_obs))
    inputs = [new_index[survey.tile_inputs(int(t))] for t in keep_tiles]
    sizes = np.array([len(i) for i in inputs], dtype=np.int64)
    return Survey(
        obs_ids=[survey.obs_ids[int(o)] for o in keep_obs],
        obs_start=survey.obs_start[keep_obs],
        obs_ra=survey.obs_ra[keep_obs],
        obs_dec=survey.obs_dec[keep_obs],
        obs_size_gb=survey.obs_size_gb[keep_obs],
        tile_ids=[survey.tile_ids[int(t)] for t in keep_tiles],
        tile_ra=survey.tile_ra[keep_tiles],
        tile_dec=survey.tile_dec[keep_tiles],
        tile_ptr=np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64),
        tile_obs=np.concatenate(inputs).astype(np.int64) if inputs else np.zeros(0, np.int64),
    )


def sub_plan(plan: Plan, keep_obs: np.ndarray, keep_tiles: np.ndarray) -> Plan:
    """The plan's answers for the kept observations and tiles."""
    return Plan(plan.primary[keep_obs], plan.secondary[keep_obs], plan.tile_site[keep_tiles])


def load_into_archive(
    sessions: sessionmaker[Session], planned: PlannedSurvey, sites_file: Path
) -> int:
    """Sites, observations, tiles and the plan into the archive; returns the plan version."""
    names = set(planned.problem.site_names)
    with transaction(sessions) as session:
        upsert_sites(session, [s for s in parse_sites(sites_file) if s.name in names])
        add_windows(session, [
            MaintenanceWindowIn(
                site=w.site, start=datetime.fromtimestamp(w.start, UTC),
                end=datetime.fromtimestamp(w.end, UTC), reason=w.reason,
            )
            for w in planned.problem.maintenance
        ])  # fmt: skip
        row = publish_plan(
            session, planned.problem.survey, planned.plan, planned.problem.site_names, "demo"
        )
        return row.version


def resume_planned(
    sessions: sessionmaker[Session], workspace: Path, sites_file: Path, n_sites: int
) -> PlannedSurvey | None:
    """The survey and plan of an earlier run in `workspace`, if it got as far as the archive.

    ArchiveInUse when the archive has a current plan but the workspace holds none: a second
    survey would collide with the first one's observation ids.
    """
    survey_dir, plan_file = workspace / "survey", workspace / "plan.json"
    with sessions() as session:
        stored = session.scalar(select(PlanRow.version).where(PlanRow.status == "CURRENT"))
    if stored is None:
        return None
    if not plan_file.exists():
        raise ArchiveInUse(
            f"the archive database already holds plan version {stored} of another run; "
            "use an empty database, or --keep the workspace of the run that made it"
        )
    sites = read_sites(sites_file)[:n_sites]
    survey = read_survey(survey_dir)
    calendar = maintenance_calendar([site.name for site in sites], float(survey.obs_start.min()))
    problem = Problem(sites, calendar, survey)
    plan = read_plan(plan_file, survey, problem.site_names)
    return PlannedSurvey(
        problem, plan, baseline(problem, "round-robin"), survey_dir, plan_file,
        _stored_horizon(workspace / "horizon", problem),
    )  # fmt: skip


def _stored_horizon(directory: Path, observed: Problem) -> Horizon | None:
    """The figures of the whole planned horizon an earlier run wrote (None without it)."""
    if not (directory / "plan.json").exists():
        return None
    whole = read_survey(directory / "survey")
    # round-robin skips sites under maintenance, so the calendar the first run planned
    # around must be here too, or a resumed run prints a different round-robin figure
    problem = Problem(observed.sites, observed.maintenance, whole)
    plan = read_plan(directory / "plan.json", whole, problem.site_names)
    days = int(np.ceil((whole.obs_start.max() - whole.obs_start.min()) / 86400))
    round_robin = baseline(problem, "round-robin")
    return Horizon.of(days, len(observed.maintenance), whole, plan, round_robin)
