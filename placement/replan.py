"""Re-plan from a previous plan after the calendar changed: only the affected days are
re-solved, the fewest observations move, frozen work stays.

1. The affected days are those of free work stranded on a site gone down (and of any window
   the previous plan now breaks).
2. The observations of those days and of one 30-day window on each side are re-chosen by
   the repair model (placement.replan_model): candidates near each previous pair, every
   window hard, moved observations and copied volume in the objective. Its LP keeps a
   margin inside every window (half an observation; then less on the disturbed sites
   only, then none) and is rounded day by day (placement.replan_rounding); what the
   rounding leaves out of bounds is restored by single moves. While that fails the span
   widens (two, then four windows on each side); a span on which not even daily amounts
   of both roles exist is skipped (placement.replan_proof).
3. Tiles stranded on a site gone down move to the site holding most of their inputs; tile
   windows are restored by single moves; then tiles of the span, and the observations that
   moved anyway, take the moves that copy less (local search, windows kept).
4. Moves no window needs any more are taken back (placement.replan_undo).

When no span works, the two-role relaxation decides: no daily amounts -> InfeasibleError
(exit 3) naming days, sites and constraint; else the single-move re-plan with its LP
(placement.replan_moves) takes over and its result is repaired window by window with
CP-SAT, churn in the objective.
"""

from __future__ import annotations

import time

import numpy as np

from placement.calendar import obs_availability, obs_days, tile_availability, tile_days, tile_ready
from placement.evaluate import copies
from placement.ledger import WindowLedger
from placement.local_search import improve
from placement.model import BoolArray, IntArray, Plan, Problem
from placement.rebalance import obs_values, tile_values
from placement.replan_model import Pairs, repair_lp
from placement.replan_moves import refuse_if_infeasible, restore
from placement.replan_proof import amounts_exist, refuse_frozen_and_down, refuse_if_no_amounts
from placement.replan_rounding import round_by_day
from placement.replan_undo import undo_moves
from placement.window_model import Assignment, Instance

REACH = (1, 2, 4)  # windows of free days on each side of the affected ones, widened in turn
MODEL_SHARE = 0.8  # of the time limit for the repair model; the rest is the fallback's
# (which has not restored a big site's outage on the benchmark: the repair gets the time)
FALLBACK_MOVES_SHARE = 0.15  # for the fallback's single moves before its LP (which proves
# infeasibility), the rest for its CP-SAT window repair
# largest observations the LP keeps inside every window's bounds, on the disturbed sites
# and on the others: the catch-up of a big site near the frozen date leaves its windows
# ~10 GB of room (a sixth of the largest observation), the other sites have plenty
MARGINS = ((0.5, 0.5), (1 / 6, 0.5), (1 / 12, 0.5), (0.0, 0.5), (0.0, 0.0))
ROUNDING_WEIGHTS = (200, 10)  # per MB of a running difference to the LP amounts, on the
# disturbed sites and on the others, next to one copied MB (see placement.replan_rounding)
# share of the margin a running difference may use for free (disturbed sites, others), and
# whether it costs more where the band narrows: the first is cheapest in moves, the others
# are tried in turn when the windows it left out of bounds could not be restored
BANDS = ((0.5, 0.5, False), (0.5, 0.5, True), (0.0, 0.5, True))
CHURN_INPUTS = 10  # moving an observation costs as much as copying this many median inputs


def replan_plan(problem: Problem, time_limit: float, workers: int, seed: int = 0) -> Plan:
    """The previous plan repaired for the new calendar (see the module docstring)."""
    from placement.lns import instance_of, repair_windows
    from placement.replan_moves import replan_by_moves

    assert problem.previous is not None
    began = time.monotonic()
    deadline = began + time_limit
    prev, survey = problem.previous, problem.survey
    inst = instance_of(problem)
    before = Assignment(prev.primary, prev.secondary, prev.tile_site)
    state = Assignment(prev.primary.copy(), prev.secondary.copy(), prev.tile_site.copy())
    obs_free = np.ones(survey.n_obs, dtype=np.bool_)
    tiles_free = np.ones(survey.n_tiles, dtype=np.bool_)
    if problem.frozen_until is not None:
        obs_free = survey.obs_start >= problem.frozen_until
        tiles_free = tile_ready(survey) >= problem.frozen_until
    refuse_frozen_and_down(problem, inst, obs_free, tiles_free)
    affected, focus = _affected(inst, state, obs_free)
    clusters = _clusters(affected, 2 * REACH[-1] * inst.window_days)  # outages far apart
    refuse_if_infeasible(problem)
    churn = int(CHURN_INPUTS * np.median(inst.size_mb))
    spans = []
    for days in clusters:
        found = _repair_span(
            problem,
            inst,
            (state, before),
            obs_free,
            (days, focus),
            (churn, began + MODEL_SHARE * time_limit),
        )
        if found is None:
            refuse_if_no_amounts(problem, inst, obs_free, _stranded(inst, state, obs_free, days))
            # the fallback raises when its own LP finds no amounts
            soon = min(deadline, time.monotonic() + FALLBACK_MOVES_SHARE * time_limit)
            moved_plan, restored = replan_by_moves(problem, soon)
            if restored:
                return moved_plan
            return repair_windows(problem, moved_plan, deadline, workers, seed)
        spans.append(found)
    _replace_tiles(problem, state, tiles_free)
    for free, margin, band in spans:
        if 2 * time.monotonic() - began > deadline:
            break
        # a second pass, the pairs priced with the tiles' new sites (moved observations
        # move again for free); kept when cheaper
        first = Assignment(state.primary.copy(), state.secondary.copy(), state.tile_site.copy())
        solution = repair_lp(inst, (state, before), free, (churn, focus), margin)
        if solution is not None:
            _round(inst, (state, before), solution, (churn, focus), (margin, band))
        restored = solution is not None and _restore_roles(problem, (state, before), free, deadline)
        if restored:
            _replace_tiles(problem, state, tiles_free)
        if not restored or _cost(problem, state, before, churn) >= _cost(
            problem, first, before, churn
        ):
            state = first
    undo_moves(problem, inst, (state, before), obs_free, churn)
    return Plan(state.primary, state.secondary, state.tile_site)


def _clusters(days: IntArray, gap: int) -> list[IntArray]:
    """Sorted days split where two consecutive ones are more than `gap` apart."""
    if not len(days):
        return []
    cuts = np.flatnonzero(np.diff(days) > gap) + 1
    return list(np.split(days, cuts))


def _stranded(inst: Instance, state: Assignment, obs_free: BoolArray, days: IntArray) -> IntArray:
    """Free observations of `days` with a role on a site that is down."""
    rows = np.arange(len(inst.size_mb))
    up = inst.obs_up[rows, state.primary] & inst.obs_up[rows, state.secondary]
    return np.flatnonzero(obs_free & ~up & np.isin(inst.obs_day, days))


def _cost(problem: Problem, state: Assignment, before: Assignment, churn_mb: int) -> float:
    """Copied MB plus churn_mb per moved observation: what the repair model minimises."""
    copied = copies(problem.survey, state.primary, state.secondary, state.tile_site)[1]
    moved = (state.primary != before.primary) | (state.secondary != before.secondary)
    return 1000 * copied + churn_mb * float(moved.sum())


def _affected(inst: Instance, state: Assignment, obs_free: BoolArray) -> tuple[IntArray, BoolArray]:
    """Days of free observations stranded on a site that is down (any role) or inside a
    window the plan breaks, and the sites concerned."""
    from placement.lns import violating_days

    rows = np.arange(len(inst.size_mb))
    up_p, up_s = inst.obs_up[rows, state.primary], inst.obs_up[rows, state.secondary]
    stranded = obs_free & ~(up_p & up_s)
    focus = np.zeros(len(inst.shares), dtype=np.bool_)
    focus[state.primary[stranded & ~up_p]] = True
    focus[state.secondary[stranded & ~up_s]] = True
    bad = violating_days(inst, state)
    bad = bad[np.isin(bad, inst.obs_day[obs_free])]
    if len(bad):  # a window already out of bounds: which site is unknown here, try them all
        focus[:] = True
    return np.unique(np.concatenate([inst.obs_day[stranded], bad])), focus


def _repair_span(
    problem: Problem,
    inst: Instance,
    plans: tuple[Assignment, Assignment],
    obs_free: BoolArray,
    where: tuple[IntArray, BoolArray],
    budget: tuple[int, float],
) -> tuple[IntArray, tuple[float, float], tuple[float, float, bool]] | None:
    """Run the repair model on spans widening around the affected days; the free
    observations, the LP margin and the rounding band that worked, None when none did.

    plans: the state repaired in place and the previous plan; where: the affected days and
    the sites concerned; budget: (churn in MB per moved observation, deadline)."""
    state, before = plans
    affected, focus = where
    churn, deadline = budget
    day = inst.obs_day
    last = int(day.max()) + 1
    first_free = int(day[obs_free].min()) if obs_free.any() else last
    for reach in REACH:
        pad = reach * inst.window_days
        lo, hi = (
            max(first_free, int(affected.min()) - pad),
            min(last, int(affected.max()) + 1 + pad),
        )
        free = np.flatnonzero(obs_free & (day >= lo) & (day < hi))
        if not len(free) or time.monotonic() > deadline:
            return None
        if not amounts_exist(problem, inst, free):
            continue  # no repair over this span exists (one LP instead of one per margin)
        refused = (np.inf, np.inf)  # margins the LP refused: larger ones are refused too
        for margin in MARGINS:
            if time.monotonic() > deadline:
                return None
            if margin[0] >= refused[0] and margin[1] >= refused[1]:
                continue
            solution = repair_lp(inst, plans, free, (churn, focus), margin)
            if solution is None:
                refused = margin
                continue
            for band in BANDS:
                _round(inst, plans, solution, (churn, focus), (margin, band))
                if _restore_roles(problem, plans, free, deadline):
                    return free, margin, band
                state.primary[free], state.secondary[free] = (
                    before.primary[free],
                    before.secondary[free],
                )
        if lo == first_free and hi == last:
            return None
    return None


def _round(
    inst: Instance,
    plans: tuple[Assignment, Assignment],
    solution: Pairs,
    costs: tuple[int, BoolArray],
    room: tuple[tuple[float, float], tuple[float, float, bool]],
) -> None:
    """The repair LP's solution rounded to whole pairs in place in `plans[0]`.

    room: the LP's margins on the disturbed sites and the others, and one of BANDS."""
    churn, focus = costs
    margin, (band_focus, band_other, steep) = room
    weights = np.where(focus, *ROUNDING_WEIGHTS).astype(np.float64)
    free_mb = np.where(focus, margin[0] * band_focus, margin[1] * band_other)
    round_by_day(
        inst, plans, solution, churn, (weights, free_mb * float(inst.size_mb.max())), steep
    )


def _restore_roles(
    problem: Problem, plans: tuple[Assignment, Assignment], free: IntArray, deadline: float
) -> bool:
    """Windows the rounding left out of bounds restored by single moves of free roles
    (observations that moved already first); True when every window holds."""
    state, before = plans
    survey, rules = problem.survey, problem.rules
    day, size = obs_days(survey), survey.obs_size_gb
    movable = np.zeros(survey.n_obs, dtype=np.bool_)
    movable[free] = True
    moved = (state.primary != before.primary) | (state.secondary != before.secondary)
    ok = True
    for mine, other in ((state.primary, state.secondary), (state.secondary, state.primary)):
        value = obs_values(survey, mine, other, state.tile_site, obs_availability(problem))
        ledger = WindowLedger(
            size, day, mine, problem.shares(), rules.tolerance * (1 - 1e-6), rules.window_days,
            int(day.max()) + 1,
        )  # fmt: skip
        ok &= restore(value, mine, ledger, size, day, movable, moved, deadline)
    return ok


def _replace_tiles(problem: Problem, state: Assignment, tiles_free: BoolArray) -> None:
    """Stranded tiles to their most local site, tile windows restored, then cheaper sites
    for the tiles of moved observations (which may move again: that adds no churn)."""
    survey, rules, prev = problem.survey, problem.rules, problem.previous
    assert prev is not None
    tile_up = tile_availability(problem)
    value = tile_values(survey, state.primary, state.secondary, tile_up)
    rows = np.arange(survey.n_tiles)
    stranded = np.flatnonzero(~tile_up[rows, state.tile_site] & tiles_free)
    state.tile_site[stranded] = np.argmax(value[stranded], axis=1)
    obs_day, t_day = obs_days(survey), tile_days(survey)
    n_days = int(max(obs_day.max(), t_day.max())) + 1
    ones = np.ones(survey.n_tiles)
    tolerance = rules.tolerance * (1 - 1e-6)
    ledger = WindowLedger(
        ones, t_day, state.tile_site, problem.shares(), tolerance, rules.tile_window_days, n_days
    )
    restore(
        value, state.tile_site, ledger, ones, t_day, tiles_free, state.tile_site != prev.tile_site
    )
    moved = (state.primary != prev.primary) | (state.secondary != prev.secondary)
    touched = np.zeros(survey.n_tiles, dtype=np.bool_)
    touched[survey.link_tiles()[moved[survey.tile_obs]]] = True
    better = improve(
        survey,
        Plan(state.primary, state.secondary, state.tile_site),
        obs_day,
        t_day,
        obs_availability(problem),
        tile_up,
        problem.shares(),
        tolerance,
        (rules.window_days, rules.tile_window_days),
        np.array([site.storage_tb * 1000.0 for site in problem.sites]),
        obs_movable=moved,
        tiles_movable=touched & tiles_free,
    )
    state.primary[:], state.secondary[:], state.tile_site[:] = (
        better.primary,
        better.secondary,
        better.tile_site,
    )
