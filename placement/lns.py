"""Polishing by large-neighbourhood search: free a few days at a time, re-solve them exactly
with CP-SAT (placement.window_model) against the fixed rest, keep what improves.

Windows with balance violations go first, then the windows that copy the most.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from placement.calendar import obs_availability, obs_days, tile_availability, tile_days
from placement.evaluate import copies, window_deviation
from placement.greedy import obs_tiles
from placement.model import IntArray, Plan, Problem
from placement.window_model import Assignment, Instance, solve_window


def instance_of(problem: Problem) -> Instance:
    """The integer arrays every window model reads."""
    survey, rules = problem.survey, problem.rules
    day, t_day = obs_days(survey), tile_days(survey)
    n_days = int(day.max()) + 1
    size_mb = np.rint(survey.obs_size_gb * 1000).astype(np.int64)
    ptr, idx = obs_tiles(survey.n_obs, survey.tile_ptr, survey.tile_obs)
    return Instance(
        size_mb=size_mb,
        obs_day=day,
        tile_day=t_day,
        obs_up=obs_availability(problem),
        tile_up=tile_availability(problem),
        tile_ptr=survey.tile_ptr,
        tile_obs=survey.tile_obs,
        obs_tile_ptr=ptr,
        obs_tile_idx=idx,
        shares=problem.shares(),
        tolerance=rules.tolerance,
        window_days=rules.window_days,
        tile_window_days=rules.tile_window_days,
        storage_mb=np.array([int(s.storage_tb * 1e6) for s in problem.sites], dtype=np.int64),
        day_volume_cum=np.concatenate(
            [[0], np.cumsum(np.bincount(day, weights=size_mb, minlength=n_days))]
        ).astype(np.int64),
        day_tiles_cum=np.concatenate([[0], np.cumsum(np.bincount(t_day, minlength=n_days))]).astype(
            np.int64
        ),
    )


def violating_days(inst: Instance, plan: Assignment) -> IntArray:
    """Days inside some window whose share bounds the plan breaks."""
    n_days = len(inst.day_volume_cum) - 1
    bad = np.zeros(n_days, dtype=np.bool_)
    checks = (
        (inst.size_mb.astype(float), inst.obs_day, plan.primary, inst.window_days),
        (inst.size_mb.astype(float), inst.obs_day, plan.secondary, inst.window_days),
        (np.ones(len(inst.tile_day)), inst.tile_day, plan.tile_site, inst.tile_window_days),
    )
    for values, days, sites, length in checks:
        deviation = window_deviation(values, days, sites, inst.shares, length, n_days)
        rows = np.flatnonzero((np.abs(deviation) > inst.tolerance + 1e-9).any(axis=1))
        for r in rows:
            lo = 0 if r == 0 else r - 1
            hi = n_days if r == 0 else min(n_days, lo + length)
            bad[lo:hi] = True
    return np.flatnonzero(bad)


def polish(problem: Problem, plan: Plan, remaining: float, options: Any, report: Any) -> Plan:
    """Improve `plan` window by window until `remaining` seconds are spent."""
    from placement.solve import Progress

    deadline = time.monotonic() + remaining
    inst = instance_of(problem)
    state = Assignment(plan.primary.copy(), plan.secondary.copy(), plan.tile_site.copy())
    frozen = np.zeros(len(inst.size_mb), dtype=np.bool_)
    if problem.frozen_until is not None:
        frozen = problem.survey.obs_start < problem.frozen_until
    n_days = len(inst.day_volume_cum) - 1
    repair_until = time.monotonic() + 0.6 * remaining
    _repair(inst, state, frozen, repair_until, options.workers, options.seed)
    report(
        Progress(
            "repair",
            copies(problem.survey, state.primary, state.secondary, state.tile_site)[1],
            0.0,
            1.0,
        )
    )
    span = max(1, options.window_days)
    rounds = 0
    while time.monotonic() < deadline:
        bad = violating_days(inst, state)
        _, copied, _ = copies(problem.survey, state.primary, state.secondary, state.tile_site)
        priority = _window_priority(problem, inst, state, span, n_days, bad)
        order = [w for w in np.argsort(-priority, kind="stable") if priority[w] > 0]
        if not order:
            break
        improved = False
        for done, w in enumerate(order):
            if time.monotonic() >= deadline:
                break
            lo = int(w) * span - (span // 2 if rounds % 2 else 0)
            free = np.flatnonzero((inst.obs_day >= lo) & (inst.obs_day < lo + span) & ~frozen)
            if len(free) == 0:
                continue
            budget = min(2.0, max(0.1, deadline - time.monotonic()))
            changed, _ = solve_window(inst, state, free, budget, options.workers, seed=options.seed)
            improved |= changed
            if done % 20 == 0:
                _, copied, _ = copies(
                    problem.survey, state.primary, state.secondary, state.tile_site
                )
                report(Progress("CP-SAT windows", copied, 0.0, done / len(order)))
        rounds += 1
        if not improved:
            break
    return Plan(state.primary, state.secondary, state.tile_site)


def _repair(
    inst: Instance,
    state: Assignment,
    frozen: Any,
    deadline: float,
    workers: int,
    seed: int,
    previous: Assignment | None = None,
    churn: int = 0,
) -> None:
    """Re-solve stretches of out-of-bounds days (up to a window long) until none is left."""
    for _ in range(20):
        bad = violating_days(inst, state)
        if not len(bad) or time.monotonic() >= deadline:
            return
        for lo in _spans(bad, inst.window_days):
            if time.monotonic() >= deadline:
                return
            free = np.flatnonzero(
                (inst.obs_day >= lo) & (inst.obs_day < lo + inst.window_days) & ~frozen
            )
            if len(free):
                budget = min(8.0, max(0.1, deadline - time.monotonic()))
                solve_window(inst, state, free, budget, workers, True, previous, churn, seed)


def _window_priority(
    problem: Problem, inst: Instance, state: Assignment, span: int, n_days: int, bad: IntArray
) -> Any:
    """Copied volume per window of `span` days, plus a large bonus where bounds are broken."""
    survey = problem.survey
    link_site = np.repeat(state.tile_site, np.diff(survey.tile_ptr))
    copied = (state.primary[survey.tile_obs] != link_site) & (
        state.secondary[survey.tile_obs] != link_site
    )
    n_windows = (n_days + span - 1) // span
    priority: Any = np.bincount(
        inst.obs_day[survey.tile_obs] // span,
        weights=survey.obs_size_gb[survey.tile_obs] * copied,
        minlength=n_windows,
    )
    priority = priority.astype(np.float64)
    priority[np.unique(bad // span)] += 1e12
    return priority


def replan(problem: Problem, time_limit: float, workers: int, seed: int = 0) -> Plan:
    """Re-plan from `problem.previous` (placement.replan)."""
    from placement.replan import replan_plan

    return replan_plan(problem, time_limit, workers, seed)


def repair_windows(problem: Problem, plan: Plan, deadline: float, workers: int, seed: int) -> Plan:
    """Windows of a re-plan still out of bounds re-solved with CP-SAT until `deadline`,
    churn against `problem.previous` in the objective (one role moved ~ one input copied)."""
    assert problem.previous is not None
    inst = instance_of(problem)
    prev = problem.previous
    state = Assignment(plan.primary.copy(), plan.secondary.copy(), plan.tile_site.copy())
    before = Assignment(prev.primary, prev.secondary, prev.tile_site)
    frozen = np.zeros(len(inst.size_mb), dtype=np.bool_)
    if problem.frozen_until is not None:
        frozen = problem.survey.obs_start < problem.frozen_until
    churn = int(np.median(inst.size_mb))
    _repair(inst, state, frozen, deadline, workers, seed, before, churn)
    return Plan(state.primary, state.secondary, state.tile_site)


def _spans(days: IntArray, width: int = 4) -> list[int]:
    """First days of `width`-day spans covering the given days."""
    firsts: list[int] = []
    for d in np.sort(days).tolist():
        if not firsts or d >= firsts[-1] + width:
            firsts.append(int(d))
    return firsts
