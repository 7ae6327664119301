"""Per-day volume targets per site and role: the balance plan the streaming greedy follows.

Away from maintenance every site takes its capacity share of each day's volume, which meets
every rolling window exactly. Around a site's outages (a stretch padded by three windows on
each side so the correction can fade out) one small LP (GLOP) for that site alone moves its
missing share before and after the outage so every window touching the stretch stays within
tolerance; the other sites then absorb the difference day by day in proportion to their
shares. One LP per site keeps each model to a few hundred rows (a joint LP over all sites
took a minute on a two-year stretch).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from ortools.linear_solver import pywraplp

from placement.model import BoolArray, FloatArray


@dataclass(frozen=True)
class DayTargets:
    """Target volume per day and site for each role: `primary[d, s]`."""

    primary: FloatArray
    secondary: FloatArray
    disturbed: BoolArray  # [day, site]: inside one of the site's re-planned stretches
    used: FloatArray | None = None  # [day, site]: tolerance the LP used there (re-planned)


def disturbed_stretches(short: BoolArray, pad: int) -> list[tuple[int, int]]:
    """Day ranges [lo, hi) around the days flagged in `short`, padded and merged."""
    n_days = len(short)
    stretches: list[tuple[int, int]] = []
    for d in np.flatnonzero(short):
        lo, hi = max(0, int(d) - pad), min(n_days, int(d) + pad + 1)
        if stretches and lo <= stretches[-1][1]:
            stretches[-1] = (stretches[-1][0], max(stretches[-1][1], hi))
        else:
            stretches.append((lo, hi))
    return stretches


def _site_lp(
    lo: int,
    hi: int,
    day_volume: FloatArray,
    available: FloatArray,
    share: float,
    tolerance: float,
    window_days: int,
) -> FloatArray | None:
    """One site's daily amounts on [lo, hi), close to its share line, windows within bounds."""
    n_days = len(day_volume)
    solver = pywraplp.Solver.CreateSolver("GLOP")
    if solver is None:  # pragma: no cover - GLOP ships with OR-Tools
        raise RuntimeError("GLOP is not available")
    amounts = [
        solver.NumVar(0.0, float(min(available[d], day_volume[d])), "") for d in range(lo, hi)
    ]
    objective = solver.Objective()
    for i, d in enumerate(range(lo, hi)):
        gap = solver.NumVar(0.0, solver.infinity(), "")
        line = float(share * day_volume[d])
        up = solver.Constraint(-solver.infinity(), line)
        up.SetCoefficient(amounts[i], 1.0)
        up.SetCoefficient(gap, -1.0)
        down = solver.Constraint(line, solver.infinity())
        down.SetCoefficient(amounts[i], 1.0)
        down.SetCoefficient(gap, 1.0)
        objective.SetCoefficient(gap, 1.0)
    n_windows = max(1, n_days - window_days + 1)
    first = max(0, lo - window_days + 1)
    for a in range(first, min(hi, n_windows)):
        b = min(a + window_days, n_days)
        volume = float(day_volume[a:b].sum())
        outside = share * (volume - float(day_volume[max(a, lo) : min(b, hi)].sum()))
        row = solver.Constraint(
            (share - tolerance) * volume - outside, (share + tolerance) * volume - outside
        )
        for d in range(max(a, lo), min(b, hi)):
            row.SetCoefficient(amounts[d - lo], 1.0)
    objective.SetMinimization()
    if solver.Solve() != pywraplp.Solver.OPTIMAL:
        return None
    return np.array([v.solution_value() for v in amounts])


def _role_targets(
    day_volume: FloatArray,
    available: FloatArray,
    cap: FloatArray,
    shares: FloatArray,
    tolerances: tuple[float, ...],
    window_days: int,
    used: FloatArray,
) -> tuple[FloatArray, BoolArray, list[tuple[int, int, int]]]:
    """One role's targets: share line, re-planned per site around its outages within `cap`,
    each stretch with the first of `tolerances` its LP can meet (recorded in `used`)."""
    k = len(shares)
    targets = shares[None, :] * day_volume[:, None]
    pinned = np.zeros(targets.shape, dtype=np.bool_)
    failed = []
    for s in range(k):
        short = available[:, s] < day_volume - 1e-9
        for lo, hi in disturbed_stretches(short, 3 * window_days):
            for tolerance in tolerances:
                amounts = _site_lp(lo, hi, day_volume, cap[:, s], shares[s], tolerance, window_days)
                if amounts is not None:
                    break
            if amounts is None:
                failed.append((s, lo, hi))
                continue
            targets[lo:hi, s] = amounts
            pinned[lo:hi, s] = True
            used[lo:hi, s] = np.maximum(used[lo:hi, s], tolerance)
    # the sites not re-planned on a day absorb what the re-planned ones took more or less
    residual = day_volume - targets.sum(axis=1)
    free_share = np.where(pinned, 0.0, shares[None, :] * (cap > 0))
    weight = free_share / np.maximum(free_share.sum(axis=1, keepdims=True), 1e-12)
    return np.maximum(targets + residual[:, None] * weight, 0.0), pinned, failed


def plan_targets(
    day_volume: FloatArray,
    available: FloatArray,
    shares: FloatArray,
    tolerance: float,
    window_days: int,
    wider: tuple[float, ...] = (),
) -> DayTargets | list[tuple[int, int, int]]:
    """Daily targets meeting every window share within `tolerance`, or the failing
    (site, first day, end day) stretches. A stretch whose LP fails at `tolerance` tries the
    `wider` ones in turn (one long outage then does not widen every other stretch).

    day_volume[d]: volume observed on day d; available[d, s]: the part of it site s may
    take (maintenance). Secondaries are planned after primaries, in what each site has left
    that day (an observation is never its own secondary).
    """
    tolerances = (tolerance, *wider)
    used = np.zeros(available.shape)
    primary, pinned, failed = _role_targets(
        day_volume, available, available, shares, tolerances, window_days, used
    )
    left = np.maximum(available - primary, 0.0)
    secondary, pinned_s, failed_s = _role_targets(
        day_volume, available, left, shares, tolerances, window_days, used
    )
    if failed or failed_s:
        return failed + failed_s
    return DayTargets(primary, secondary, pinned | pinned_s, used)
