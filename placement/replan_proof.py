"""Proofs that no re-plan exists: frozen work on a site now down, and a relaxation over
daily amounts of both roles together.

Any valid re-plan gives, for each free day, role and site, the volume the site holds in
that role. Those amounts add up to the day's free volume in each role, a site holds only
work for which it is up, and it holds each observation in one role at most, so its two
roles together hold no more than the day's work it may take. When no such amounts keep
every 30-day window (both roles) and storage within bounds, no re-plan does: the caller
says so (exit 3) instead of searching on and writing nothing (exit 1).

Both roles in one model: each role alone may be feasible while the pair is not (a 10-day
outage of a 15% site 35 days after the frozen date, benchmark survey). The free days are
those within REACH windows of the stranded work, as far as the repair ever reaches: a
role-by-role LP over two windows had called outages infeasible that four windows repair
(SDC-FR, 22%, 90 days' notice).
"""

from __future__ import annotations

import numpy as np
from ortools.linear_solver import pywraplp

from placement.calendar import day0
from placement.feasibility import InfeasibleError
from placement.files import format_time
from placement.model import SECONDS_PER_DAY, BoolArray, IntArray, Problem
from placement.replan_model import share_and_storage_bounds
from placement.window_model import Assignment, Instance

REACH = 4  # windows of free days on each side of the stranded work (the repair's widest)


def refuse_if_no_amounts(
    problem: Problem, inst: Instance, obs_free: BoolArray, stranded: IntArray
) -> None:
    """InfeasibleError naming the days, sites and constraint when no daily amounts of both
    roles around the `stranded` observations (free ones with a role on a site now down)
    keep the windows within bounds (see the module docstring)."""
    assert problem.previous is not None
    if not len(stranded):
        return
    day = inst.obs_day
    pad = REACH * inst.window_days
    lo, hi = int(day[stranded].min()) - pad, int(day[stranded].max()) + 1 + pad
    free = np.flatnonzero(obs_free & (day >= lo) & (day < hi))
    if amounts_exist(problem, inst, free):
        return
    prev = problem.previous
    down = ~inst.obs_up[stranded, prev.primary[stranded]]
    sites = {*prev.primary[stranded[down]].tolist()}
    down = ~inst.obs_up[stranded, prev.secondary[stranded]]
    sites |= {*prev.secondary[stranded[down]].tolist()}
    names = ", ".join(sorted(problem.site_names[s] for s in sites))
    first, last = int(day[free].min()), int(day[free].max())
    start = day0(problem.survey)

    def date(d: int) -> str:
        return format_time(start + d * SECONDS_PER_DAY)[:10]

    raise InfeasibleError(
        f"balance: no re-plan keeps every site's primary and secondary shares within "
        f"±{inst.tolerance:.1%} in the {inst.window_days}-day windows around "
        f"{date(int(day[stranded].min()))}..{date(int(day[stranded].max()))}: "
        f"{len(stranded)} observation(s) with a role on {names} fall in its new maintenance, "
        f"and the free days from {date(first)} to {date(last)} cannot make up for them "
        f"(even splitting observations between sites; work before --frozen-until and "
        f"beyond those days kept); freeze earlier or move the maintenance"
    )


def refuse_frozen_and_down(
    problem: Problem, inst: Instance, obs_free: BoolArray, tiles_free: BoolArray
) -> None:
    """InfeasibleError naming the frozen work whose site is down in its processing window
    (it may not move, and may not stay)."""
    prev, survey = problem.previous, problem.survey
    assert prev is not None
    rows = np.arange(survey.n_obs)
    down_p = ~inst.obs_up[rows, prev.primary] & ~obs_free
    down_s = ~inst.obs_up[rows, prev.secondary] & ~obs_free
    down_t = ~inst.tile_up[np.arange(survey.n_tiles), prev.tile_site] & ~tiles_free
    ids = [survey.obs_ids[i] for i in np.flatnonzero(down_p | down_s)]
    ids += [survey.tile_ids[t] for t in np.flatnonzero(down_t)]
    if not ids:
        return
    sites = {*prev.primary[down_p].tolist(), *prev.secondary[down_s].tolist()}
    names = sorted(problem.site_names[s] for s in sites | set(prev.tile_site[down_t].tolist()))
    raise InfeasibleError(
        f"frozen: {len(ids)} item(s) starting before --frozen-until "
        f"{format_time(problem.frozen_until or 0.0)} must keep their sites, but the maintenance "
        f"of {', '.join(names)} now overlaps their processing window: {', '.join(ids[:5])}"
        f"{' and more' if len(ids) > 5 else ''}; freeze earlier or move the maintenance"
    )


def amounts_exist(problem: Problem, inst: Instance, free: IntArray) -> bool:
    """Whether daily amounts per role and site exist for the `free` observations' days
    (False only when proven not to: a relaxation of every repair over those days)."""
    assert problem.previous is not None
    k = len(inst.shares)
    solver = pywraplp.Solver.CreateSolver("HIGHS_LP") or pywraplp.Solver.CreateSolver("GLOP")
    solver.SetSolverSpecificParametersAsString("output_flag = false")
    is_free = np.zeros(len(inst.size_mb), dtype=np.bool_)
    is_free[free] = True
    day = inst.obs_day
    lo, hi = int(day[free].min()), int(day[free].max()) + 1
    amount = {}
    for d in range(lo, hi):
        today = free[day[free] == d]
        size, up = inst.size_mb[today], inst.obs_up[today]
        may = [float(size[up[:, s]].sum()) for s in range(k)]
        for r in (0, 1):
            whole = solver.Constraint(float(size.sum()), float(size.sum()))
            for s in range(k):
                amount[r, d, s] = solver.NumVar(0, may[s], "")
                whole.SetCoefficient(amount[r, d, s], 1)
        for s in range(k):  # one role per observation at a site
            row = solver.Constraint(-solver.infinity(), may[s])
            row.SetCoefficient(amount[0, d, s], 1)
            row.SetCoefficient(amount[1, d, s], 1)
    prev = problem.previous
    state = Assignment(prev.primary, prev.secondary, prev.tile_site)
    share_and_storage_bounds(solver, inst, amount, (state, 0), is_free, (lo, hi))
    status = solver.Solve()
    # only a proven infeasibility refuses: a numerical failure lets the repair try
    return bool(status != pywraplp.Solver.INFEASIBLE)
