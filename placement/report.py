"""The plan report: sky map by primary site, share over time against target with
maintenance shaded, copies per site (PNGs), and a Markdown summary."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only, never a display

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from placement.calendar import day0, obs_days  # noqa: E402
from placement.model import SECONDS_PER_DAY, Plan, Problem  # noqa: E402


def _sky_map(problem: Problem, plan: Plan, path: Path) -> None:
    survey = problem.survey
    fig, ax = plt.subplots(figsize=(10, 5), subplot_kw={"projection": "mollweide"})
    ra = np.radians(((survey.obs_ra + 180) % 360) - 180)
    dec = np.radians(survey.obs_dec)
    for s, name in enumerate(problem.site_names):
        mine = plan.primary == s
        ax.scatter(ra[mine], dec[mine], s=1, label=name)
    ax.legend(markerscale=8, fontsize=7, loc="lower right")
    ax.set_title("Observations by primary site")
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _shares(problem: Problem, plan: Plan, path: Path) -> None:
    survey, rules, shares = problem.survey, problem.rules, problem.shares()
    days = obs_days(survey)
    n_days = int(days.max()) + 1
    per_day = np.zeros((n_days, len(shares)))
    np.add.at(per_day, (days, plan.primary), survey.obs_size_gb)
    width = min(rules.window_days, n_days)
    kernel = np.ones(width)
    rolled = np.stack(
        [np.convolve(per_day[:, s], kernel, mode="valid") for s in range(len(shares))], axis=1
    )
    rolled /= np.maximum(rolled.sum(axis=1, keepdims=True), 1e-9)
    fig, axes = plt.subplots(len(shares), 1, figsize=(10, 1.3 * len(shares)), sharex=True)
    first = day0(survey)
    for s, (ax, name) in enumerate(zip(np.atleast_1d(axes), problem.site_names, strict=True)):
        ax.plot(np.arange(len(rolled)), rolled[:, s], lw=0.8)
        ax.axhline(shares[s], color="k", lw=0.6)
        ax.axhspan(shares[s] - rules.tolerance, shares[s] + rules.tolerance, color="g", alpha=0.1)
        for window in problem.maintenance:
            if window.site == name:
                ax.axvspan(
                    (window.start - first) / SECONDS_PER_DAY,
                    (window.end - first) / SECONDS_PER_DAY,
                    color="r",
                    alpha=0.3,
                )
        ax.set_ylabel(name, fontsize=7)
    np.atleast_1d(axes)[-1].set_xlabel(
        f"window start (day); {rules.window_days}-day primary share vs target"
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _copies(problem: Problem, plan: Plan, path: Path) -> list[float]:
    survey = problem.survey
    link_site = np.repeat(plan.tile_site, np.diff(survey.tile_ptr))
    copied = (plan.primary[survey.tile_obs] != link_site) & (
        plan.secondary[survey.tile_obs] != link_site
    )
    per_site = np.bincount(
        link_site,
        weights=survey.obs_size_gb[survey.tile_obs] * copied,
        minlength=len(problem.sites),
    )
    fig, ax = plt.subplots(figsize=(8, 4))
    ax.bar(problem.site_names, per_site / 1000)
    ax.set_ylabel("TB copied in for tile processing")
    ax.set_title("Copies per processing site")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return [float(v) for v in per_site]


def write_report(
    problem: Problem, plan: Plan, check: Callable[[Problem, Plan], Any], out: Path
) -> list[Path]:
    """Write sky_map.png, shares.png, copies.png and summary.md into `out`."""
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / "sky_map.png", out / "shares.png", out / "copies.png", out / "summary.md"]
    _sky_map(problem, plan, paths[0])
    _shares(problem, plan, paths[1])
    per_site = _copies(problem, plan, paths[2])
    result = check(problem, plan)
    lines = ["# Placement plan summary", "", "| metric | value |", "|---|---|"]
    lines += [f"| {k} | {v:.6g} |" for k, v in result.metrics.items()]
    lines += ["", "| site | share target | copies in (GB) |", "|---|---|---|"]
    lines += [
        f"| {n} | {s:.2%} | {c:,.0f} |"
        for n, s, c in zip(problem.site_names, problem.shares(), per_site, strict=True)
    ]
    lines += ["", "## Hard constraints", ""]
    lines += [f"- {v}" for v in result.violations] or ["All hard constraints hold."]
    lines += ["", "![sky](sky_map.png)", "![shares](shares.png)", "![copies](copies.png)", ""]
    paths[3].write_text("\n".join(lines))
    return paths
