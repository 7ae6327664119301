"""Re-planning by single moves (the fallback of placement.replan, and how tiles are
restored): work stranded on a site that went down moves first, then each window left out of
bounds is restored by moving items on its own days, preferring items that already moved
(they add nothing to the churn) and the moves that lose the least local input volume; when
single moves get stuck, the LP of placement.shift moves a role's daily amounts. Frozen work
never moves.
"""

from __future__ import annotations

import math
import time

import numpy as np

from placement.calendar import (
    day0,
    obs_availability,
    obs_days,
    tile_availability,
    tile_days,
    tile_ready,
)
from placement.feasibility import InfeasibleError
from placement.files import format_time
from placement.ledger import WindowLedger
from placement.model import SECONDS_PER_DAY, BoolArray, FloatArray, IntArray, Plan, Problem
from placement.rebalance import FORBIDDEN, obs_values, tile_values
from placement.shift import MARGIN, realise, shifted_amounts
from placement.size_swap import MOVED_AGAIN, size_swap

MAX_REPAIRS = 20000  # moves per role while restoring windows
CHAIN_TRIES = 12  # candidates (and partners each) tried for a two-move chain
REPAIR_REACH = 4  # windows on each side of the stranded work the LP may use: as far as the
# repair reaches, so that its "no solution" holds for every re-plan the repair could make


def restore(
    value: FloatArray,
    sites: IntArray,
    ledger: WindowLedger,
    weights: FloatArray,
    days: IntArray,
    movable: BoolArray,
    moved: BoolArray,
    deadline: float = math.inf,
) -> bool:
    """Move items until every window of `ledger` is within bounds; False if stuck or past
    `deadline` (time.monotonic()).

    value[i, s]: worth of item i at s (FORBIDDEN where it may not go). `moved` is updated.
    """
    order = np.argsort(days, kind="stable")
    n_days = int(days.max()) + 1
    ptr = np.searchsorted(days[order], np.arange(n_days + 1))
    stuck = np.zeros(ledger.amount.shape, dtype=np.bool_)  # no move found; retried after one lands
    for _ in range(MAX_REPAIRS):
        if time.monotonic() > deadline:
            return False
        over = ledger.amount - ledger.high
        under = ledger.low - ledger.amount
        worst = np.where(stuck, -np.inf, np.maximum(over, under))
        w, s = (int(x) for x in np.unravel_index(int(np.argmax(worst)), worst.shape))
        if worst[w, s] <= 1e-9:
            return not stuck.any()
        lo, hi = (0, n_days) if w == 0 else (w - 1, int(min(w - 1 + ledger.length, n_days)))
        pool = order[ptr[lo] : ptr[hi]]
        pool = pool[movable[pool]]
        if over[w, s] > 0:  # s has too much: its items go to any other site, cheapest first
            pool = pool[sites[pool] == s]
            allowed = value[pool] > FORBIDDEN
            allowed[:, s] = False
            rows, dest = np.nonzero(allowed)
            pool = pool[rows]
        else:  # s has too little: items elsewhere that may go to s come
            pool = pool[(sites[pool] != s) & (value[pool, s] > FORBIDDEN)]
            dest = np.full(len(pool), s)
        loss = value[pool, sites[pool]] - value[pool, dest] - MOVED_AGAIN * moved[pool]
        landed = False
        for j in np.argsort(loss, kind="stable").tolist():
            i, b = int(pool[j]), int(dest[j])
            if ledger.try_move(int(days[i]), float(weights[i]), int(sites[i]), b):
                sites[i] = b
                moved[i] = True
                landed = True
                break
        if not landed and over[w, s] <= 0:
            ranked = pool[np.argsort(loss, kind="stable")][:CHAIN_TRIES]
            span = (lo, hi)
            landed = _chain(value, sites, ledger, weights, days, movable, moved, (order, ptr),
                            ranked, s, span)  # fmt: skip
        if not landed:
            members = order[ptr[lo] : ptr[hi]]
            need = float(over[w, s]) if over[w, s] > 0 else -float(under[w, s])
            landed = size_swap(value, sites, ledger, weights, days, members[movable[members]],
                                (s, need), moved)  # fmt: skip
        if landed:
            stuck[:] = False
        else:
            stuck[w, s] = True
    return False


def _chain(
    value: FloatArray,
    sites: IntArray,
    ledger: WindowLedger,
    weights: FloatArray,
    days: IntArray,
    movable: BoolArray,
    moved: BoolArray,
    by_day: tuple[IntArray, IntArray],
    candidates: IntArray,
    s: int,
    span: tuple[int, int],
) -> bool:
    """Two moves: an item of `s` outside the window `span` leaves `s` so that a candidate
    inside it can come to `s` without pushing another window over its bound."""
    order, ptr = by_day
    n_days = len(ptr) - 1
    for i in candidates.tolist():
        d, w = int(days[i]), float(weights[i])
        rows = ledger.rows(d)
        blocked = rows[ledger.amount[rows, s] + w > ledger.high[rows, s] + 1e-9]
        if not len(blocked):  # s has room: the move fails at its source, no chain via s helps
            continue
        firsts = [0 if r == 0 else r - 1 for r in blocked.tolist()]
        lo = min(firsts)
        hi = min(n_days, max(n_days if r == 0 else r - 1 + ledger.length for r in blocked.tolist()))
        pool = order[ptr[lo] : ptr[hi]]
        pool = pool[movable[pool] & (sites[pool] == s)]
        pool = pool[(days[pool] < span[0]) | (days[pool] >= span[1])]
        masked = np.where(value[pool] <= FORBIDDEN, -np.inf, value[pool])
        masked[:, s] = -np.inf
        dest = np.argmax(masked, axis=1)
        loss = value[pool, s] - masked[np.arange(len(pool)), dest] - MOVED_AGAIN * moved[pool]
        for j in np.argsort(loss, kind="stable")[:CHAIN_TRIES].tolist():
            o, b = int(pool[j]), int(dest[j])
            if not np.isfinite(masked[j, b]):
                continue
            if not ledger.try_move(int(days[o]), float(weights[o]), s, b):
                continue
            if ledger.try_move(d, w, int(sites[i]), s):
                sites[o], sites[i] = b, s
                moved[o] = moved[i] = True
                return True
            ledger.force(int(days[o]), float(weights[o]), b, s)
    return False


def replan_by_moves(problem: Problem, deadline: float = math.inf) -> tuple[Plan, bool]:
    """The previous plan with stranded work moved and windows restored; True when every
    window is within bounds."""
    assert problem.previous is not None
    survey, rules, prev = problem.survey, problem.rules, problem.previous
    shares, size = problem.shares(), survey.obs_size_gb
    tolerance = rules.tolerance * (1 - 1e-6)
    day, t_day = obs_days(survey), tile_days(survey)
    n_days = int(max(day.max(), t_day.max())) + 1
    obs_up, tile_up = obs_availability(problem), tile_availability(problem)
    primary, secondary, tile_site = (
        prev.primary.copy(),
        prev.secondary.copy(),
        prev.tile_site.copy(),
    )
    obs_free = np.ones(survey.n_obs, dtype=np.bool_)
    tiles_free = np.ones(survey.n_tiles, dtype=np.bool_)
    if problem.frozen_until is not None:
        obs_free = survey.obs_start >= problem.frozen_until
        tiles_free = tile_ready(survey) >= problem.frozen_until
    moved = np.zeros(survey.n_obs, dtype=np.bool_)
    ok = True
    for role, mine, other in (("primary", primary, secondary), ("secondary", secondary, primary)):
        value = obs_values(survey, mine, other, tile_site, obs_up)
        rows = np.arange(survey.n_obs)
        stranded = np.flatnonzero(~obs_up[rows, mine] & obs_free)
        down = sorted({problem.site_names[int(x)] for x in mine[stranded]})
        mine[stranded] = np.argmax(value[stranded], axis=1)
        moved[stranded] = True
        # single moves first (fewest moves); when they get stuck, the LP shift from scratch
        start, start_moved = mine.copy(), moved.copy()
        ledger = WindowLedger(size, day, mine, shares, tolerance, rules.window_days, n_days)
        if restore(value, mine, ledger, size, day, obs_free, moved, deadline):
            continue
        mine[:], moved[:] = start, start_moved
        if len(stranded):
            swap_with = other if role == "primary" else None  # secondaries are restored after
            _shift(problem, role, value, (mine, swap_with), day, obs_free, moved,
                   (day[stranded], down), obs_up)  # fmt: skip
        ledger = WindowLedger(size, day, mine, shares, tolerance, rules.window_days, n_days)
        ok &= restore(value, mine, ledger, size, day, obs_free, moved, deadline)
    value = tile_values(survey, primary, secondary, tile_up)
    tiles_moved = np.zeros(survey.n_tiles, dtype=np.bool_)
    stranded = np.flatnonzero(~tile_up[np.arange(survey.n_tiles), tile_site] & tiles_free)
    tile_site[stranded] = np.argmax(value[stranded], axis=1)
    tiles_moved[stranded] = True
    ones = np.ones(survey.n_tiles)
    ledger = WindowLedger(ones, t_day, tile_site, shares, tolerance, rules.tile_window_days, n_days)
    ok &= restore(value, tile_site, ledger, ones, t_day, tiles_free, tiles_moved, deadline)
    return Plan(primary, secondary, tile_site), bool(ok)


def refuse_if_infeasible(problem: Problem) -> None:
    """InfeasibleError when even the relaxation of placement.shift (any site that is up may
    take any role) cannot restore a role's windows around the stranded work: one LP per
    role, so an impossible re-plan is named before any repair is tried."""
    assert problem.previous is not None
    survey = problem.survey
    day, obs_up = obs_days(survey), obs_availability(problem)
    obs_free = np.ones(survey.n_obs, dtype=np.bool_)
    if problem.frozen_until is not None:
        obs_free = survey.obs_start >= problem.frozen_until
    rows = np.arange(survey.n_obs)
    for role, mine in (
        ("primary", problem.previous.primary),
        ("secondary", problem.previous.secondary),
    ):
        stranded = np.flatnonzero(~obs_up[rows, mine] & obs_free)
        sites = mine.copy()
        sites[stranded] = np.argmax(obs_up[stranded], axis=1)
        # outages far apart are independent: one small LP each (one over years is slow)
        by_day = stranded[np.argsort(day[stranded], kind="stable")]
        cuts = np.flatnonzero(np.diff(day[by_day]) > 4 * problem.rules.window_days) + 1
        for group in np.split(by_day, cuts) if len(by_day) else []:
            down = sorted({problem.site_names[int(x)] for x in mine[group]})
            _shift_target(problem, role, sites, day, obs_free, (day[group], down), obs_up)


def _shift(
    problem: Problem,
    role: str,
    value: FloatArray,
    roles: tuple[IntArray, IntArray | None],
    day: IntArray,
    movable: BoolArray,
    moved: BoolArray,
    stranded: tuple[IntArray, list[str]],
    obs_up: BoolArray,
) -> None:
    """Move the daily amounts of one role around the affected days by the LP of
    placement.shift; InfeasibleError when no amounts keep the windows within tolerance.

    stranded: the days of the roles that had to leave a site gone down, and those sites."""
    sites, other = roles
    target = _shift_target(problem, role, sites, day, movable, stranded, obs_up)
    realise(target, sites, value, problem.survey.obs_size_gb, day, movable, moved, other)


def _shift_target(
    problem: Problem,
    role: str,
    sites: IntArray,
    day: IntArray,
    movable: BoolArray,
    stranded: tuple[IntArray, list[str]],
    obs_up: BoolArray,
) -> FloatArray:
    """The LP's daily amounts of one role per site (within MARGIN x tolerance if it can,
    else the full tolerance); InfeasibleError naming the stretch when none exist."""
    affected, down = stranded
    survey, rules = problem.survey, problem.rules
    size, k = survey.obs_size_gb, len(problem.sites)
    n_days = int(day.max()) + 1
    first_free = int(day[movable].min()) if movable.any() else n_days
    reach = REPAIR_REACH * rules.window_days
    lo = max(first_free, int(affected.min()) - reach)
    hi = min(n_days, int(affected.max()) + reach)
    current = np.zeros((n_days, k))
    np.add.at(current, (day, sites), size)
    capacity = np.zeros((n_days, k))
    np.add.at(capacity, (day[~movable], sites[~movable]), size[~movable])
    # any site up may hold the role (the other role could move too): the LP is a relaxation,
    # so when it has no solution no plan has one
    allowed = movable[:, None] & obs_up
    capacity += np.stack(
        [np.bincount(day, weights=size * allowed[:, s], minlength=n_days) for s in range(k)],
        axis=1,
    )
    shares = problem.shares()
    target = shifted_amounts(
        current, capacity, shares, rules.tolerance, rules.window_days, (lo, hi)
    )
    if target is None:
        exact = shifted_amounts(
            current, capacity, shares, rules.tolerance / MARGIN, rules.window_days, (lo, hi)
        )
        if exact is None:
            first = format_time(day0(survey) + lo * SECONDS_PER_DAY)[:10]
            last = format_time(day0(survey) + (hi - 1) * SECONDS_PER_DAY)[:10]
            raise InfeasibleError(
                f"balance: with the work before the frozen date kept, no re-plan keeps every "
                f"site's {role} share within ±{rules.tolerance:.1%} in the {rules.window_days}-day "
                f"windows between {first} and {last}: {len(affected)} {role} role(s) of "
                f"{', '.join(down)} fall in its new maintenance and cannot be made up on the "
                f"free days around it"
            )
        target = exact
    return target
