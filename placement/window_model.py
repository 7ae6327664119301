"""One CP-SAT model for a free set of observations (a span of days), everything else fixed.

Used three ways: polishing a plan window by window (soft balance: violations cost far more
than copies, so any start converges towards a valid plan), exact solves of whole small
instances (hard balance), and re-planning (churn against the previous plan in the objective).
Volumes are integer MB so every share bound is exact integer arithmetic.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from ortools.sat.python import cp_model

from placement.model import BoolArray, FloatArray, IntArray

VIOLATION_COST = 1000  # per MB outside a share bound, against 1 per MB copied
TILE_VIOLATION_COST = 10**7  # per tile outside a tile-count bound


@dataclass(frozen=True)
class Instance:
    """Arrays the model reads (built once per solve, see placement.lns.instance_of)."""

    size_mb: IntArray
    obs_day: IntArray
    tile_day: IntArray
    obs_up: BoolArray
    tile_up: BoolArray
    tile_ptr: IntArray
    tile_obs: IntArray
    obs_tile_ptr: IntArray
    obs_tile_idx: IntArray
    shares: FloatArray
    tolerance: float
    window_days: int
    tile_window_days: int
    storage_mb: IntArray
    day_volume_cum: IntArray  # [n_days + 1] cumulative MB
    day_tiles_cum: IntArray  # [n_days + 1] cumulative tile counts


@dataclass
class Assignment:
    """A full plan as arrays, updated in place by each window solve."""

    primary: IntArray
    secondary: IntArray
    tile_site: IntArray


def _windows(n_days: int, length: int, lo: int, hi: int) -> list[tuple[int, int]]:
    """Rolling windows (and the horizon) that contain at least one day of [lo, hi)."""
    n_windows = max(1, n_days - length + 1)
    spans = [
        (d, min(d + length, n_days)) for d in range(max(0, lo - length + 1), min(hi, n_windows))
    ]
    return [(0, n_days), *spans]


def solve_window(
    inst: Instance,
    plan: Assignment,
    free_obs: IntArray,
    time_limit: float,
    workers: int,
    soft: bool = True,
    previous: Assignment | None = None,
    churn_mb: int = 0,
    seed: int = 0,
) -> tuple[bool, float]:
    """Re-optimise `free_obs` (and tiles ready in their days) in place; return (changed, bound).

    With `soft`, share bounds may be broken at VIOLATION_COST per MB; otherwise they are hard.
    """
    k = len(inst.shares)
    model = cp_model.CpModel()
    free = np.zeros(len(inst.size_mb), dtype=np.bool_)
    free[free_obs] = True
    lo, hi = int(inst.obs_day[free_obs].min()), int(inst.obs_day[free_obs].max()) + 1
    touched = np.unique(
        inst.obs_tile_idx[
            np.concatenate(
                [np.arange(inst.obs_tile_ptr[o], inst.obs_tile_ptr[o + 1]) for o in free_obs]
            )
        ]
    )
    free_tiles = touched[(inst.tile_day[touched] >= lo) & (inst.tile_day[touched] < hi)]
    tile_free = np.zeros(len(inst.tile_day), dtype=np.bool_)
    tile_free[free_tiles] = True
    x: dict[tuple[int, int], cp_model.IntVar] = {}
    y: dict[tuple[int, int], cp_model.IntVar] = {}
    z: dict[tuple[int, int], cp_model.IntVar] = {}
    objective: list[cp_model.LinearExprT] = []
    for o in free_obs.tolist():
        sites = (
            np.flatnonzero(inst.obs_up[o]) if inst.obs_up[o].sum() >= 2 else np.arange(k)
        ).tolist()
        hint_p, hint_s = _feasible_hint(int(plan.primary[o]), int(plan.secondary[o]), sites)
        for s in sites:
            x[o, s], y[o, s] = model.new_bool_var(""), model.new_bool_var("")
            model.add(x[o, s] + y[o, s] <= 1)
            model.add_hint(x[o, s], int(hint_p == s))
            model.add_hint(y[o, s], int(hint_s == s))
        model.add_exactly_one(x[o, s] for s in sites)
        model.add_exactly_one(y[o, s] for s in sites)
        if previous is not None and churn_mb:
            objective.append(
                churn_mb
                * (
                    2
                    - x.get((o, int(previous.primary[o])), 0)
                    - y.get((o, int(previous.secondary[o])), 0)
                )
            )
    for t in free_tiles.tolist():
        sites = (
            np.flatnonzero(inst.tile_up[t]) if inst.tile_up[t].any() else np.arange(k)
        ).tolist()
        t_hint_missing = int(plan.tile_site[t]) not in sites
        for s in sites:
            z[t, s] = model.new_bool_var("")
            model.add_hint(
                z[t, s], int(plan.tile_site[t] == s or (t_hint_missing and s == sites[0]))
            )
        model.add_exactly_one(z[t, s] for s in sites)
        if previous is not None and churn_mb:
            objective.append(churn_mb * (1 - z.get((t, int(previous.tile_site[t])), 0)))
    for t in touched.tolist():
        inputs = inst.tile_obs[inst.tile_ptr[t] : inst.tile_ptr[t + 1]]
        for o in inputs.tolist():
            size = int(inst.size_mb[o])
            if tile_free[t] and free[o]:
                copied = model.new_bool_var("")
                for s in range(k):
                    if (t, s) in z:
                        model.add(z[t, s] <= x.get((o, s), 0) + y.get((o, s), 0) + copied)
                objective.append(size * copied)
            elif tile_free[t]:
                objective.append(
                    size
                    * (
                        1
                        - z.get((t, int(plan.primary[o])), 0)
                        - z.get((t, int(plan.secondary[o])), 0)
                    )
                )
            elif free[o]:
                site = int(plan.tile_site[t])
                objective.append(size * (1 - x.get((o, site), 0) - y.get((o, site), 0)))
    for chosen, var in ((plan.primary, x), (plan.secondary, y)):
        _share_bounds(
            model, inst, inst.obs_day, inst.size_mb, chosen, free, var,
            inst.day_volume_cum, inst.window_days, (lo, hi), soft, VIOLATION_COST, objective,
        )  # fmt: skip
    _share_bounds(
        model, inst, inst.tile_day, np.ones(len(inst.tile_day), dtype=np.int64), plan.tile_site,
        tile_free, z, inst.day_tiles_cum, inst.tile_window_days, (lo, hi), soft,
        TILE_VIOLATION_COST, objective,
    )  # fmt: skip
    for s in range(k):  # storage: stored volume (both roles) never above the site's disk
        fixed = int(
            inst.size_mb[~free][(plan.primary[~free] == s) | (plan.secondary[~free] == s)].sum()
        )
        terms = [int(inst.size_mb[o]) * (x.get((o, s), 0) + y.get((o, s), 0)) for o in free_obs]
        model.add(sum(terms) <= int(inst.storage_mb[s]) - fixed)
    model.minimize(sum(objective))
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = max(0.05, time_limit)
    solver.parameters.num_workers = max(1, workers)
    solver.parameters.random_seed = seed
    status = solver.solve(model)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return False, math.nan
    changed = False
    for o in free_obs.tolist():
        p = next(s for s in range(k) if (o, s) in x and solver.value(x[o, s]))
        q = next(s for s in range(k) if (o, s) in y and solver.value(y[o, s]))
        changed |= p != plan.primary[o] or q != plan.secondary[o]
        plan.primary[o], plan.secondary[o] = p, q
    for t in free_tiles.tolist():
        site = next(s for s in range(k) if (t, s) in z and solver.value(z[t, s]))
        changed |= site != plan.tile_site[t]
        plan.tile_site[t] = site
    return changed, solver.best_objective_bound


def _feasible_hint(primary: int, secondary: int, sites: list[int]) -> tuple[int, int]:
    """The current roles, moved to allowed sites where they are not (a complete hint lets
    CP-SAT start from a solution even when new maintenance strands the old one)."""
    if primary not in sites:
        primary = next(s for s in sites if s != secondary)
    if secondary not in sites or secondary == primary:
        secondary = next(s for s in sites if s != primary)
    return primary, secondary


def _bounded(
    model: cp_model.CpModel,
    expr: cp_model.LinearExprT,
    low: int,
    high: int,
    soft: bool,
    cost: int,
    objective: list[cp_model.LinearExprT],
    limit: int,
) -> None:
    if not soft:
        model.add_linear_constraint(expr, low, high)
        return
    over = model.new_int_var(0, max(limit, 1), "")
    under = model.new_int_var(0, max(limit, 1), "")
    model.add(expr <= high + over)
    model.add(expr >= low - under)
    objective.append(cost * (over + under))


def _share_bounds(
    model: cp_model.CpModel,
    inst: Instance,
    days: IntArray,
    weights: IntArray,
    chosen: IntArray,
    free: BoolArray,
    var: dict[tuple[int, int], cp_model.IntVar],
    totals_cum: IntArray,
    length: int,
    span: tuple[int, int],
    soft: bool,
    cost: int,
    objective: list[cp_model.LinearExprT],
) -> None:
    """Each site's share of `weights` within tolerance in every `length`-day window (and the
    horizon) touching the free days `span`; the fixed items count as constants."""
    k, n_days = len(inst.shares), len(totals_cum) - 1
    lo, hi = span
    fixed = np.zeros((n_days + 1, k), dtype=np.int64)
    np.add.at(fixed, (days[~free] + 1, chosen[~free]), weights[~free])
    fixed_cum = fixed.cumsum(axis=0)
    items = np.flatnonzero(free)
    per_day: dict[tuple[int, int], Any] = {}
    for d in range(lo, hi):
        members = items[days[items] == d].tolist()
        for s in range(k):
            per_day[d, s] = sum(int(weights[i]) * var.get((i, s), 0) for i in members)
    for a, b in _windows(n_days, length, lo, hi):
        total = int(totals_cum[b] - totals_cum[a])
        for s in range(k):
            const = int(fixed_cum[b, s] - fixed_cum[a, s])
            expr = sum(per_day[d, s] for d in range(max(a, lo), min(b, hi)))
            low = math.ceil((inst.shares[s] - inst.tolerance) * total - 1e-6) - const
            high = math.floor((inst.shares[s] + inst.tolerance) * total + 1e-6) - const
            _bounded(model, expr, low, high, soft, cost, objective, total)
