"""Demo phase 1: a small Euclid-like survey, its placement plan, and the plan in the archive."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from eas.core.sites import upsert_sites
from eas.db import transaction
from eas.loaders import parse_sites
from eas.models import Plan as PlanRow
from metascheduler.plan_import import publish_plan
from placement.baselines import baseline
from placement.files import read_plan, read_sites, read_survey, write_plan, write_survey
from placement.generator import SurveySpec, generate_survey
from placement.model import Plan, Problem
from placement.solve import SolveOptions, solve


class ArchiveInUse(RuntimeError):
    """The archive database already holds a plan this workspace did not make."""


@dataclass(frozen=True)
class PlannedSurvey:
    """The solved plan beside round-robin's, and where the files went."""

    problem: Problem
    plan: Plan
    round_robin: Plan
    survey_dir: Path
    plan_file: Path


def plan_survey(
    workspace: Path, sites_file: Path, days: int, n_sites: int, seed: int, time_limit: float
) -> PlannedSurvey:
    """Generate the survey (starting now), solve its placement, write both to files."""
    sites = read_sites(sites_file)[:n_sites]
    start = datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "")
    survey = generate_survey(SurveySpec(days=days, seed=seed, deep_fields=1, start=start))
    problem = Problem(sites, [], survey)
    plan = solve(problem, SolveOptions(time_limit=time_limit, workers=1, seed=seed))
    survey_dir = workspace / "survey"
    write_survey(survey, survey_dir)
    plan_file = workspace / "plan.json"
    write_plan(plan, survey, problem.site_names, plan_file)
    return PlannedSurvey(problem, plan, baseline(problem, "round-robin"), survey_dir, plan_file)


def load_into_archive(
    sessions: sessionmaker[Session], planned: PlannedSurvey, sites_file: Path
) -> int:
    """Sites, observations, tiles and the plan into the archive; returns the plan version."""
    names = set(planned.problem.site_names)
    with transaction(sessions) as session:
        upsert_sites(session, [s for s in parse_sites(sites_file) if s.name in names])
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
    problem = Problem(sites, [], survey)
    plan = read_plan(plan_file, survey, problem.site_names)
    return PlannedSurvey(problem, plan, baseline(problem, "round-robin"), survey_dir, plan_file)
