"""Infeasible input, found before solving and named precisely: which days, sites, constraint."""

from __future__ import annotations

import numpy as np

from placement.calendar import day0, obs_availability, obs_days, tile_availability
from placement.files import format_time
from placement.model import SECONDS_PER_DAY, IntArray, Problem


class InfeasibleError(Exception):
    """No plan satisfies the hard constraints; the message says where and why."""


def _day_list(problem: Problem, days: IntArray) -> str:
    first = day0(problem.survey)
    shown = [format_time(first + int(d) * SECONDS_PER_DAY)[:10] for d in days[:5]]
    more = f" and {len(days) - 5} more" if len(days) > 5 else ""
    return ", ".join(shown) + more


def precheck(problem: Problem) -> None:
    """Raise InfeasibleError for inputs no plan can satisfy (cheap necessary conditions)."""
    survey = problem.survey
    if survey.n_obs == 0:
        raise InfeasibleError("the survey has no observations")
    names = problem.site_names
    up = obs_availability(problem)
    short = up.sum(axis=1) < 2
    if short.any():
        days = np.unique(obs_days(survey)[short])
        down = sorted({names[s] for s in range(len(names)) if not up[short][:, s].all()})
        raise InfeasibleError(
            f"maintenance: fewer than two sites are up (primary != secondary) for "
            f"{int(short.sum())} observation(s) on {_day_list(problem, days)}; "
            f"down then: {', '.join(down)}"
        )
    tiles_up = tile_availability(problem)
    none = ~tiles_up.any(axis=1)
    if none.any():
        raise InfeasibleError(
            f"maintenance: no site is up to process {int(none.sum())} tile(s), "
            f"e.g. {survey.tile_ids[int(np.flatnonzero(none)[0])]}"
        )
    shares, tol = problem.shares(), problem.rules.tolerance
    total = float(survey.obs_size_gb.sum())
    need = 2 * total * np.maximum(shares - tol, 0.0)
    for s, site in enumerate(problem.sites):
        if need[s] > site.storage_tb * 1000.0:
            raise InfeasibleError(
                f"storage: {site.name} must hold at least {need[s] / 1000:.1f} TB "
                f"(its share {shares[s]:.1%} - {tol:.1%} of primaries and of secondaries) "
                f"but has {site.storage_tb:.1f} TB"
            )


def stretch_message(problem: Problem, stretches: list[tuple[int, int, int]]) -> str:
    """Explain why the share balance fails for the given (site, first day, end day) stretches."""
    first = day0(problem.survey)
    parts = []
    for s, lo, hi in stretches:
        parts.append(
            f"{problem.site_names[s]} over {format_time(first + lo * SECONDS_PER_DAY)[:10]}.."
            f"{format_time(first + (hi - 1) * SECONDS_PER_DAY)[:10]}"
        )
    return (
        f"balance: with its maintenance, a site's share of primary and secondary volume "
        f"cannot stay within ±{problem.rules.tolerance:.1%} of its capacity share in every "
        f"{problem.rules.window_days}-day window: " + "; ".join(parts)
    )
