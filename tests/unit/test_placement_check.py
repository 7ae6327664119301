"""The independent checker finds every kind of violation and names it."""

from __future__ import annotations

import dataclasses

import numpy as np

from placement.check import check_plan
from placement.model import MaintenanceWindow, Plan
from placement.solve import SolveOptions, solve
from tests.unit.placement_instances import random_problem

OPTIONS = SolveOptions(time_limit=1.0, workers=1, polish=False)


def _valid():  # type: ignore[no-untyped-def]
    problem = random_problem(7, 30, 6, 4, outage=False)
    plan = solve(problem, OPTIONS)
    assert check_plan(problem, plan).ok
    return problem, plan


def test_same_primary_and_secondary_is_a_violation() -> None:
    problem, plan = _valid()
    secondary = plan.secondary.copy()
    secondary[0] = plan.primary[0]
    result = check_plan(problem, Plan(plan.primary, secondary, plan.tile_site))
    assert any("primary and secondary are both" in v for v in result.violations)


def test_work_on_a_site_in_maintenance_is_a_violation() -> None:
    problem, plan = _valid()
    o = 5
    site = problem.site_names[int(plan.primary[o])]
    start = float(problem.survey.obs_start[o])
    down = MaintenanceWindow(site, start - 10, start + 10, "surprise")
    result = check_plan(dataclasses.replace(problem, maintenance=[down]), plan)
    assert any("maintenance" in v and "surprise" in v for v in result.violations)


def test_unbalanced_shares_and_storage_are_violations() -> None:
    problem, plan = _valid()
    everything_at_0 = np.zeros_like(plan.primary)
    result = check_plan(problem, Plan(everything_at_0, plan.secondary, plan.tile_site))
    assert any(v.startswith("primary share of S0") for v in result.violations)
    small = [dataclasses.replace(s, storage_tb=0.001) for s in problem.sites]
    result = check_plan(dataclasses.replace(problem, sites=small), plan)
    assert any(v.startswith("storage:") for v in result.violations)


def test_copies_are_counted_per_input_not_local_to_the_tile_site() -> None:
    problem, plan = _valid()
    survey = problem.survey
    t = 0
    inputs = survey.tile_inputs(t)
    outsider = next(
        s
        for s in range(len(problem.sites))
        if all(s not in (plan.primary[o], plan.secondary[o]) for o in inputs)
    )
    tiles = plan.tile_site.copy()
    tiles[t] = outsider
    before = check_plan(problem, plan).metrics["copies_gb"]
    after = check_plan(problem, Plan(plan.primary, plan.secondary, tiles)).metrics["copies_gb"]
    local_before = sum(
        survey.obs_size_gb[o]
        for o in inputs
        if plan.tile_site[t] in (plan.primary[o], plan.secondary[o])
    )
    assert after - before == np.float64(local_before) or abs(after - before - local_before) < 1e-6


def test_frozen_assignments_must_not_move() -> None:
    problem, plan = _valid()
    moved = plan.primary.copy()
    moved[0] = (moved[0] + 1) % len(problem.sites)
    if moved[0] == plan.secondary[0]:
        moved[0] = (moved[0] + 1) % len(problem.sites)
    frozen = dataclasses.replace(
        problem, previous=plan, frozen_until=float(problem.survey.obs_start[3])
    )
    result = check_plan(frozen, Plan(moved, plan.secondary, plan.tile_site))
    assert any(v.startswith("frozen:") for v in result.violations)
