"""The re-plan's day rounding and its proof of infeasibility, on small instances."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from placement.check import check_plan
from placement.feasibility import InfeasibleError
from placement.lns import instance_of
from placement.model import MaintenanceWindow
from placement.replan_model import Pairs, repair_lp
from placement.replan_proof import refuse_if_no_amounts
from placement.replan_rounding import round_by_day
from placement.replan_undo import undo_moves
from placement.solve import SolveOptions, solve
from placement.window_model import Assignment
from tests.unit.placement_instances import random_problem


def _one_day(sizes_mb: list[int]) -> tuple[object, Assignment, Assignment]:
    """An instance whose observations all fall on day 0, with the given sizes, and a
    previous plan with every pair (0, 1)."""
    problem = random_problem(5, len(sizes_mb), 3, 3, outage=False)
    inst = dataclasses.replace(
        instance_of(problem),
        size_mb=np.array(sizes_mb, dtype=np.int64),
        obs_day=np.zeros(len(sizes_mb), dtype=np.int64),
    )
    n = len(sizes_mb)
    previous = Assignment(
        np.zeros(n, dtype=np.int64), np.ones(n, dtype=np.int64), problem_tiles(problem)
    )
    state = Assignment(previous.primary.copy(), previous.secondary.copy(), previous.tile_site)
    return inst, state, previous


def problem_tiles(problem: object) -> np.ndarray:
    return np.zeros(problem.survey.n_tiles, dtype=np.int64)  # type: ignore[attr-defined]


def test_a_day_of_split_observations_lands_on_the_lp_amount_by_exchanges() -> None:
    inst, state, previous = _one_day([20_000, 30_000, 50_000])
    # the LP puts half of every observation's primary on site 0: 50 GB in all
    solution: Pairs = {o: [((0, 1), 0.5), ((2, 1), 0.5)] for o in range(3)}
    weights = (np.array([1000.0, 0.0, 0.0]), np.zeros(3))  # site 0 exact, the others free
    round_by_day(inst, (state, previous), solution, 0, weights)  # type: ignore[arg-type]
    at_zero = int(inst.size_mb[state.primary == 0].sum())  # type: ignore[attr-defined]
    assert at_zero == 50_000  # the 50 GB one, or 20 + 30: not the three of them
    pairs = set(zip(state.primary.tolist(), state.secondary.tolist(), strict=True))
    assert pairs <= {(0, 1), (2, 1)}


def test_a_whole_lp_day_within_the_band_keeps_the_lp_pairs() -> None:
    inst, state, previous = _one_day([20_000, 30_000])
    solution: Pairs = {0: [((0, 1), 0.0), ((2, 1), 1.0)], 1: [((0, 1), 1.0), ((2, 1), 0.0)]}
    weights = (np.full(3, 1000.0), np.full(3, 1e9))
    round_by_day(inst, (state, previous), solution, 10**6, weights)  # type: ignore[arg-type]
    assert state.primary.tolist() == [2, 0]


def _replanned(tolerance: float, window_days: int, outage_obs: tuple[int, int], frozen_obs: int):
    """A small survey with a valid plan, then site S0 down from observation outage_obs[0]
    to outage_obs[1], work frozen before observation `frozen_obs`."""
    problem = random_problem(3, 60, 12, 3, outage=False)
    rules = dataclasses.replace(problem.rules, tolerance=tolerance, window_days=window_days)
    problem = dataclasses.replace(problem, rules=rules)
    plan = solve(problem, SolveOptions(time_limit=2.0, workers=1, polish=False))
    assert check_plan(problem, plan).ok
    starts = problem.survey.obs_start
    begin, end = float(starts[outage_obs[0]]), float(starts[outage_obs[1]]) + 3600.0
    return dataclasses.replace(
        problem,
        maintenance=[MaintenanceWindow("S0", begin, end, "new")],
        previous=plan,
        frozen_until=float(starts[frozen_obs]),
    )


def _stranded(problem) -> tuple[object, np.ndarray, np.ndarray]:
    inst = instance_of(problem)
    free = problem.survey.obs_start >= problem.frozen_until
    rows = np.arange(problem.survey.n_obs)
    prev = problem.previous
    up = inst.obs_up[rows, prev.primary] & inst.obs_up[rows, prev.secondary]
    return inst, free, np.flatnonzero(free & ~up)


def test_no_amounts_of_both_roles_is_exit_3_naming_the_site() -> None:
    # S0 down over the last third, frozen up to it: windows wholly inside the outage hold
    # nothing of S0, below its share minus the tolerance whatever the re-plan does
    problem = _replanned(0.15, 4, (40, 59), 40)
    inst, free, stranded = _stranded(problem)
    assert len(stranded)
    with pytest.raises(InfeasibleError, match=r"primary and secondary.*S0 fall in its new"):
        refuse_if_no_amounts(problem, inst, free, stranded)


def test_amounts_that_exist_refuse_nothing() -> None:
    problem = _replanned(0.3, 5, (30, 31), 5)  # an hour's outage, wide tolerance
    inst, free, stranded = _stranded(problem)
    assert len(stranded)
    refuse_if_no_amounts(problem, inst, free, stranded)


def test_a_margin_on_the_disturbed_sites_only_is_what_the_lp_keeps() -> None:
    problem = random_problem(11, 80, 16, 3, outage=False)
    rules = dataclasses.replace(problem.rules, tolerance=0.1, window_days=4)
    problem = dataclasses.replace(problem, rules=rules)
    n = problem.survey.n_obs
    previous = Assignment(
        np.arange(n) % 3, (np.arange(n) + 1) % 3, np.zeros(problem.survey.n_tiles, dtype=np.int64)
    )
    inst = instance_of(problem)
    state = Assignment(previous.primary.copy(), previous.secondary.copy(), previous.tile_site)
    free = np.arange(n)
    focus = np.array([True, False, False])
    loose = repair_lp(inst, (state, previous), free, (1000, focus), (0.0, 0.0))
    assert loose is not None
    # a margin wider than the tolerance itself fits nowhere ...
    assert repair_lp(inst, (state, previous), free, (1000, focus), (50.0, 50.0)) is None
    # ... the first margin is the disturbed sites': with none disturbed it is not asked
    empty = np.array([False, False, False])
    assert repair_lp(inst, (state, previous), free, (1000, empty), (50.0, 0.0)) is not None


def test_a_move_no_window_needs_is_taken_back_and_a_needed_one_is_not() -> None:
    problem = _replanned(0.3, 5, (30, 31), 5)  # wide tolerance: one move changes little
    assert problem.previous is not None
    inst = instance_of(problem)
    prev = problem.previous
    before = Assignment(prev.primary, prev.secondary, prev.tile_site)
    state = Assignment(prev.primary.copy(), prev.secondary.copy(), prev.tile_site.copy())
    o = 20
    state.primary[o], state.secondary[o] = state.secondary[o], state.primary[o]  # a swap
    movable = np.ones(problem.survey.n_obs, dtype=np.bool_)
    assert undo_moves(problem, inst, (state, before), movable, 10**6) == 1
    assert (state.primary == prev.primary).all() and (state.secondary == prev.secondary).all()
    # work whose previous site is now down cannot go back to it
    stranded, down = (int(x[0]) for x in np.nonzero(~inst.obs_up))
    was = Assignment(before.primary.copy(), before.secondary.copy(), before.tile_site)
    was.primary[stranded] = down
    was.secondary[stranded] = next(
        s for s in range(3) if s not in (down, state.secondary[stranded])
    )
    assert undo_moves(problem, inst, (state, was), movable, 10**6) == 0
    # frozen (not movable) work is left as it is
    state.primary[o], state.secondary[o] = state.secondary[o], state.primary[o]
    movable[o] = False
    assert undo_moves(problem, inst, (state, before), movable, 10**6) == 0
