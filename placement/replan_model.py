"""The re-plan's repair as a linear model: each free observation of the affected days picks
one (primary, secondary) pair among a few candidates near its previous pair, every rolling
window touching those days stays within its share bounds (hard), and the objective counts
moved observations (churn) and the tile-input volume their pairs leave copied.

The candidates are what a planner by hand would try: keep the pair, swap the two roles,
move one role to or from a site whose windows the change disturbs, or, for work stranded
on a site gone down, keep the surviving site (in either role) with a new partner. With the
tile sites fixed the copies of an observation depend on its own pair only, so the objective
is linear and the model is an assignment with window constraints.

Its LP relaxation (HiGHS) keeps every window a margin inside its bounds (a different one on
the disturbed sites); most observations come out whole, placement.replan_rounding makes
the split ones whole. The same model as an integer program found no feasible assignment in 30 s with
CP-SAT, SCIP or HiGHS (1,200-3,300 observations); GLOP took 7-50 s for the LP, HiGHS 0.3-3 s.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from ortools.linear_solver import pywraplp

from placement.calendar import window_starts
from placement.model import BoolArray, IntArray
from placement.window_model import Assignment, Instance

PRIMARY_ONLY_WEIGHT = 16  # primary-only copies count 1/16: among equal moves, keep primaries

Pairs = dict[int, list[tuple[tuple[int, int], float]]]  # per observation: (pair, LP value)


def candidate_pairs(
    previous: tuple[int, int], up: BoolArray, focus: BoolArray
) -> list[tuple[int, int]]:
    """Pairs (primary, secondary) an observation may take in a repair, its previous first
    when it is still allowed: a swap, or one role moved to or from a `focus` site (a site
    whose windows the change disturbs); any pair with its surviving site when stranded."""
    p, q = previous
    sites = np.flatnonzero(up).tolist()
    if up[p] and up[q]:
        pairs = [(p, q), (q, p)]
        pairs += [(s, q) for s in sites if s not in (p, q) and (focus[p] or focus[s])]
        pairs += [(p, s) for s in sites if s not in (p, q) and (focus[q] or focus[s])]
        return pairs
    keep = q if up[q] else p if up[p] else None
    if keep is None:  # both down: any pair of sites that are up
        return [(a, b) for a in sites for b in sites if a != b]
    return [(keep, s) for s in sites if s != keep] + [(s, keep) for s in sites if s != keep]


def repair_lp(
    inst: Instance,
    plans: tuple[Assignment, Assignment],
    free: IntArray,
    costs: tuple[int, BoolArray],
    margin_inputs: tuple[float, float],
) -> Pairs | None:
    """The LP relaxation of re-choosing the pairs of the observations `free` (the others,
    the tiles and every window not touching the free days as in `plans[0]`, the state):
    each candidate pair's value per observation, None when the LP has no solution.

    plans: (state, previous plan); costs: (churn_mb, focus): what moving one observation
    (against the previous plan) costs in copied MB, and the sites whose windows the change
    disturbs (see candidate_pairs); margin_inputs: how many of the largest observations
    the LP keeps between every window and its bounds, for the rounding, on the `focus`
    sites and on the others.
    """
    churn_mb, focus = costs
    largest = int(inst.size_mb.max())
    margin = np.where(focus, int(margin_inputs[0] * largest), int(margin_inputs[1] * largest))
    return _solve_lp(inst, plans, free, (churn_mb, margin), focus)


def fewest_moves(inst: Instance, previous: Assignment, free: IntArray) -> float | None:
    """A lower bound on the observations of `free` any re-plan must move (the others
    fixed): the LP relaxation with every pair of sites allowed and only moves counted;
    None when even that has no solution."""
    state = Assignment(previous.primary.copy(), previous.secondary.copy(), previous.tile_site)
    solution = _solve_lp(inst, (state, previous), free, (1, 0), None)
    if solution is None:
        return None
    stay = {o: (int(previous.primary[o]), int(previous.secondary[o])) for o in solution}
    return float(
        sum(1 - sum(v for p, v in values if p == stay[o]) for o, values in solution.items())
    )


def _pairs(inst: Instance, previous: Assignment, o: int, focus: BoolArray) -> list[tuple[int, int]]:
    return candidate_pairs(
        (int(previous.primary[o]), int(previous.secondary[o])), inst.obs_up[o], focus
    )


def pair_cost(
    inst: Instance,
    plans: tuple[Assignment, Assignment],
    o: int,
    pair: tuple[int, int],
    churn_mb: int,
) -> int:
    """Copied MB of observation `o` with `pair` (tile sites as in the state), a sixteenth of
    its primary-only copies, and `churn_mb` when the pair is not its previous one."""
    state, previous = plans
    tiles = inst.obs_tile_idx[inst.obs_tile_ptr[o] : inst.obs_tile_ptr[o + 1]]
    at_a = int((state.tile_site[tiles] == pair[0]).sum())
    at_b = int((state.tile_site[tiles] == pair[1]).sum())
    size = int(inst.size_mb[o])
    copied = size * (len(tiles) - at_a - at_b)
    primary_only = size * (len(tiles) - at_a) // PRIMARY_ONLY_WEIGHT
    moved = pair != (int(previous.primary[o]), int(previous.secondary[o]))
    return copied + primary_only + churn_mb * moved


def _solve_lp(
    inst: Instance,
    plans: tuple[Assignment, Assignment],
    free: IntArray,
    costs: tuple[int, IntArray | int],
    focus: BoolArray | None,
) -> Pairs | None:
    """The LP relaxation over the observations `free` (the rest as in the state), every
    window `margin` MB inside its bounds; None when it has no solution.

    costs: (churn_mb, margin per site or for all). Without `focus`, every pair of sites
    that are up is a candidate and only moves count (the lower bound of fewest_moves)."""
    churn_mb, margin = costs
    k = len(inst.shares)
    # HiGHS: 0.3-3 s where GLOP took 7-50 s; GLOP where an OR-Tools build lacks HiGHS
    solver = pywraplp.Solver.CreateSolver("HIGHS") or pywraplp.Solver.CreateSolver("GLOP")
    if solver is None:  # pragma: no cover - GLOP ships with every OR-Tools
        raise RuntimeError("no LP solver in this OR-Tools")
    # no banner on stdout (this OR-Tools reports False for the call but applies it)
    solver.SetSolverSpecificParametersAsString("output_flag = false")
    is_free = np.zeros(len(inst.size_mb), dtype=np.bool_)
    is_free[free] = True
    lo, hi = int(inst.obs_day[free].min()), int(inst.obs_day[free].max()) + 1
    objective = solver.Objective()
    amount, sums = {}, {}
    for key in ((r, d, s) for r in (0, 1) for d in range(lo, hi) for s in range(k)):
        amount[key] = solver.NumVar(0, solver.infinity(), "")
        sums[key] = solver.Constraint(0, 0)  # amount = the chosen pairs' volume that day
        sums[key].SetCoefficient(amount[key], -1)
    chosen: dict[int, list[tuple[tuple[int, int], Any]]] = {}
    state, _ = plans
    for o in free.tolist():
        d = int(inst.obs_day[o])
        one = solver.Constraint(1, 1)
        chosen[o] = []
        before = (int(plans[1].primary[o]), int(plans[1].secondary[o]))
        up = np.flatnonzero(inst.obs_up[o]).tolist()
        every = [(a, b) for a in up for b in up if a != b]
        for a, b in every if focus is None else _pairs(inst, plans[1], o, focus):
            var = solver.NumVar(0, 1, "")
            cost = (
                (a, b) != before if focus is None else pair_cost(inst, plans, o, (a, b), churn_mb)
            )
            objective.SetCoefficient(var, float(cost))
            one.SetCoefficient(var, 1)
            sums[0, d, a].SetCoefficient(var, int(inst.size_mb[o]))
            sums[1, d, b].SetCoefficient(var, int(inst.size_mb[o]))
            chosen[o].append(((a, b), var))
    share_and_storage_bounds(solver, inst, amount, (state, margin), is_free, (lo, hi))
    objective.SetMinimization()
    if solver.Solve() != pywraplp.Solver.OPTIMAL:
        return None
    return {o: [(pair, var.solution_value()) for pair, var in c] for o, c in chosen.items()}


def share_and_storage_bounds(
    solver: Any,
    inst: Instance,
    amount: dict[tuple[int, int, int], Any],
    state_margin: tuple[Assignment, IntArray | int],
    free: BoolArray,
    span: tuple[int, int],
) -> None:
    """Both roles' window bounds (window_bounds) and each site's storage over the whole
    horizon; amount[role, d, s] is the free volume of day d in [lo, hi) (span)."""
    state, margin = state_margin
    for role, sites in ((0, state.primary), (1, state.secondary)):
        window_bounds(solver, inst, amount, (role, sites, margin), free, span)
    for s in range(len(inst.shares)):
        kept = ~free & ((state.primary == s) | (state.secondary == s))
        row = solver.Constraint(
            -solver.infinity(), float(inst.storage_mb[s] - inst.size_mb[kept].sum())
        )
        for r, d in ((r, d) for r in (0, 1) for d in range(*span)):
            row.SetCoefficient(amount[r, d, s], 1)


def window_bounds(
    solver: Any,
    inst: Instance,
    amount: dict[tuple[int, int, int], Any],
    role_sites: tuple[int, IntArray, IntArray | int],
    free: BoolArray,
    span: tuple[int, int],
) -> None:
    """One role's share bounds per site over the horizon and every window touching `span`,
    `margin` MB inside; the fixed observations count as constants.

    role_sites: (role, its current sites, margin)."""
    role, sites, margin = role_sites
    k, n_days = len(inst.shares), len(inst.day_volume_cum) - 1
    margins = np.broadcast_to(np.asarray(margin), (k,))
    lo, hi = span
    fixed = np.zeros((n_days + 1, k), dtype=np.int64)
    np.add.at(fixed, (inst.obs_day[~free] + 1, sites[~free]), inst.size_mb[~free])
    fixed_cum = fixed.cumsum(axis=0)
    length = inst.window_days
    starts = [int(a) for a in window_starts(n_days, length) if a < hi and a + length > lo]
    for a, b in [(0, n_days)] + [(a, min(a + length, n_days)) for a in starts]:
        total = int(inst.day_volume_cum[b] - inst.day_volume_cum[a])
        if total <= 0:
            continue
        # rounding errs in proportion to the free observations a window holds
        free_part = 1 - (fixed_cum[b] - fixed_cum[a]).sum() / total
        for s in range(k):
            inside = int(margins[s] * free_part)
            const = int(fixed_cum[b, s] - fixed_cum[a, s])
            low = math.ceil((inst.shares[s] - inst.tolerance) * total - 1e-6) - const
            high = math.floor((inst.shares[s] + inst.tolerance) * total + 1e-6) - const
            row = solver.Constraint(low + inside, high - inside)
            for d in range(max(a, lo), min(b, hi)):
                row.SetCoefficient(amount[role, d, s], 1)
