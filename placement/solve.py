"""`solve(problem) -> Plan`: balance targets, the streaming greedy, tile balance, then CP-SAT
polishing of time windows (placement.lns) while the time budget lasts."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from placement.calendar import obs_availability, obs_days, tile_availability, tile_days
from placement.evaluate import copies, plan_stats
from placement.feasibility import InfeasibleError, precheck, stretch_message
from placement.greedy import StreamInputs, best_tile_sites, obs_tiles, stream_assign
from placement.model import FloatArray, Plan, Problem
from placement.targets import plan_targets
from placement.tiles import balance_tiles


@dataclass(frozen=True)
class SolveOptions:
    """How hard to try: wall-clock budget (s), CP-SAT workers, polishing window size (days)."""

    time_limit: float = 50.0
    workers: int = 2
    seed: int = 0
    window_days: int = 6
    polish: bool = True


@dataclass(frozen=True)
class Progress:
    """One progress report: the phase, the incumbent copied volume (GB) and its lower bound."""

    phase: str
    incumbent_gb: float
    bound_gb: float
    done: float  # fraction of the phase completed, 0..1


ProgressFn = Callable[[Progress], None]


def _quiet(_: Progress) -> None:
    return None


def construct(problem: Problem, margin: float) -> Plan:
    """A valid start: targets within `margin` x tolerance, the greedy in a band around them,
    then tiles balanced."""
    survey, rules = problem.survey, problem.rules
    shares, k = problem.shares(), len(problem.sites)
    day = obs_days(survey)
    obs_up, tile_up = obs_availability(problem), tile_availability(problem)
    n_days = int(day.max()) + 1
    day_volume = np.bincount(day, weights=survey.obs_size_gb, minlength=n_days).astype(np.float64)
    available: FloatArray = np.stack(
        [
            np.bincount(day, weights=survey.obs_size_gb * obs_up[:, s], minlength=n_days)
            for s in range(k)
        ],
        axis=1,
    )
    targets = plan_targets(
        day_volume, available, shares, rules.tolerance * margin, rules.window_days
    )
    if isinstance(targets, list):
        raise InfeasibleError(stretch_message(problem, targets))
    window_volume = np.convolve(day_volume, np.ones(min(rules.window_days, n_days)), mode="valid")
    # |running - target| <= band at both ends of a window keeps it inside the tolerance left
    band = max(
        0.0,
        (
            (1 - margin) * rules.tolerance * float(window_volume.min())
            - float(survey.obs_size_gb.max())
        )
        / 2,
    )
    ptr, idx = obs_tiles(survey.n_obs, survey.tile_ptr, survey.tile_obs)
    inputs = StreamInputs(
        order=np.argsort(survey.obs_start, kind="stable"),
        day=day,
        size=survey.obs_size_gb,
        obs_up=obs_up,
        tile_up=tile_up,
        obs_tile_ptr=ptr,
        obs_tile_idx=idx,
    )
    fixed, fixed_mask, frozen_tiles = None, None, None
    if problem.previous is not None and problem.frozen_until is not None:
        fixed = (problem.previous.primary, problem.previous.secondary)
        fixed_mask = survey.obs_start < problem.frozen_until
    primary, secondary, local = stream_assign(
        inputs, (targets.primary, targets.secondary), band, fixed, fixed_mask
    )
    tile_site = best_tile_sites(local)
    t_day = tile_days(survey)
    if problem.previous is not None and problem.frozen_until is not None:
        from placement.calendar import tile_ready

        frozen_tiles = np.flatnonzero(tile_ready(survey) < problem.frozen_until)
        tile_site[frozen_tiles] = problem.previous.tile_site[frozen_tiles]
    tile_site = balance_tiles(
        tile_site,
        local,
        t_day,
        shares,
        rules.tolerance * 0.98,
        rules.tile_window_days,
        int(day.max()) + 1,
        frozen_tiles,
    )
    return Plan(primary, secondary, tile_site)


def _valid_start(problem: Problem) -> Plan:
    """The greedy with the widest band first; narrower bands when the LP or the bands fail."""
    from placement.lns import instance_of, violating_days
    from placement.window_model import Assignment

    inst = instance_of(problem)
    error: InfeasibleError | None = None
    plan: Plan | None = None
    for margin in (0.25, 0.4, 0.6, 0.9):
        try:
            plan = construct(problem, margin)
        except InfeasibleError as exc:
            error = exc
            continue
        if not len(violating_days(inst, Assignment(plan.primary, plan.secondary, plan.tile_site))):
            return plan
    if plan is None and error is not None:
        raise error
    assert plan is not None
    return plan  # with violations: polishing (soft bounds) repairs them, `check` reports the rest


def solve(
    problem: Problem, options: SolveOptions | None = None, progress: ProgressFn | None = None
) -> Plan:
    """Plan primary/secondary sites per observation and a processing site per tile.

    Raises InfeasibleError (naming days, sites and constraint) when the hard constraints
    cannot all hold.
    """
    options = options or SolveOptions()
    report = progress or _quiet
    began = time.monotonic()
    precheck(problem)
    report(Progress("balance targets and greedy", float("nan"), 0.0, 0.0))
    plan = _valid_start(problem)
    survey = problem.survey
    _, copied, _ = copies(survey, plan.primary, plan.secondary, plan.tile_site)
    report(Progress("greedy start", copied, 0.0, 1.0))
    if options.polish:
        from placement.lns import polish

        remaining = options.time_limit - (time.monotonic() - began)
        plan = polish(problem, plan, remaining, options, report)
    stats = plan_stats(
        survey,
        plan,
        obs_days(survey),
        tile_days(survey),
        problem.shares(),
        (problem.rules.window_days, problem.rules.tile_window_days),
    )
    stats["solve_seconds"] = time.monotonic() - began
    return Plan(plan.primary, plan.secondary, plan.tile_site, stats)
