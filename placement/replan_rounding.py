"""Whole pairs from the repair LP, one day at a time: the day's observations take the
pairs that bring each site's amounts (both roles) closest to the LP's amounts for that day
plus what earlier days left over (the carry), at the smallest pair cost (copies + churn).

Rounding only the observations the LP split, one by one, moves a site's running amount by
whole observations (~40 GB): a window then errs by up to one observation, more than the room
the catch-up of a big site leaves when its outage is near the frozen date (40-50 days'
notice: its LP is feasible with ~10 GB of room on that site's windows, not 30 GB). Here every
pair of the day may change, one observation or two at a time (an exchange moves a site's
amount by the difference of two sizes), so the site's running amount stays within a few GB
of the LP's and a window errs by the difference of two carries, inside the room. A carry
within half the room costs nothing, so days the LP left whole keep its pairs. (CP-SAT and
HiGHS on the same per-day model, ~17 observations x ~18 pairs, took 0.1-0.5 s a day
without proving optimality; this search takes ~2 ms.)
"""

from __future__ import annotations

import numpy as np

from placement.model import FloatArray, IntArray
from placement.replan_model import Pairs, pair_cost
from placement.window_model import Assignment, Instance

MAX_CHANGES = 40  # improving changes per day (a day is ~17 observations)
PAIR_TRIES = 60  # the best single changes combined two by two


def round_by_day(
    inst: Instance,
    plans: tuple[Assignment, Assignment],
    solution: Pairs,
    churn_mb: int,
    weights: tuple[FloatArray, FloatArray],
    steep: bool = False,
) -> None:
    """Whole pairs for the observations of `solution` in place in `plans[0]`.

    weights: (per MB, band) per site: what one MB of site s's running difference to the
    LP amounts costs beyond `band` MB, next to one copied MB (large where the windows leave
    no room; the band is half the room the LP left). Both narrow towards the ends of the
    span, where windows reach days that do not move; with `steep` the cost per MB grows as
    the band narrows (more exact, more moves)."""
    state = plans[0]
    k = len(inst.shares)
    carry = np.zeros((2, k))  # realised minus LP amounts so far, per role and site
    days: dict[int, list[int]] = {}
    for o in solution:
        days.setdefault(int(inst.obs_day[o]), []).append(o)
    lo, hi = min(days), max(days) + 1
    for d in sorted(days):
        today = days[d]
        # a window reaching outside the span errs by the carry at one end alone, and the LP
        # left it room in proportion to its days inside: the band narrows to the ends
        inside = min(d - lo + 1, hi - d) / inst.window_days
        band = weights[1] * min(1.0, inside)
        dear = weights[0] / min(1.0, inside) if steep else weights[0]
        planned = np.zeros((2, k))
        for o in today:
            for (a, b), v in solution[o]:
                planned[0, a] += v * int(inst.size_mb[o])
                planned[1, b] += v * int(inst.size_mb[o])
        integral = all(max(v for _, v in solution[o]) > 1 - 1e-6 for o in today)
        if integral and (np.abs(carry) <= band).all():
            for o in today:
                state.primary[o], state.secondary[o] = max(solution[o], key=lambda pv: pv[1])[0]
            continue
        target = np.rint(planned - carry).astype(np.int64)
        chosen = _best_day(inst, plans, {o: solution[o] for o in today},
                           (target, (dear, band)), churn_mb)  # fmt: skip
        realised = np.zeros((2, k))
        for o, (a, b) in chosen.items():
            state.primary[o], state.secondary[o] = a, b
            realised[0, a] += int(inst.size_mb[o])
            realised[1, b] += int(inst.size_mb[o])
        carry += realised - planned


def _best_day(
    inst: Instance,
    plans: tuple[Assignment, Assignment],
    candidates: dict[int, list[tuple[tuple[int, int], float]]],
    goal: tuple[IntArray, tuple[FloatArray, FloatArray]],
    churn_mb: int,
) -> dict[int, tuple[int, int]]:
    """One pair per observation of the day, from the LP's likeliest: improving changes of one
    observation's pair, or of two together (an exchange moves a site's amount by the
    difference of two sizes), of pair costs plus weight x (|amount - target| - band)+."""
    target, (weights, band) = goal
    k = len(inst.shares)
    obs = list(candidates)
    n, m = len(obs), max(len(c) for c in candidates.values())
    cost = np.full((n, m), np.inf)
    shift = np.zeros((n, m, 2, k))  # what each pair adds to the day's amounts
    choice = np.zeros(n, dtype=np.int64)
    for i, o in enumerate(obs):
        size = int(inst.size_mb[o])
        for j, (pair, _) in enumerate(candidates[o]):
            cost[i, j] = pair_cost(inst, plans, o, pair, churn_mb)
            shift[i, j, 0, pair[0]] = shift[i, j, 1, pair[1]] = size
        choice[i] = max(range(len(candidates[o])), key=lambda j: candidates[o][j][1])
    rows = np.arange(n)
    for _ in range(MAX_CHANGES):
        gap = shift[rows, choice].sum(axis=0) - target
        now = float((np.maximum(np.abs(gap) - band, 0) * weights).sum())
        change = shift - shift[rows, choice][:, None]  # [n, m, 2, k]
        single = (
            cost
            - cost[rows, choice][:, None]
            + (np.maximum(np.abs(gap + change) - band, 0) * weights).sum(axis=(2, 3))
            - now
        )
        single[~np.isfinite(single)] = np.inf
        i, j = (int(x) for x in np.unravel_index(int(np.argmin(single)), single.shape))
        gain, move = float(single[i, j]), [(i, j)]
        top = np.argsort(single, axis=None)[:PAIR_TRIES]
        ti, tj = np.unravel_index(top, single.shape)
        both = gap + change[ti, tj][:, None] + change[ti, tj][None, :]
        pair_gain = (
            (cost[ti, tj] - cost[ti, choice[ti]])[:, None]
            + (cost[ti, tj] - cost[ti, choice[ti]])[None, :]
            + (np.maximum(np.abs(both) - band, 0) * weights).sum(axis=(2, 3))
            - now
        )
        pair_gain[ti[:, None] == ti[None, :]] = np.inf  # two changes of one observation
        pair_gain[~np.isfinite(pair_gain)] = np.inf
        a, b = np.unravel_index(int(np.argmin(pair_gain)), pair_gain.shape)
        if pair_gain[a, b] < gain:
            gain = float(pair_gain[a, b])
            move = [(int(ti[a]), int(tj[a])), (int(ti[b]), int(tj[b]))]
        if gain >= -1e-6:
            break
        for i, j in move:
            choice[i] = j
    return {o: candidates[o][int(choice[i])][0] for i, o in enumerate(obs)}
