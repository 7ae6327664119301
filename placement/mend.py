"""A pass's plan with a few windows left just out of bounds, mended by chains of moves.

The local search's restore (placement.rebalance.restore) tries single moves and same-day
partners. After an outage the catch-up leaves a sawtooth: a window holding the outage is a
few GB short for the site while the next window, holding only catch-up days, is at its top,
so no single move fits (full survey seed 7: SDC-ES 1 GB short in one window, four passes
of eight thrown away). The re-plan's restore (placement.replan_moves.restore) adds
two-move chains (a move out of the site after the short window makes room for one into it)
and size swaps; it knows nothing of storage, so a mended plan that overfills a site is
refused.
"""

from __future__ import annotations

import time

import numpy as np

from placement.calendar import (
    obs_availability,
    obs_days,
    tile_availability,
    tile_days,
    tile_ready,
)
from placement.ledger import WindowLedger
from placement.model import Plan, Problem
from placement.rebalance import obs_values, tile_values
from placement.replan_moves import restore

MEND_SECONDS = 2.0  # at most, per plan


def mend(problem: Problem, plan: Plan) -> Plan | None:
    """`plan` with every window back within bounds, or None when the chains cannot (or the
    result overfills some site's storage)."""
    survey, rules = problem.survey, problem.rules
    deadline = time.monotonic() + MEND_SECONDS
    shares, size = problem.shares(), survey.obs_size_gb
    day, t_day = obs_days(survey), tile_days(survey)
    n_days = int(max(day.max(), t_day.max())) + 1
    tolerance = rules.tolerance * (1 - 1e-6)
    obs_up, tile_up = obs_availability(problem), tile_availability(problem)
    obs_ok = np.ones(survey.n_obs, dtype=np.bool_)
    tiles_ok = np.ones(survey.n_tiles, dtype=np.bool_)
    if problem.previous is not None and problem.frozen_until is not None:
        obs_ok = survey.obs_start >= problem.frozen_until
        tiles_ok = tile_ready(survey) >= problem.frozen_until
    primary, secondary = plan.primary.copy(), plan.secondary.copy()
    tile_site = plan.tile_site.copy()
    for mine, other in ((primary, secondary), (secondary, primary)):
        ledger = WindowLedger(size, day, mine, shares, tolerance, rules.window_days, n_days)
        if ledger.out_of_bounds():
            value = obs_values(survey, mine, other, tile_site, obs_up)
            moved = np.zeros(survey.n_obs, dtype=np.bool_)
            if not restore(value, mine, ledger, size, day, obs_ok, moved, deadline):
                return None
    ones = np.ones(survey.n_tiles)
    ledger = WindowLedger(ones, t_day, tile_site, shares, tolerance, rules.tile_window_days,
                          n_days)  # fmt: skip
    if ledger.out_of_bounds():
        value = tile_values(survey, primary, secondary, tile_up)
        moved = np.zeros(survey.n_tiles, dtype=np.bool_)
        if not restore(value, tile_site, ledger, ones, t_day, tiles_ok, moved, deadline):
            return None
    stored = np.bincount(primary, weights=size, minlength=len(shares))
    stored += np.bincount(secondary, weights=size, minlength=len(shares))
    if (stored > np.array([s.storage_tb * 1000.0 for s in problem.sites]) + 1e-6).any():
        return None
    return Plan(primary, secondary, tile_site)
