"""Re-plan after new maintenance: only what must move moves, frozen work stays."""

from __future__ import annotations

import dataclasses

import numpy as np

from placement.check import check_plan
from placement.model import MaintenanceWindow
from placement.solve import SolveOptions, solve
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
