"""The independent validator: every metric and hard constraint recomputed from the files alone.

Deliberately shares no code with the solver beyond the file readers and the plain model
types, so a solver bug cannot hide behind the same bug here.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from placement.files import format_time
from placement.model import FloatArray, IntArray, Plan, Problem

DAY = 86400.0
EPSILON = 1e-9


@dataclass
class CheckResult:
    """Metrics and the hard-constraint violations found (empty list: the plan is valid)."""

    metrics: dict[str, float] = field(default_factory=dict)
    violations: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when no hard constraint is violated."""
        return not self.violations


def _days(starts: FloatArray) -> IntArray:
    # Calendar days via numpy datetime64, counted from the first observation's date.
    dates = (starts * 1e6).astype("datetime64[us]").astype("datetime64[D]").astype(np.int64)
    return np.asarray(dates - dates.min(), dtype=np.int64) if len(dates) else dates


def copy_volumes(problem: Problem, plan: Plan) -> tuple[float, float, float]:
    """Tile-input volume, volume copied (primary+secondary local) and primary-only copies."""
    survey = problem.survey
    total = copied = copied_primary = 0.0
    for t in range(survey.n_tiles):
        site = plan.tile_site[t]
        for o in survey.tile_obs[survey.tile_ptr[t] : survey.tile_ptr[t + 1]]:
            size = float(survey.obs_size_gb[o])
            total += size
            if plan.primary[o] != site:
                copied_primary += size
                if plan.secondary[o] != site:
                    copied += size
    return total, copied, copied_primary


def _balance(
    name: str,
    values: FloatArray,
    days: IntArray,
    sites: IntArray,
    shares: FloatArray,
    problem: Problem,
    length: int,
    out: CheckResult,
    first_day: float,
    n_days: int,
) -> None:
    """Share of `values` per site over the horizon and every `length`-day window."""
    tol = problem.rules.tolerance
    names = problem.site_names
    per_day = np.zeros((n_days + 1, len(names)))
    np.add.at(per_day, (days + 1, sites), values)
    cum = per_day.cumsum(axis=0)
    worst = 0.0
    starts = list(range(max(1, n_days - length + 1)))
    spans = [(0, n_days, "horizon")] + [(d, min(d + length, n_days), "window") for d in starts]
    reported = 0
    for lo, hi, kind in spans:
        window = cum[hi] - cum[lo]
        total = window.sum()
        if total <= 0:
            continue
        deviation = window / total - shares
        worst = max(worst, float(np.abs(deviation).max()))
        for s in np.flatnonzero(np.abs(deviation) > tol + EPSILON):
            if reported < 5:
                begin, end = (
                    format_time(first_day + lo * DAY),
                    format_time(first_day + (hi - 1) * DAY),
                )
                when = f"{begin[:10]}..{end[:10]}"
                out.violations.append(
                    f"{name} share of {names[s]} is {window[s] / total:.2%} over {kind} {when}, "
                    f"target {shares[s]:.2%} ± {tol:.2%}"
                )
            reported += 1
    if reported > 5:
        out.violations.append(f"{name} share: {reported - 5} more window violations")
    out.metrics[f"max_{name}_share_deviation"] = worst


def _maintenance(problem: Problem, plan: Plan, out: CheckResult) -> None:
    survey, latency = problem.survey, problem.rules.latency_days * DAY
    ready = np.array(
        [
            survey.obs_start[survey.tile_obs[survey.tile_ptr[t] : survey.tile_ptr[t + 1]]].max()
            for t in range(survey.n_tiles)
        ]
    )
    names = problem.site_names
    count = 0
    for window in problem.maintenance:
        s = names.index(window.site)
        for role, begin, chosen, ids in (
            ("primary", survey.obs_start, plan.primary, survey.obs_ids),
            ("secondary", survey.obs_start, plan.secondary, survey.obs_ids),
            ("tile", ready, plan.tile_site, survey.tile_ids),
        ):
            clash = (chosen == s) & (begin < window.end) & (begin + latency > window.start)
            for i in np.flatnonzero(clash)[: max(0, 5 - count)]:
                out.violations.append(
                    f"maintenance: {ids[i]} has {role} {window.site}, down "
                    f"{format_time(window.start)}..{format_time(window.end)} ({window.reason})"
                )
            count += int(clash.sum())
    if count > 5:
        out.violations.append(f"maintenance: {count - 5} more assignments to sites that are down")


def check_plan(problem: Problem, plan: Plan) -> CheckResult:
    """Recompute every metric and hard constraint of `plan` for `problem`."""
    out = CheckResult()
    survey, names = problem.survey, problem.site_names
    k = len(names)
    for label, arr in (
        ("primary", plan.primary),
        ("secondary", plan.secondary),
        ("tile", plan.tile_site),
    ):
        if len(arr) and (arr.min() < 0 or arr.max() >= k):
            out.violations.append(f"{label}: site index out of range")
            return out
    same = np.flatnonzero(plan.primary == plan.secondary)
    for i in same[:5]:
        out.violations.append(
            f"{survey.obs_ids[i]}: primary and secondary are both {names[plan.primary[i]]}"
        )
    if len(same) > 5:
        out.violations.append(f"primary == secondary for {len(same) - 5} more observations")
    _maintenance(problem, plan, out)
    weights = np.array(
        [s.weight if s.weight is not None else s.cores for s in problem.sites], dtype=float
    )
    shares = weights / weights.sum()
    if survey.n_obs:
        days = _days(survey.obs_start)
        first = float(np.floor(survey.obs_start.min() / DAY) * DAY)
        size = survey.obs_size_gb
        n_days = int(days.max()) + 1  # the horizon: first to last observation day
        for role, chosen in (("primary", plan.primary), ("secondary", plan.secondary)):
            window = problem.rules.window_days
            _balance(role, size, days, chosen, shares, problem, window, out, first, n_days)
        ready = np.array(
            [
                survey.obs_start[survey.tile_obs[survey.tile_ptr[t] : survey.tile_ptr[t + 1]]].max()
                for t in range(survey.n_tiles)
            ]
        )
        if survey.n_tiles:
            tdays = _days(np.concatenate([[survey.obs_start.min()], ready]))[1:]
            ones = np.ones(survey.n_tiles)
            _balance(
                "tile",
                ones,
                tdays,
                plan.tile_site,
                shares,
                problem,
                problem.rules.tile_window_days,
                out,
                first,
                n_days,
            )
    stored = np.zeros(k)
    np.add.at(stored, plan.primary, survey.obs_size_gb)
    np.add.at(stored, plan.secondary, survey.obs_size_gb)
    for s, site in enumerate(problem.sites):
        if stored[s] > site.storage_tb * 1000.0 + EPSILON:
            out.violations.append(
                f"storage: {site.name} stores {stored[s] / 1000:.1f} TB > {site.storage_tb:.1f} TB"
            )
    _frozen(problem, plan, out)
    total, copied, copied_primary = copy_volumes(problem, plan)
    out.metrics.update(
        tile_input_gb=total,
        copies_gb=copied,
        copies_fraction=copied / total if total else 0.0,
        primary_only_copies_fraction=copied_primary / total if total else 0.0,
        violations=float(len(out.violations)),
    )
    if problem.previous is not None:
        prev = problem.previous
        moved = (prev.primary != plan.primary) | (prev.secondary != plan.secondary)
        out.metrics["moved_observations"] = float(moved.sum())
        out.metrics["moved_tiles"] = float((prev.tile_site != plan.tile_site).sum())
    return out


def _frozen(problem: Problem, plan: Plan, out: CheckResult) -> None:
    """Work that starts before `frozen_until` must keep the previous plan's sites."""
    prev, until, survey = problem.previous, problem.frozen_until, problem.survey
    if prev is None or until is None:
        return
    frozen = survey.obs_start < until
    moved = frozen & ((prev.primary != plan.primary) | (prev.secondary != plan.secondary))
    for i in np.flatnonzero(moved)[:5]:
        out.violations.append(
            f"frozen: {survey.obs_ids[i]} starts before {format_time(until)} but moved"
        )
    ready = np.array(
        [
            survey.obs_start[survey.tile_obs[survey.tile_ptr[t] : survey.tile_ptr[t + 1]]].max()
            for t in range(survey.n_tiles)
        ]
    )
    tiles_moved = (ready < until) & (prev.tile_site != plan.tile_site)
    for t in np.flatnonzero(tiles_moved)[:5]:
        out.violations.append(
            f"frozen: {survey.tile_ids[t]} is ready before {format_time(until)} but moved"
        )
