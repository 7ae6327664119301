"""`solve(problem) -> Plan`: balance targets, greedy passes (pair scoring, each improved by
local search and re-placing each observation against the previous pass's plan), then
CP-SAT polishing of time windows (placement.lns) if time is left; re-plans go to
placement.replan."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from placement.calendar import obs_availability, obs_days, tile_availability, tile_days, tile_ready
from placement.evaluate import copies, plan_stats
from placement.feasibility import InfeasibleError, precheck, stretch_message
from placement.greedy import StreamInputs, balanced_tile_sites, obs_tiles, stream_assign
from placement.local_search import FOOTPRINT_ROUNDS, improve
from placement.model import FloatArray, Plan, Problem
from placement.rebalance import obs_values, rebalance, tile_values
from placement.targets import DayTargets, plan_targets

START_SHARE = 0.8  # of the time limit for greedy passes; the kept plan's last polish follows
FINISH_SHARE = 0.1  # kept for the last local search and the stats after polishing
# pair scoring: (tile gain, primary gain, steepness beyond the band) against squared bands
# of imbalance (1-year surveys: 0.94% copies; 4, 1, 5 gave 1.07%, 16, 1, 10 gave 1.0%)
PAIR_WEIGHTS = (8.0, 1.0, 5.0)
PairWeights = tuple[float, float, float] | None  # None: the banded greedy's hard rules
MAX_PASSES = 12  # greedy passes, each seeing the last one's plan (1 year: 0.91% -> 0.63%)
POLISH_MIN = 3.0  # seconds: less than this left after the passes is not worth a CP-SAT model


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


def volume_targets(problem: Problem, margin: float, wider: tuple[float, ...] = ()) -> DayTargets:
    """Per-day volume targets per site and role (LP within `margin` x tolerance around
    outages, a stretch that cannot within each of the `wider` margins in turn);
    InfeasibleError names the stretch when none exist."""
    survey, rules = problem.survey, problem.rules
    day, obs_up = obs_days(survey), obs_availability(problem)
    n_days = int(day.max()) + 1
    day_volume = np.bincount(day, weights=survey.obs_size_gb, minlength=n_days).astype(np.float64)
    available: FloatArray = np.stack(
        [
            np.bincount(day, weights=survey.obs_size_gb * obs_up[:, s], minlength=n_days)
            for s in range(len(problem.sites))
        ],
        axis=1,
    )
    targets = plan_targets(
        day_volume,
        available,
        problem.shares(),
        rules.tolerance * margin,
        rules.window_days,
        tuple(rules.tolerance * m for m in wider),
    )
    if isinstance(targets, list):
        raise InfeasibleError(stretch_message(problem, targets))
    return targets


def construct(
    problem: Problem, margin: float, band_factor: float = 1.0, pair_scoring: PairWeights = None
) -> Plan:
    """A start: targets (LP within `margin` x tolerance around outages), the greedy in a band
    around them, then the windows still out of bounds repaired by the cheapest moves.

    band_factor > 1 lets the greedy run further from its targets (longer, more local runs)
    and leaves more to the repair; 1 keeps every window in bounds by construction away from
    outages.
    """
    return repair_windows(problem, stream_plan(problem, margin, band_factor, pair_scoring))


def stream_plan(
    problem: Problem,
    margin: float,
    band_factor: float = 1.0,
    pair_scoring: PairWeights = None,
    targets: DayTargets | None = None,
    known: Plan | None = None,
    tile_price: FloatArray | None = None,
) -> Plan:
    """The greedy's plan before any repair (windows may be out of bounds): roles streamed in
    a band around the targets, tiles to their most local site. `tile_price[t, s]` (GB) is
    taken off the local volume of tile t at site s, for the tiles and for the pairs'
    gains: the price of the tile windows the last stream overfilled (placement.tile_prices).
    """
    survey, rules = problem.survey, problem.rules
    shares = problem.shares()
    day = obs_days(survey)
    obs_up, tile_up = obs_availability(problem), tile_availability(problem)
    n_days = int(day.max()) + 1
    day_volume = np.bincount(day, weights=survey.obs_size_gb, minlength=n_days).astype(np.float64)
    if targets is None:
        targets = volume_targets(problem, margin)
    window_volume = np.convolve(day_volume, np.ones(min(rules.window_days, n_days)), mode="valid")
    # |running - target| <= band at both ends of a window keeps its share within tolerance;
    # inside a site's re-planned stretch the LP used most of the tolerance, so the band narrows
    volume = band_factor * rules.tolerance * float(window_volume.min())
    wide = (volume - float(survey.obs_size_gb.max())) / 2
    used = margin if targets.used is None else targets.used / rules.tolerance
    band = np.where(targets.disturbed, (1 - used) * max(wide, 0.0), max(wide, 0.0))
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
    fixed, fixed_mask = None, None
    if problem.previous is not None and problem.frozen_until is not None:
        fixed = (problem.previous.primary, problem.previous.secondary)
        fixed_mask = survey.obs_start < problem.frozen_until
    primary, secondary, local = stream_assign(
        inputs,
        (targets.primary, targets.secondary),
        band,
        fixed,
        fixed_mask,
        pair_scoring,
        None if known is None else (known.primary, known.secondary),
        tile_price,
    )
    if tile_price is not None:  # the prices steer the pairs; ties go by the running counts
        local = local + np.where(tile_up, tile_price, 0.0)
    tile_site = balanced_tile_sites(local, tile_days(survey), shares)
    if problem.previous is not None and problem.frozen_until is not None:
        frozen_tiles = tile_ready(survey) < problem.frozen_until
        tile_site[frozen_tiles] = problem.previous.tile_site[frozen_tiles]
    return Plan(primary, secondary, tile_site)


def repair_windows(problem: Problem, plan: Plan) -> Plan:
    """The streamed plan with its out-of-bounds windows repaired by the cheapest moves
    (placement.rebalance); frozen work stays."""
    survey, rules = problem.survey, problem.rules
    shares = problem.shares()
    day, t_day = obs_days(survey), tile_days(survey)
    obs_up, tile_up = obs_availability(problem), tile_availability(problem)
    n_days = int(day.max()) + 1
    primary, secondary, tile_site = plan.primary, plan.secondary, plan.tile_site
    tiles_movable = np.ones(survey.n_tiles, dtype=np.bool_)
    obs_movable = None
    if problem.previous is not None and problem.frozen_until is not None:
        tiles_movable = tile_ready(survey) >= problem.frozen_until
        obs_movable = survey.obs_start >= problem.frozen_until
    tol = rules.tolerance * 0.98
    for _ in range(2):  # fixing one role's windows can disturb what the tiles prefer
        for role in ("primary", "secondary"):
            mine, other = (primary, secondary) if role == "primary" else (secondary, primary)
            value = obs_values(survey, mine, other, tile_site, obs_up)
            moved = rebalance(
                survey.obs_size_gb,
                mine,
                value,
                day,
                shares,
                tol,
                rules.window_days,
                n_days,
                obs_movable,
            )
            primary, secondary = (moved, other) if role == "primary" else (other, moved)
        tile_site = rebalance(
            np.ones(survey.n_tiles),
            tile_site,
            tile_values(survey, primary, secondary, tile_up),
            t_day,
            shares,
            tol,
            rules.tile_window_days,
            n_days,
            tiles_movable,
        )
    return Plan(primary, secondary, tile_site)


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
    if problem.previous is not None:
        from placement.lns import replan

        report(Progress("re-plan affected days", float("nan"), 0.0, 0.0))
        plan = replan(problem, options.time_limit, options.workers, options.seed)
        return _with_stats(problem, plan, began)
    report(Progress("balance targets and greedy", float("nan"), 0.0, 0.0))
    from placement.passes import best_start

    deadline = began + START_SHARE * options.time_limit
    plan, valid = best_start(problem, deadline, report)
    survey = problem.survey
    _, copied, _ = copies(survey, plan.primary, plan.secondary, plan.tile_site)
    report(Progress("greedy start", copied, 0.0, 1.0))
    remaining = (1 - FINISH_SHARE) * options.time_limit - (time.monotonic() - began)
    if options.polish and (remaining >= POLISH_MIN or not valid):
        from placement.lns import polish

        plan = improve_plan(problem, polish(problem, plan, max(remaining, 1.0), options, report))
    return _with_stats(problem, plan, began)


def improve_plan(
    problem: Problem, plan: Plan, copies_rounds: int = 4, primary: bool = True
) -> Plan:
    """Single improving moves that keep every window in bounds (placement.local_search):
    up to `copies_rounds` rounds for the copies, then (with `primary`) the primary-only
    polish, which the greedy passes leave to the plan they keep (it never changes copies)."""
    survey, rules = problem.survey, problem.rules
    obs_movable = tiles_movable = None
    if problem.previous is not None and problem.frozen_until is not None:
        obs_movable = survey.obs_start >= problem.frozen_until
        tiles_movable = tile_ready(survey) >= problem.frozen_until
    return improve(
        survey,
        plan,
        obs_days(survey),
        tile_days(survey),
        obs_availability(problem),
        tile_availability(problem),
        problem.shares(),
        rules.tolerance * (1 - 1e-6),
        (rules.window_days, rules.tile_window_days),
        np.array([site.storage_tb * 1000.0 for site in problem.sites]),
        rounds=copies_rounds,
        obs_movable=obs_movable,
        tiles_movable=tiles_movable,
        primary_rounds=4 if primary else 0,
        # a re-plan's moves are churn: its local search keeps to single moves
        footprint_rounds=0 if problem.previous is not None else FOOTPRINT_ROUNDS,
    )


def _with_stats(problem: Problem, plan: Plan, began: float) -> Plan:
    survey = problem.survey
    stats = plan_stats(
        survey,
        plan,
        obs_days(survey),
        tile_days(survey),
        problem.shares(),
        (problem.rules.window_days, problem.rules.tile_window_days),
    )
    if problem.previous is not None:
        prev = problem.previous
        moved = (prev.primary != plan.primary) | (prev.secondary != plan.secondary)
        stats["moved_observations"] = float(moved.sum())
        stats["moved_tiles"] = float((prev.tile_site != plan.tile_site).sum())
    stats["solve_seconds"] = time.monotonic() - began
    return Plan(plan.primary, plan.secondary, plan.tile_site, stats)
