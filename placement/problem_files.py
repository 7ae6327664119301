"""Build a Problem from the planner's files (the CLI's and the benchmark's one entry)."""

from __future__ import annotations

from pathlib import Path

from placement.files import parse_time, read_maintenance, read_plan, read_sites, read_survey
from placement.model import Problem, Rules


def load_problem(
    survey_dir: Path,
    sites_file: Path,
    maintenance_file: Path,
    rules: Rules,
    previous: Path | None = None,
    frozen_until: str | None = None,
) -> Problem:
    """Read every input file; raise files.InputError naming what is wrong."""
    sites = read_sites(sites_file)
    names = [s.name for s in sites]
    maintenance = read_maintenance(maintenance_file, names)
    survey = read_survey(survey_dir)
    previous_plan = read_plan(previous, survey, names) if previous is not None else None
    until = parse_time(frozen_until, "--frozen-until") if frozen_until else None
    return Problem(sites, maintenance, survey, rules, previous_plan, until)
