"""Moves a re-plan did not need, taken back: a moved observation returns to its previous pair
when every window of both roles still holds, storage too, and the copies it adds cost less
than the move (the churn of placement.replan).

The repair LP's rounding and the windows restored after it move observations one at a time,
each for the windows of its moment; once all have landed some of them are no longer needed
(another move made the room). On the benchmark this takes back a few percent of the moves.
"""

from __future__ import annotations

import numpy as np

from placement.calendar import obs_days
from placement.ledger import WindowLedger
from placement.model import BoolArray, Problem
from placement.replan_model import pair_cost
from placement.window_model import Assignment, Instance


def undo_moves(
    problem: Problem,
    inst: Instance,
    plans: tuple[Assignment, Assignment],
    movable: BoolArray,
    churn_mb: int,
) -> int:
    """Moved observations of `movable` put back on their previous pair in place in
    `plans[0]` (the state), those whose return adds the fewest copies first; how many."""
    state, before = plans
    survey, rules = problem.survey, problem.rules
    day, size = obs_days(survey), survey.obs_size_gb
    n_days = int(day.max()) + 1
    tolerance = rules.tolerance * (1 - 1e-6)
    ledgers = [
        WindowLedger(size, day, sites, problem.shares(), tolerance, rules.window_days, n_days)
        for sites in (state.primary, state.secondary)
    ]
    stored = np.zeros(len(problem.sites))
    np.add.at(stored, state.primary, size)
    np.add.at(stored, state.secondary, size)
    room = np.array([site.storage_tb * 1000.0 for site in problem.sites]) - stored
    moved = movable & ((state.primary != before.primary) | (state.secondary != before.secondary))
    rows = np.flatnonzero(moved)
    back = rows[inst.obs_up[rows, before.primary[rows]] & inst.obs_up[rows, before.secondary[rows]]]
    gain = {
        int(o): pair_cost(inst, plans, int(o), (int(state.primary[o]), int(state.secondary[o])), 0)
        - pair_cost(inst, plans, int(o), (int(before.primary[o]), int(before.secondary[o])), 0)
        for o in back
    }
    undone = 0
    for o in sorted(gain, key=lambda i: -gain[i]):
        if gain[o] + churn_mb <= 0:
            continue  # the copies it would add cost more than the move
        d, w = int(day[o]), float(size[o])
        now = (int(state.primary[o]), int(state.secondary[o]))
        then = (int(before.primary[o]), int(before.secondary[o]))
        extra = np.zeros(len(problem.sites))
        np.add.at(extra, list(then), w)
        np.add.at(extra, list(now), -w)
        if (extra > room + 1e-9).any():
            continue
        done = []
        for r in (0, 1):
            if now[r] != then[r]:
                if not ledgers[r].try_move(d, w, now[r], then[r]):
                    break
                done.append(r)
        else:
            state.primary[o], state.secondary[o] = then
            room -= extra
            undone += 1
            continue
        for r in done:  # one role would break a window: the other goes back too
            ledgers[r].force(d, w, then[r], now[r])
    return undone
