"""Re-planning a role's daily amounts: the smallest change per day and site (one LP, GLOP)
that brings every window back within its share bounds, then the per-day changes made
real by moving the cheapest roles of that day.

A new outage takes a site's share out of the windows around it; its missing share has to
come back on the free days those windows hold, and the other windows containing those days
must stay within bounds too, which can reach weeks back: a chain single moves rarely find.
"""

from __future__ import annotations

import numpy as np
from ortools.linear_solver import pywraplp

from placement.calendar import window_starts
from placement.model import BoolArray, FloatArray, IntArray
from placement.rebalance import FORBIDDEN

MARGIN = 0.85  # share of the tolerance the LP may use: rounding to whole roles needs the rest


def shifted_amounts(
    current: FloatArray,
    capacity: FloatArray,
    shares: FloatArray,
    tolerance: float,
    window_days: int,
    free: tuple[int, int],
) -> FloatArray | None:
    """Daily amounts per site ([day, site]) closest (L1) to `current` that keep every window
    within `MARGIN` x tolerance of its share, changing only the days in `free` = [lo, hi)
    and never above `capacity` there; None when no such amounts exist."""
    n_days, k = current.shape
    lo, hi = free
    solver = pywraplp.Solver.CreateSolver("GLOP")
    if solver is None:  # pragma: no cover - GLOP ships with OR-Tools
        raise RuntimeError("GLOP is not available")
    day_total = current.sum(axis=1)
    x = {
        (d, s): solver.NumVar(0.0, float(capacity[d, s]), "")
        for d in range(lo, hi)
        for s in range(k)
    }
    objective = solver.Objective()
    for d in range(lo, hi):
        total = solver.Constraint(float(day_total[d]), float(day_total[d]))
        for s in range(k):
            total.SetCoefficient(x[d, s], 1.0)
            change = solver.NumVar(0.0, solver.infinity(), "")
            up = solver.Constraint(-float(current[d, s]), solver.infinity())
            up.SetCoefficient(change, 1.0)
            up.SetCoefficient(x[d, s], -1.0)
            down = solver.Constraint(float(current[d, s]), solver.infinity())
            down.SetCoefficient(change, 1.0)
            down.SetCoefficient(x[d, s], 1.0)
            objective.SetCoefficient(change, 1.0)
    cum = np.vstack([np.zeros(k), np.cumsum(current, axis=0)])
    starts = window_starts(n_days, window_days)
    spans = [(0, n_days)] + [(int(a), int(min(a + window_days, n_days))) for a in starts]
    band = MARGIN * tolerance
    for a, b in spans:
        if b <= lo or a >= hi:
            continue
        volume = float(day_total[a:b].sum())
        if volume <= 0:
            continue
        inside = range(max(a, lo), min(b, hi))
        for s in range(k):
            fixed = float(cum[b, s] - cum[a, s]) - float(
                current[inside.start : inside.stop, s].sum()
            )
            row = solver.Constraint(
                (shares[s] - band) * volume - fixed, (shares[s] + band) * volume - fixed
            )
            for d in inside:
                row.SetCoefficient(x[d, s], 1.0)
    objective.SetMinimization()
    if solver.Solve() != pywraplp.Solver.OPTIMAL:
        return None
    result = current.copy()
    for (d, s), var in x.items():
        result[d, s] = var.solution_value()
    return result


def realise(
    target: FloatArray,
    sites: IntArray,
    value: FloatArray,
    weights: FloatArray,
    days: IntArray,
    movable: BoolArray,
    moved: BoolArray,
    other: IntArray | None = None,
) -> None:
    """Move items day by day until each site's running amount is within half an item of the
    running `target` (what one day cannot match carries to the next).

    Cheapest first (value[i, from] - value[i, to]; items that already moved first). With
    `other` (the observations' other role), an item may also go to its other role's site,
    the two roles swapping: no link changes locality, so that costs nothing here (the other
    role's windows are restored after). Updates `sites`, `other` and `moved` in place.
    """
    n_days, k = target.shape
    order = np.argsort(days, kind="stable")
    ptr = np.searchsorted(days[order], np.arange(n_days + 1))
    carry = np.zeros(k)  # what earlier days could not match: window sums stay close
    for d in range(n_days):
        every = order[ptr[d] : ptr[d + 1]]
        items = every[movable[every]]
        if not len(items):
            continue
        need = target[d] + carry - np.bincount(sites[every], weights=weights[every], minlength=k)
        half = float(weights[items].max()) / 2
        while True:
            givers = need < -half
            takers = need > half
            if not givers.any() or not takers.any():
                break
            pool = items[givers[sites[items]]]
            worth = np.where(value[pool] > FORBIDDEN, value[pool], -np.inf)
            if other is not None:
                worth[np.arange(len(pool)), other[pool]] = value[pool, sites[pool]]
            gain = np.where(takers[None, :], worth, -np.inf)
            cost = value[pool, sites[pool]][:, None] - gain - 1e6 * moved[pool][:, None]
            if not np.isfinite(cost).any():
                break
            j, b = np.unravel_index(int(np.argmin(cost)), cost.shape)
            i, a = int(pool[j]), int(sites[pool[j]])
            if other is not None and other[i] == b:
                other[i] = a
            sites[i] = int(b)
            moved[i] = True
            need[a] += weights[i]
            need[b] -= weights[i]
        carry = need
