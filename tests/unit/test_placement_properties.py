"""Property tests on small random instances: hard constraints, checker agreement, determinism."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from placement.baselines import METHODS, baseline
from placement.check import check_plan
from placement.feasibility import InfeasibleError
from placement.solve import SolveOptions, solve
from tests.unit.placement_instances import random_problem

instances = st.builds(
    random_problem,
    seed=st.integers(0, 10_000),
    n_obs=st.integers(12, 40),
    n_days=st.integers(2, 10),
    n_sites=st.integers(3, 5),
    outage=st.booleans(),
)
FAST = SolveOptions(time_limit=1.0, workers=1, polish=False)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instances)
def test_greedy_plans_hold_every_hard_constraint_and_agree_with_the_checker(problem):  # type: ignore[no-untyped-def]
    try:
        plan = solve(problem, FAST)
    except InfeasibleError:
        return  # the precheck names the cause; nothing else to verify here
    result = check_plan(problem, plan)
    assert (plan.primary != plan.secondary).all()
    if result.ok:
        for name in ("copies_fraction", "primary_only_copies_fraction", "tile_input_gb"):
            assert plan.stats[name] == pytest.approx(result.metrics[name], rel=1e-9, abs=1e-9)
        for name in ("primary", "secondary", "tile"):
            key = f"max_{name}_share_deviation"
            assert plan.stats[key] == pytest.approx(result.metrics[key], abs=1e-9)


@pytest.mark.slow
@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(instances)
def test_polished_plans_are_valid_and_deterministic_with_one_worker(problem):  # type: ignore[no-untyped-def]
    options = SolveOptions(time_limit=2.0, workers=1, seed=3)
    try:
        first = solve(problem, options)
    except InfeasibleError:
        return
    second = solve(problem, options)
    assert check_plan(problem, first).ok
    np.testing.assert_array_equal(first.primary, second.primary)
    np.testing.assert_array_equal(first.secondary, second.secondary)
    np.testing.assert_array_equal(first.tile_site, second.tile_site)


@pytest.mark.parametrize("method", METHODS)
def test_baselines_are_complete_plans(method: str) -> None:
    problem = random_problem(1, 30, 6, 4, outage=False)
    plan = baseline(problem, method)
    result = check_plan(problem, plan)
    assert (plan.primary != plan.secondary).all()
    assert 0.0 <= result.metrics["copies_fraction"] <= 1.0
