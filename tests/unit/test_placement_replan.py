"""Re-plan after new maintenance: only what must move moves, frozen work stays."""

from __future__ import annotations

import dataclasses

import numpy as np

from placement.check import check_plan
from placement.lns import instance_of
from placement.model import MaintenanceWindow, Plan, Problem
from placement.replan_model import candidate_pairs, fewest_moves
from placement.solve import SolveOptions, solve
from placement.window_model import Assignment
from tests.unit.placement_instances import random_problem


def test_replan_moves_work_off_a_new_outage_and_keeps_frozen_work() -> None:
    problem = random_problem(11, 40, 8, 4, outage=False)
    plan = solve(problem, SolveOptions(time_limit=2.0, workers=1, polish=False))
    assert check_plan(problem, plan).ok
    starts = problem.survey.obs_start
    o = 30
    site = problem.site_names[int(plan.primary[o])]
    outage = MaintenanceWindow(site, float(starts[o]) - 3600, float(starts[o]) + 3600, "new")
    frozen_until = float(starts[10])
    changed = dataclasses.replace(
        problem, maintenance=[outage], previous=plan, frozen_until=frozen_until
    )
    new = solve(changed, SolveOptions(time_limit=3.0, workers=1))
    result = check_plan(changed, new)
    assert not [v for v in result.violations if v.startswith(("maintenance", "frozen"))]
    assert new.primary[o] != plan.primary[o]
    frozen = starts < frozen_until
    np.testing.assert_array_equal(new.primary[frozen], plan.primary[frozen])
    assert new.stats["moved_observations"] >= 1


def test_candidate_pairs_keep_the_pair_first_and_the_surviving_site_when_stranded() -> None:
    up = np.array([True, True, True, True])
    focus = np.array([False, False, True, False])
    pairs = candidate_pairs((0, 1), up, focus)
    assert pairs[0] == (0, 1) and (1, 0) in pairs  # stay, then the swap
    assert (2, 1) in pairs and (0, 2) in pairs  # one role to the disturbed site
    assert (3, 1) not in pairs  # a move between two undisturbed sites is not tried
    stranded = candidate_pairs((2, 1), np.array([True, True, False, True]), focus)
    assert all(1 in pair and 2 not in pair for pair in stranded)
    assert {(1, 0), (0, 1), (3, 1), (1, 3)} <= set(stranded)
    both_down = candidate_pairs((0, 1), np.array([False, False, True, True]), focus)
    assert set(both_down) == {(2, 3), (3, 2)}


def _solved(problem: Problem, tolerance: float, window_days: int) -> tuple[Problem, Plan]:
    """The instance with these rules and a valid plan of it."""
    rules = dataclasses.replace(problem.rules, tolerance=tolerance, window_days=window_days)
    problem = dataclasses.replace(problem, rules=rules)
    plan = solve(problem, SolveOptions(time_limit=2.0, workers=1, polish=False))
    assert check_plan(problem, plan).ok
    return problem, plan


def test_replan_moves_no_more_than_the_lp_bound_allows_and_passes_the_check() -> None:
    problem, plan = _solved(random_problem(23, 120, 30, 4, outage=False), 0.1, 10)
    starts = problem.survey.obs_start
    site = problem.site_names[int(np.argmax(problem.shares()))]
    begin = float(starts[80])
    outage = MaintenanceWindow(site, begin, begin + 2 * 86400.0, "new")
    changed = dataclasses.replace(
        problem, maintenance=[outage], previous=plan, frozen_until=float(starts[20])
    )
    new = solve(changed, SolveOptions(time_limit=5.0, workers=1))
    result = check_plan(changed, new)
    assert result.ok, result.violations
    inst = instance_of(changed)
    free = np.flatnonzero(starts >= changed.frozen_until)
    bound = fewest_moves(inst, Assignment(plan.primary, plan.secondary, plan.tile_site), free)
    assert bound is not None and bound <= result.metrics["moved_observations"] + 1e-6
    frozen = starts < float(starts[20])
    np.testing.assert_array_equal(new.secondary[frozen], plan.secondary[frozen])


def test_replan_without_a_change_moves_nothing() -> None:
    problem = random_problem(7, 40, 8, 4, outage=True)
    plan = solve(problem, SolveOptions(time_limit=2.0, workers=1, polish=False))
    again = dataclasses.replace(
        problem, previous=plan, frozen_until=float(problem.survey.obs_start[5])
    )
    new = solve(again, SolveOptions(time_limit=2.0, workers=1))
    assert new.stats["moved_observations"] == 0 and new.stats["moved_tiles"] == 0
    assert check_plan(again, new).ok


def test_replan_around_two_outages_far_apart_repairs_each() -> None:
    problem, plan = _solved(random_problem(31, 240, 60, 3, outage=False), 0.2, 5)
    starts = problem.survey.obs_start
    outages = [
        MaintenanceWindow(
            problem.site_names[s], float(starts[i]), float(starts[i]) + 86400.0, "new"
        )
        for s, i in ((0, 30), (1, 220))
    ]
    changed = dataclasses.replace(
        problem, maintenance=outages, previous=plan, frozen_until=float(starts[5])
    )
    new = solve(changed, SolveOptions(time_limit=5.0, workers=1))
    result = check_plan(changed, new)
    assert result.ok, result.violations
    assert new.stats["moved_observations"] >= 2
