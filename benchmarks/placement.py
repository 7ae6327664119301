"""Placement benchmark: the solver against both baselines, measured in the same run.

    .venv/bin/python -m benchmarks.placement [--quick] [--workers 2]

(as a module: run as a plain script, this file would shadow the `placement` package)

Prints Markdown tables (copied into docs/benchmarks.md, section `## placement`):
full survey, 1-year surveys with other seeds / strip patterns / deep-field counts,
the quality proof (CP-SAT on 30- and 90-day sub-instances alongside the decomposed plan),
and re-plans after a new 10-day maintenance window (`--skip years proof` for the full
survey and the re-plans only). Speed and quality are printed as
ratios against the baselines, never asserted.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import multiprocessing
import resource
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from placement.baselines import baseline
from placement.check import check_plan
from placement.feasibility import InfeasibleError
from placement.files import read_maintenance, read_sites
from placement.generator import SurveySpec, generate_survey
from placement.lns import instance_of
from placement.model import SECONDS_PER_DAY, MaintenanceWindow, Plan, Problem
from placement.replan_model import fewest_moves
from placement.solve import SolveOptions, solve
from placement.window_model import Assignment, solve_window

CONFIG = Path(__file__).resolve().parents[1] / "config"


def _problem(spec: SurveySpec) -> Problem:
    sites = read_sites(CONFIG / "sites.yaml")
    maintenance = read_maintenance(CONFIG / "maintenance.yaml", [s.name for s in sites])
    return Problem(sites, maintenance, generate_survey(spec))


def _row(
    name: str, problem: Problem, plan: Plan, cost: tuple[float, float], base: dict[str, float]
) -> str:
    """One table row; `cost` is (wall seconds, peak RSS MB or nan), `base` the baselines'
    copied fractions (`rr`, `sky`, `rr_primary`)."""
    result = check_plan(problem, plan)
    m = result.metrics
    copied, primary_only = m["copies_fraction"], m["primary_only_copies_fraction"]
    rss = f"{cost[1]:.0f} MB" if cost[1] == cost[1] else "—"

    def ratio(value: float, against: float) -> str:
        return f"{value / against:.3f}x" if against else "—"

    return (
        f"| {name} | {copied:.3%} | {ratio(copied, base['rr'])} | {ratio(copied, base['sky'])} | "
        f"{primary_only:.2%} | {ratio(primary_only, base['rr_primary'])} | "
        f"{len(result.violations)} | {cost[0]:.1f} s | {rss} |"
    )


def _timed_solve(problem: Problem, options: SolveOptions) -> tuple[Plan, float, float]:
    """The solve in a fresh process (its own peak RSS, as `sdc placement solve` would have):
    the plan, wall seconds and peak RSS in MB."""
    t = time.monotonic()
    plan = solve(problem, options)
    seconds = time.monotonic() - t
    return plan, seconds, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def compare(label: str, spec: SurveySpec, options: SolveOptions) -> tuple[Problem, Plan]:
    """Both baselines and the solver on one generated survey."""
    problem = _problem(spec)
    survey = problem.survey
    print(
        f"\n### {label}: {spec.days} days, seed {spec.seed}, pattern {spec.pattern}, "
        f"{spec.deep_fields} deep fields — {survey.n_obs} observations, {survey.n_tiles} tiles\n"
    )
    print(
        "| plan | copies (p+s local) | vs round-robin | vs greedy-sky | primary only "
        "| primary only vs round-robin | violations | wall | peak RSS |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    t = time.monotonic()
    rr = baseline(problem, "round-robin")
    rr_cost = (time.monotonic() - t, float("nan"))
    t = time.monotonic()
    sky = baseline(problem, "greedy-sky")
    sky_cost = (time.monotonic() - t, float("nan"))
    rr_m, sky_m = check_plan(problem, rr).metrics, check_plan(problem, sky).metrics
    base = {
        "rr": rr_m["copies_fraction"],
        "sky": sky_m["copies_fraction"],
        "rr_primary": rr_m["primary_only_copies_fraction"],
    }
    print(_row("round-robin", problem, rr, rr_cost, base))
    print(_row("greedy-sky", problem, sky, sky_cost, base))
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=spawn) as pool:
        plan, seconds, rss = pool.submit(_timed_solve, problem, options).result()
    print(_row(f"**solver ({options.workers} workers)**", problem, plan, (seconds, rss), base))
    return problem, plan


def sub_instance(days: int, options: SolveOptions, exact_limit: float) -> None:
    """Decomposed plan vs CP-SAT on the whole sub-instance (hard bounds, hinted with the
    plan), with CP-SAT's proven lower bound: the optimum lies between that bound and the
    better of the two plans, and the gap is the decomposed plan minus the bound."""
    problem = _problem(SurveySpec(days=days, seed=1))
    t = time.monotonic()
    plan = solve(problem, dataclasses.replace(options, time_limit=min(options.time_limit, 10.0)))
    ours_seconds = time.monotonic() - t
    ours = check_plan(problem, plan).metrics["copies_fraction"]
    inst = instance_of(problem)
    state = Assignment(plan.primary.copy(), plan.secondary.copy(), plan.tile_site.copy())
    t = time.monotonic()
    every = np.arange(problem.survey.n_obs)
    _, bound_mb = solve_window(inst, state, every, exact_limit, options.workers, soft=False)
    exact_plan = Plan(state.primary, state.secondary, state.tile_site)
    exact = check_plan(problem, exact_plan)
    total_mb = exact.metrics["tile_input_gb"] * 1000
    bound = max(bound_mb, 0.0) / total_mb if np.isfinite(bound_mb) else 0.0
    best = min(ours, exact.metrics["copies_fraction"]) if exact.ok else ours
    proven = "optimal" if best - bound < 1e-9 else f"in [{bound:.3%}, {best:.3%}]"
    print(
        f"| {days} days ({problem.survey.n_obs} obs) | {ours:.3%} ({ours_seconds:.0f} s) | "
        f"{exact.metrics['copies_fraction']:.3%} ({time.monotonic() - t:.0f} s) | "
        f"{bound:.3%}{'' if np.isfinite(bound_mb) else ' (no bound returned: 0)'} | "
        f"{proven} | {(ours - bound) * 100:.2f} points |"
    )


def replan(
    problem: Problem, plan: Plan, options: SolveOptions, notice_days: int, site_index: int = 2
) -> None:
    """Add a 10-day outage of one site 100 days in, freeze work before `notice_days`
    earlier, re-plan.

    Prints the observations stranded (a role on the site in its outage), the fewest moves
    any valid re-plan needs (the ones that had to move, docs/placement.md: the LP lower
    bound rounded up, the free days within four windows of the outage free, the rest as
    it was), what the re-plan moved against both, and whether the issue's target (moved
    <= 1.5x the fewest, <= 10 s, copies <= +0.2 points) is met."""
    first = float(np.floor(problem.survey.obs_start.min() / SECONDS_PER_DAY) * SECONDS_PER_DAY)
    start = first + 100 * SECONDS_PER_DAY
    site = problem.site_names[site_index]
    outage = MaintenanceWindow(site, start, start + 10 * SECONDS_PER_DAY, "benchmark outage")
    changed = dataclasses.replace(
        problem,
        maintenance=[*problem.maintenance, outage],
        previous=plan,
        frozen_until=start - notice_days * SECONDS_PER_DAY,
    )
    latency = problem.rules.latency_days * SECONDS_PER_DAY
    starts = problem.survey.obs_start
    hit = (starts < outage.end) & (starts + latency > outage.start)
    stranded = int((hit & ((plan.primary == site_index) | (plan.secondary == site_index))).sum())
    inst = instance_of(changed)
    reach = 4 * problem.rules.window_days * SECONDS_PER_DAY
    near = (starts >= max(start - reach, changed.frozen_until or 0.0)) & (
        starts < outage.end + reach
    )
    previous = Assignment(plan.primary, plan.secondary, plan.tile_site)
    bound = fewest_moves(inst, previous, np.flatnonzero(near))
    fewest = None if bound is None else math.ceil(bound - 1e-6)
    shown = "none (LP infeasible)" if fewest is None else f"{fewest}"
    before = check_plan(problem, plan).metrics["copies_fraction"]
    label = f"{site} ({problem.shares()[site_index]:.1%}), {notice_days} days"
    t = time.monotonic()
    try:
        new = solve(changed, dataclasses.replace(options, time_limit=10.0))
    except InfeasibleError as exc:
        print(
            f"| {label} | {time.monotonic() - t:.1f} s | {stranded} | {shown} "
            f"| infeasible (exit 3): {exc} | {'yes' if fewest is None else '**no**'} |"
        )
        return
    seconds = time.monotonic() - t
    after = check_plan(changed, new)
    moved = int(after.metrics["moved_observations"])
    ratio = moved / fewest if fewest else float("inf") if moved else 1.0
    added = (after.metrics["copies_fraction"] - before) * 100
    met = after.ok and seconds <= 10.0 and added <= 0.2 and ratio <= 1.5
    print(
        f"| {label} | {seconds:.1f} s | {stranded} | {shown} | **{moved} = {ratio:.2f}x the "
        f"fewest** ({moved / max(stranded, 1):.1f}x the stranded), "
        f"{int(after.metrics['moved_tiles'])} tiles, copies {before:.3%} → "
        f"{after.metrics['copies_fraction']:.3%} ({added:+.2f} points), "
        f"{len(after.violations)} violations{'' if after.ok else ' (exit 1, nothing written)'} "
        f"| {'yes' if met else '**no**'} |"
    )


def replans(problem: Problem, plan: Plan, options: SolveOptions, which: str) -> None:
    """The re-plan table: SDC-DE (15%) at several notices, then (`which` = all) every site
    down at 90 days' notice, whichever the outage hits."""
    print(
        "\n| site down 10 days from day 100, notice | time | stranded | fewest moves (LP "
        "bound) | result | target met |\n|---|---|---|---|---|---|"
    )
    for notice in (10, 20, 30, 35, 40, 50, 70, 90):  # 35: only both roles together fail
        replan(problem, plan, options, notice)
    if which == "all":
        for site in range(len(problem.sites)):
            if site != 2:
                replan(problem, plan, options, 90, site)


def main() -> None:
    """Run every benchmark case and print the tables."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="1-year main case, shorter limits")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--time-limit", type=float, default=50.0)
    parser.add_argument("--skip", nargs="*", default=[], choices=["years", "proof", "replan"])
    parser.add_argument(
        "--replan-sites",
        choices=["all", "SDC-DE"],
        default="all",
        help="re-plan with each site down in turn (all), or SDC-DE at several notices only",
    )
    args = parser.parse_args()
    options = SolveOptions(time_limit=args.time_limit, workers=args.workers)
    days = 365 if args.quick else 2190
    problem, plan = compare("Full survey", SurveySpec(days=days, seed=1), options)
    print(
        "\npeak RSS of this process so far: "
        f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB"
    )
    if "replan" not in args.skip:
        replans(problem, plan, options, args.replan_sites)
    short = dataclasses.replace(options, time_limit=15.0)
    if "years" not in args.skip:  # surveys the solver was not tuned on
        if not args.quick:
            other_full = SurveySpec(days=2190, seed=7, pattern="raster", deep_fields=4)
            compare("Full survey, other seed, raster strips, 4 deep fields", other_full, options)
        for spec in (
            SurveySpec(days=365, seed=2, pattern="raster", deep_fields=2),
            SurveySpec(days=365, seed=3, pattern="interleaved", deep_fields=5),
            SurveySpec(days=365, seed=4, pattern="sun", deep_fields=1),
            SurveySpec(days=365, seed=5, pattern="raster", deep_fields=6),
        ):
            compare("1-year", spec, short)
    if "proof" in args.skip:
        return
    print("\n### Quality proof: CP-SAT on sub-instances\n")
    print(
        "| sub-instance | decomposed plan | CP-SAT (whole model, hinted) | CP-SAT bound "
        "| optimum | gap to bound |"
    )
    print("|---|---|---|---|---|---|")
    sub_instance(30, options, 30.0)
    sub_instance(90, options, 60.0)


if __name__ == "__main__":
    main()
