"""The CP-SAT window model: solved whole with hard bounds, its plan passes the checker and
copies no more than the greedy start it was hinted with."""

from __future__ import annotations

import numpy as np

from placement.check import check_plan
from placement.lns import instance_of
from placement.model import Plan
from placement.solve import SolveOptions, solve
from placement.window_model import Assignment, solve_window
from tests.unit.placement_instances import random_problem


def test_exact_model_is_valid_and_never_worse_than_its_hint() -> None:
    problem = random_problem(5, 24, 4, 3, outage=True)
    start = solve(problem, SolveOptions(time_limit=1.0, workers=1, polish=False))
    assert check_plan(problem, start).ok
    state = Assignment(start.primary.copy(), start.secondary.copy(), start.tile_site.copy())
    every = np.arange(problem.survey.n_obs)
    _, bound = solve_window(instance_of(problem), state, every, 5.0, 1, soft=False, seed=1)
    exact = check_plan(problem, Plan(state.primary, state.secondary, state.tile_site))
    assert exact.ok
    assert exact.metrics["copies_gb"] <= check_plan(problem, start).metrics["copies_gb"] + 1e-6
    assert bound <= exact.metrics["copies_gb"] * 1000 + 1
