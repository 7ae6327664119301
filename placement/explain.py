"""Why a site: for one observation or tile, the sites excluded (maintenance, balance,
storage) and the copies the chosen site avoids."""

from __future__ import annotations

import numpy as np

from placement.calendar import availability, obs_days, tile_ready
from placement.evaluate import window_deviation
from placement.files import format_time
from placement.model import SECONDS_PER_DAY, Plan, Problem


def _maintenance_reasons(problem: Problem, start: float) -> dict[str, str]:
    end = start + problem.rules.latency_days * SECONDS_PER_DAY
    reasons: dict[str, str] = {}
    for window in problem.maintenance:
        if window.start < end and window.end > start:
            reasons[window.site] = (
                f"maintenance {format_time(window.start)}..{format_time(window.end)} "
                f"({window.reason})"
            )
    return reasons


def _balance_reasons(problem: Problem, plan: Plan, day: int) -> dict[str, str]:
    """Sites at their upper share bound in a window containing `day` (no room for more)."""
    survey, rules, shares = problem.survey, problem.rules, problem.shares()
    days = obs_days(survey)
    n_days = int(days.max()) + 1
    deviation = window_deviation(
        survey.obs_size_gb, days, plan.primary, shares, rules.window_days, n_days
    )
    starts = np.arange(len(deviation) - 1)
    rows = 1 + starts[(starts <= day) & (starts + rules.window_days > day)]
    reasons = {}
    for s, name in enumerate(problem.site_names):
        worst = float(deviation[rows, s].max()) if len(rows) else 0.0
        if worst > rules.tolerance * 0.9:
            reasons[name] = (
                f"balance: primary share {shares[s] + worst:.2%} "
                f"near its cap {shares[s] + rules.tolerance:.2%}"
            )
    return reasons


def _storage_reasons(problem: Problem, plan: Plan) -> dict[str, str]:
    stored = np.zeros(len(problem.sites))
    np.add.at(stored, plan.primary, problem.survey.obs_size_gb)
    np.add.at(stored, plan.secondary, problem.survey.obs_size_gb)
    return {
        site.name: f"storage: {stored[s] / 1000:.0f} of {site.storage_tb:.0f} TB used"
        for s, site in enumerate(problem.sites)
        if stored[s] > 0.95 * site.storage_tb * 1000
    }


def explain(problem: Problem, plan: Plan, item: str) -> list[str]:
    """Lines explaining the sites of observation or tile `item`; KeyError if unknown."""
    survey, names = problem.survey, problem.site_names
    if item in survey.obs_ids:
        o = survey.obs_ids.index(item)
        start = float(survey.obs_start[o])
        chosen = {int(plan.primary[o]), int(plan.secondary[o])}
        lines = [
            f"{item}: primary {names[plan.primary[o]]}, secondary {names[plan.secondary[o]]} "
            f"(starts {format_time(start)})"
        ]
        tiles = np.flatnonzero(
            np.isin(np.arange(survey.n_tiles), survey.link_tiles()[survey.tile_obs == o])
        )
        avoided = sum(
            float(survey.obs_size_gb[o]) for t in tiles if int(plan.tile_site[t]) in chosen
        )
        lines.append(
            f"inputs of {len(tiles)} tile(s); "
            f"local for {sum(int(plan.tile_site[t]) in chosen for t in tiles)}: "
            f"{avoided:.1f} GB of copies avoided"
        )
        day = int(obs_days(survey)[o])
        reasons = [
            _maintenance_reasons(problem, start),
            _balance_reasons(problem, plan, day),
            _storage_reasons(problem, plan),
        ]
    elif item in survey.tile_ids:
        t = survey.tile_ids.index(item)
        ready = float(tile_ready(survey)[t])
        inputs = survey.tile_inputs(t)
        local = np.zeros(len(names))
        for o in inputs:
            local[plan.primary[o]] += survey.obs_size_gb[o]
            local[plan.secondary[o]] += survey.obs_size_gb[o]
        site = int(plan.tile_site[t])
        total = float(survey.obs_size_gb[inputs].sum())
        lines = [
            f"{item}: processed at {names[site]} (ready {format_time(ready)}), "
            f"{len(inputs)} input(s), {total:.1f} GB",
            f"local at {names[site]}: {local[site]:.1f} GB; copies avoided {local[site]:.1f} GB, "
            f"copied {total - local[site]:.1f} GB",
        ]
        up = availability(
            np.array([ready]), problem.rules.latency_days, names, problem.maintenance
        )[0]
        reasons = [_maintenance_reasons(problem, ready)]
        for s in np.argsort(-local):
            if s != site and local[s] > 0:
                lines.append(
                    f"  {names[s]} holds {local[s]:.1f} GB of the inputs"
                    + ("" if up[s] else " (down)")
                )
    else:
        raise KeyError(item)
    for name in names:
        why = [r[name] for r in reasons if name in r]
        if why:
            lines.append(f"  {name} excluded or constrained: " + "; ".join(why))
    return lines
