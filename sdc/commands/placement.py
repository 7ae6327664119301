"""`sdc placement`: primary/secondary SDC per observation, processing SDC per tile.

Commands parse arguments, call `placement`, print; the planner itself is pure.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console

# the choices named in the commands' help; everything else is imported where it is used
from placement.baselines import METHODS
from placement.generator import PATTERNS
from sdc.commands.common import EXIT_ERROR, EXIT_INFEASIBLE, fail, settings_of

if TYPE_CHECKING:
    from placement.config import PlacementConfig
    from placement.model import Plan, Problem
    from placement.solve import Progress

app = typer.Typer(no_args_is_help=True)  # its help: sdc.cli.AREAS
console = Console()

SURVEY = typer.Option(..., "--survey", help="Survey directory (observations.csv, tiles.csv).")
SITES = typer.Option(None, "--sites", help="sites.yaml (default: settings placement.sites_file).")
MAINTENANCE = typer.Option(None, "--maintenance", help="maintenance.yaml (default: settings).")
PREVIOUS = typer.Option(None, "--previous", help="Previous plan.json (re-plan, churn).")
FROZEN = typer.Option(None, "--frozen-until", help="ISO 8601 UTC: work before it keeps its sites.")
JSON = typer.Option(False, "--json", help="Machine-readable output.")


def _config(ctx: typer.Context) -> PlacementConfig:
    config: PlacementConfig = settings_of(ctx).placement
    return config


def _problem(
    ctx: typer.Context,
    survey: Path,
    sites: Path | None,
    maintenance: Path | None,
    previous: Path | None = None,
    frozen_until: str | None = None,
) -> Problem:
    from placement.files import InputError
    from placement.problem_files import load_problem

    config = _config(ctx)
    if frozen_until and previous is None:
        fail("--frozen-until needs --previous (the plan whose assignments are frozen)", 2)
    # the defaults are relative to the repository: from anywhere else "config/sites.yaml:
    # cannot read" did not say it was a default nor how to give the file
    for option, given, default, setting in (
        ("--sites", sites, config.sites_file, "sites_file"),
        ("--maintenance", maintenance, config.maintenance_file, "maintenance_file"),
    ):
        if given is None and not default.exists():
            fail(
                f"no {option} given, and its default {default} (setting placement.{setting}) "
                f"does not exist here: give {option} FILE"
            )
    try:
        return load_problem(
            survey,
            sites or config.sites_file,
            maintenance or config.maintenance_file,
            config.rules(),
            previous,
            frozen_until,
        )
    except InputError as exc:
        fail(str(exc))


def _read_plan(path: Path, problem: Problem) -> Plan:
    from placement.files import InputError, read_plan

    try:
        return read_plan(path, problem.survey, problem.site_names, exact=True)
    except InputError as exc:
        fail(str(exc))


def _print_metrics(metrics: dict[str, float], title: str) -> None:
    from rich.table import Table

    table = Table(title=title)
    table.add_column("metric")
    table.add_column("value", justify="right")
    for name, value in metrics.items():
        if "fraction" in name or "deviation" in name:
            shown = f"{value:.4%}"
        elif float(value).is_integer() and not name.endswith(("_gb", "_seconds")):
            shown = f"{value:,.0f}"  # counts: "994 observations", not "994.000"
        else:
            shown = f"{value:,.3f}"
        table.add_row(name, shown)
    console.print(table)


@app.command("generate-survey")
def generate_survey_command(
    out: Path = typer.Option(..., "--out", help="Directory to write observations.csv, tiles.csv."),
    days: int = typer.Option(2190, "--days", min=1, help="Survey length in days."),
    seed: int = typer.Option(1, "--seed", help="Random seed (same seed, same survey)."),
    pattern: str = typer.Option("sun", "--pattern", help=f"Strip order: {', '.join(PATTERNS)}."),
    deep_fields: int = typer.Option(3, "--deep-fields", min=0, help="Deep fields revisited."),
) -> None:
    """Generate a Euclid-like synthetic survey."""
    from placement.files import write_survey
    from placement.generator import SurveySpec, generate_survey

    if pattern not in PATTERNS:
        fail(f"--pattern: unknown strip pattern {pattern!r}; choose from {', '.join(PATTERNS)}", 2)
    survey = generate_survey(
        SurveySpec(days=days, seed=seed, pattern=pattern, deep_fields=deep_fields)
    )
    write_survey(survey, out)
    console.print(f"wrote {survey.n_obs} observations and {survey.n_tiles} tiles to {out}")


@app.command("solve")
def solve_command(
    ctx: typer.Context,
    survey: Path = SURVEY,
    out: Path = typer.Option(..., "--out", help="plan.json to write."),
    sites: Path | None = SITES,
    maintenance: Path | None = MAINTENANCE,
    time_limit: float | None = typer.Option(
        None, "--time-limit", help="Seconds (default: settings)."
    ),
    workers: int | None = typer.Option(None, "--workers", min=1, help="CP-SAT workers."),
    previous: Path | None = PREVIOUS,
    frozen_until: str | None = FROZEN,
    seed: int = typer.Option(0, "--seed", help="CP-SAT random seed."),
) -> None:
    """Solve the placement; exit 3 (and write nothing) when the input is infeasible."""
    from rich.progress import Progress as RichProgress

    from placement.check import check_plan
    from placement.feasibility import InfeasibleError
    from placement.files import write_plan
    from placement.solve import SolveOptions, solve

    config = _config(ctx)
    if not out.parent.is_dir():  # said before the solve, not after minutes of it
        fail(f"--out {out}: no directory {out.parent} to write the plan in")
    problem = _problem(ctx, survey, sites, maintenance, previous, frozen_until)
    options = SolveOptions(
        time_limit=time_limit if time_limit is not None else config.time_limit,
        workers=workers or config.workers,
        seed=seed,
    )
    with RichProgress(console=console, transient=True) as bar:
        task = bar.add_task("starting", total=1.0)

        def show(p: Progress) -> None:
            bar.update(
                task,
                completed=p.done,
                description=f"{p.phase}: incumbent {p.incumbent_gb:,.0f} GB copied, "
                f"bound {p.bound_gb:,.0f} GB",
            )

        try:
            plan = solve(problem, options, show)
        except InfeasibleError as exc:
            fail(f"infeasible: {exc}", EXIT_INFEASIBLE)
    result = check_plan(problem, plan)
    if not result.ok:
        fail(
            "the solver found no plan meeting every hard constraint: "
            + "; ".join(result.violations[:3])
        )
    write_plan(plan, problem.survey, problem.site_names, out)
    _print_metrics(
        {k: float(v) for k, v in plan.stats.items() if isinstance(v, int | float)},
        f"plan written to {out}",
    )


@app.command("check")
def check_command(
    ctx: typer.Context,
    plan_file: Path = typer.Argument(..., help="plan.json to validate."),
    survey: Path = SURVEY,
    sites: Path | None = SITES,
    maintenance: Path | None = MAINTENANCE,
    previous: Path | None = PREVIOUS,
    frozen_until: str | None = FROZEN,
    as_json: bool = JSON,
) -> None:
    """Recompute every metric and hard constraint from the files; exit 1 on any violation."""
    from placement.check import check_plan

    problem = _problem(ctx, survey, sites, maintenance, previous, frozen_until)
    result = check_plan(problem, _read_plan(plan_file, problem))
    if as_json:
        print(
            json.dumps(
                {"ok": result.ok, "metrics": result.metrics, "violations": result.violations},
                indent=1,
            )
        )
    else:
        _print_metrics(result.metrics, f"check {plan_file}")
        for violation in result.violations:
            console.print(f"[red]violation:[/] {violation}", highlight=False)
        console.print(
            "[green]OK[/]: every hard constraint holds"
            if result.ok
            else f"{len(result.violations)} problem(s)"
        )
    if not result.ok:
        raise typer.Exit(EXIT_ERROR)


@app.command("baseline")
def baseline_command(
    ctx: typer.Context,
    method: str = typer.Option(..., "--method", help=f"One of: {', '.join(METHODS)}."),
    survey: Path = SURVEY,
    out: Path = typer.Option(..., "--out", help="plan.json to write."),
    sites: Path | None = SITES,
    maintenance: Path | None = MAINTENANCE,
) -> None:
    """Write a baseline plan (it may break constraints: `check` tells which)."""
    from placement.baselines import baseline
    from placement.check import check_plan
    from placement.files import write_plan
    from placement.model import Plan

    if method not in METHODS:
        fail(f"--method: unknown baseline {method!r}; choose from {', '.join(METHODS)}", 2)
    problem = _problem(ctx, survey, sites, maintenance)
    plan = baseline(problem, method)
    result = check_plan(problem, plan)
    plan = Plan(plan.primary, plan.secondary, plan.tile_site, dict(result.metrics))
    write_plan(plan, problem.survey, problem.site_names, out)
    _print_metrics(result.metrics, f"{method} plan written to {out}")


@app.command("report")
def report_command(
    ctx: typer.Context,
    plan_file: Path = typer.Argument(..., help="plan.json to report on."),
    survey: Path = SURVEY,
    out: Path = typer.Option(..., "--out", help="Directory for the PNGs and summary.md."),
    sites: Path | None = SITES,
    maintenance: Path | None = MAINTENANCE,
) -> None:
    """Sky map, share over time, copies per site (PNGs) and a Markdown summary."""
    from placement.check import check_plan
    from placement.report import write_report

    problem = _problem(ctx, survey, sites, maintenance)
    written = write_report(problem, _read_plan(plan_file, problem), check_plan, out)
    for path in written:
        console.print(f"wrote {path}")


@app.command("explain")
def explain_command(
    ctx: typer.Context,
    item: str = typer.Argument(..., help="An observation id or a tile id."),
    plan_file: Path = typer.Argument(..., help="plan.json."),
    survey: Path = SURVEY,
    sites: Path | None = SITES,
    maintenance: Path | None = MAINTENANCE,
) -> None:
    """Why this site: which sites were excluded and by what, and the copies the choice avoids."""
    from placement.explain import explain

    problem = _problem(ctx, survey, sites, maintenance)
    try:
        lines = explain(problem, _read_plan(plan_file, problem), item)
    except KeyError:
        fail(f"{item!r} is neither an observation id nor a tile id of {survey}")
    for line in lines:
        console.print(line, highlight=False)


@app.command("publish")
def publish(
    ctx: typer.Context,
    plan_file: Path = typer.Argument(..., help="plan.json to store."),
    survey: Path = SURVEY,
    sites: Path | None = SITES,
    maintenance: Path | None = MAINTENANCE,
    solver: str = typer.Option("sdc-placement", help="solver name recorded with the plan"),
    to_rucio: bool = typer.Option(
        False, "--to-rucio", help="Also make the plan Rucio replication rules (rucio settings)."
    ),
    dry_run: bool = typer.Option(
        False, "--dry-run", help="With --to-rucio: print the rule changes, change nothing."
    ),
    as_json: bool = JSON,
) -> None:
    """Store a plan in the archive as its current version; the one it replaces is its parent.

    The survey's new observations and tiles are stored with it. With --to-rucio, make Rucio
    hold the plan as replication rules, changing only the rules of what moved.
    """
    from metascheduler.plan_import import publish_plan
    from sdc.commands.common import archive_session

    if dry_run and not to_rucio:
        fail("--dry-run needs --to-rucio (it previews the Rucio rule changes)", 2)
    problem = _problem(ctx, survey, sites, maintenance)
    plan = _read_plan(plan_file, problem)
    if to_rucio:
        from sdc.commands.placement_rucio import publish_to_rucio

        publish_to_rucio(settings_of(ctx), problem, plan, plan_file, solver, dry_run, as_json)
        return
    with archive_session(settings_of(ctx), what=str(plan_file)) as session:
        row = publish_plan(session, problem.survey, plan, problem.site_names, solver)
        version, parent = row.version, row.parent_version
    survey_size = f"{problem.survey.n_obs} observations, {problem.survey.n_tiles} tiles"
    typer.echo(f"stored plan version {version} (parent {parent or 'none'}) over {survey_size}")
