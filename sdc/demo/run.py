"""The demo's run: plan, servers and agents, scenario, summary (`sdc demo` calls `run_demo`)."""

from __future__ import annotations

import signal
import sysconfig
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy import Engine
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from eas.db import make_engine, make_session_factory
from eas.migrate import upgrade
from metascheduler.config import SchedulerConfig
from metascheduler.dispatch import make_dispatcher
from metascheduler.loop import Scheduler
from sdc.commands.common import fail
from sdc.demo.fleet import start_fleet, write_agent_settings
from sdc.demo.observe import write_calibration
from sdc.demo.plan import (
    ArchiveInUse,
    PlannedSurvey,
    load_into_archive,
    plan_survey,
    resume_planned,
)
from sdc.demo.scenario import Scenario
from sdc.demo.services import (
    ServiceError,
    ServiceUnreachable,
    check_broker,
    describe,
    normalise_database_url,
)
from sdc.demo.summary import Summary, explain_unfinished, summarise
from sdc.settings import Settings
from sdc_agents.agent.config import AgentConfig
from sdc_agents.examples import EXAMPLE_PIPELINE

console = Console()
# config/ of the checkout this runs from (`pip install -e .`), else the copy every install
# puts under <prefix>/share/sdc/config (pyproject: tool.setuptools.data-files)
EXAMPLE_CONFIGS = (
    Path(__file__).resolve().parents[2] / "config",
    Path(sysconfig.get_path("data")) / "share" / "sdc" / "config",
)


def example_config(name: str, folders: Sequence[Path] = EXAMPLE_CONFIGS) -> Path | None:
    """The first of `folders` that holds the example config file `name`, or None."""
    return next((folder / name for folder in folders if (folder / name).is_file()), None)


def run_demo(
    base: Settings,
    days: int,
    sites: int,
    keep: Path | None,
    seed: int,
    time_limit: float,
    database_url: str | None,
    transport: str,
    broker_url: str | None,
    serve: bool,
) -> None:
    """Run the federation end to end: plan, observe, schedule, run, fail over, summarise."""
    if transport not in ("http", "celery"):
        fail(f"--transport {transport!r}: use http or celery", 2)
    if broker_url is not None and transport != "celery":
        fail("--broker-url is for --transport celery", 2)
    sites_file = example_config("sites.yaml")
    if sites_file is None:
        where = " or ".join(str(folder) for folder in EXAMPLE_CONFIGS)
        fail(f"the example sites.yaml is in neither {where}: reinstall sdc-orchestrator")
    dispatch = _dispatch_config(transport, broker_url or base.scheduler.broker_url)
    try:
        if database_url is not None:
            database_url = normalise_database_url(database_url)
        if dispatch.transport == "celery":
            check_broker(dispatch.broker_url)
    except ServiceError as exc:
        fail(str(exc), 1 if isinstance(exc, ServiceUnreachable) else 2)
    workspace = (keep or Path(tempfile.mkdtemp(prefix="sdc-demo-"))).resolve()
    try:
        workspace.mkdir(parents=True, exist_ok=True)
    except OSError as exc:  # a --keep under a file, or where we may not write
        fail(f"--keep {keep}: cannot make the workspace there: {exc.strerror or exc}")
    settings = base.model_copy(
        update={"data_dir": workspace, "database_url": database_url, "scheduler": dispatch}
    )
    try:
        engine = _open_archive(settings.resolved_database_url)
        sessions = make_session_factory(engine)
        planned = _resumed(sessions, engine, workspace, sites_file, sites)
    except typer.Exit:
        if keep is None:  # the temporary workspace is still empty: leave nothing behind
            workspace.rmdir()
        raise
    console.print(f"[bold]sdc demo[/] in {escape(str(workspace))}")
    console.print(describe(settings.resolved_database_url, dispatch.transport, dispatch.broker_url))
    if planned is None:
        with console.status("planning: generating the survey and solving its placement"):
            planned = plan_survey(workspace, sites_file, days, sites, seed, time_limit)
            load_into_archive(sessions, planned, sites_file)
    else:
        console.print("resuming: the survey and its plan are already in the archive")
    _print_plan(planned)
    _stop_on_signals()
    pipelines = _pipelines(write_calibration(workspace / "calibration"))
    agent_yaml = write_agent_settings(workspace / "agent.yaml", pipelines)
    # the dashboard shows the agents' pipelines under the names their jobs carry
    specs = AgentConfig.model_validate({"pipelines": pipelines}).pipelines
    settings = settings.model_copy(
        update={"agent": settings.agent.model_copy(update={"pipelines": specs})}
    )
    try:
        fleet = start_fleet(settings, sessions, planned.problem.site_names, workspace)
    except RuntimeError as exc:
        fail(f"cannot start the demo's servers: {exc}")
    dispatcher = make_dispatcher(settings.scheduler)
    try:
        for site in planned.problem.site_names:
            fleet.start_agent(site, agent_yaml)
        scheduler = Scheduler(sessions, settings.scheduler, dispatcher)
        scenario = Scenario(fleet, sessions, scheduler, planned, workspace, console.print)
        started = time.monotonic()
        with _progress() as progress:
            task = progress.add_task("observing (simulated days)", total=None)
            scenario.observe(lambda n, total: progress.update(task, completed=n, total=total))
        scenario.kill_an_agent()
        scenario.leave_maintenance()
        with _progress() as progress:
            task = progress.add_task("running jobs", total=None)
            finished = scenario.drain(
                lambda n, total: progress.update(task, completed=n, total=total), timeout=900
            )
        summary = summarise(sessions, planned)
        _print_summary(summary, scenario, time.monotonic() - started)
        if not finished:
            console.print("[red]some jobs did not finish in time; see `sdc scheduler jobs`")
        for job_id, lines in explain_unfinished(sessions, settings.scheduler).items():
            console.print(f"[bold]sdc scheduler why {job_id}[/]")
            for line in lines:
                console.print(f"  {line}", highlight=False)
        for line in access_lines(
            fleet.archive_url, fleet.tokens["reader"], workspace, serve,
            settings.resolved_database_url,
        ):  # fmt: skip
            console.print(line, highlight=False, soft_wrap=True)
        if serve:
            console.print("servers are up; press Ctrl-C to stop")
            try:
                while True:
                    time.sleep(3600)
            except KeyboardInterrupt:
                pass
    finally:
        with console.status("stopping agents and servers"):
            fleet.stop()
        dispatcher.close()
        engine.dispose()
    if not finished or summary.failed:
        raise typer.Exit(1)


def _stop_on_signals() -> None:
    """Ctrl-C and SIGTERM end the demo through its cleanup (agents drained, servers stopped).

    Needed after a solve: OR-Tools' CP-SAT leaves SIGINT at the default action, which kills
    the process outright and would leave the agent processes running.
    """
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, _interrupt)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def _open_archive(url: str) -> Engine:
    """The migrated archive database; exit naming it when it cannot be reached."""
    engine = make_engine(url)
    try:
        upgrade(engine)
    except OperationalError as exc:
        engine.dispose()
        safe = make_url(url).render_as_string(hide_password=True)
        fail(f"cannot open the archive database {safe}: {exc.orig}")
    return engine


def _resumed(
    sessions: sessionmaker[Session], engine: Engine, workspace: Path, sites_file: Path, sites: int
) -> PlannedSurvey | None:
    """The earlier run's plan when resuming; exit when the database holds someone else's."""
    try:
        return resume_planned(sessions, workspace, sites_file, sites)
    except ArchiveInUse as exc:
        engine.dispose()
        fail(str(exc))


def _dispatch_config(transport: str, broker_url: str) -> SchedulerConfig:
    """The demo's scheduler settings: the chosen transport, short leases and cycles."""
    return SchedulerConfig(
        # short enough that a killed agent's job comes back soon, long enough that a
        # heartbeat delayed by a loaded machine does not lose a live lease
        lease_seconds=30,
        interval_seconds=1,
        transport="celery" if transport == "celery" else "http",
        broker_url=broker_url,
        # a message the broker lost is published again within seconds, not the minute a
        # long-running deployment can afford
        republish_seconds=10,
    )


def _pipelines(masters: dict[str, str]) -> dict[str, object]:
    examples = EXAMPLE_PIPELINE.parent
    return {
        "calibrate": {
            "script": str(EXAMPLE_PIPELINE),
            "inputs": {"raw_frames": "@job-input", **masters},
            "outputs": {"combined": "CALIBRATED_FRAME", "quality": "QUALITY_REPORT"},
        },
        "mosaic": {
            "script": str(examples / "mosaic_pipeline.py"),
            "inputs": {"calibrated": "@job-inputs"},
            "outputs": {"mosaic": "MOSAIC"},
        },
    }


def _progress() -> Progress:
    return Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=console,
    )  # fmt: skip


def _print_plan(planned: PlannedSurvey) -> None:
    from sdc.demo.summary import copied_percent

    survey, horizon = planned.problem.survey, planned.horizon
    if horizon is not None:
        console.print(
            f"plan: the next {horizon.days} days, {horizon.observations} observations, "
            f"{horizon.tiles} tiles, {len(planned.problem.sites)} sites, "
            f"{horizon.maintenance} maintenance window(s); tile inputs copied "
            f"between sites: [bold]{horizon.copies_pct:.1f}%[/] with the plan, "
            f"{horizon.round_robin_pct:.1f}% with round-robin"
        )
    console.print(
        f"observed now: {survey.n_obs} observations and the {survey.n_tiles} tiles they "
        f"complete; copied: {copied_percent(planned, planned.plan):.1f}% with the plan, "
        f"{copied_percent(planned, planned.round_robin):.1f}% with round-robin"
    )


def _print_summary(summary: Summary, scenario: Scenario, seconds: float) -> None:
    table = Table("site", "plan share", "jobs run", "share of jobs", title="jobs per site")
    total = sum(line.jobs for line in summary.sites) or 1
    for line in summary.sites:
        table.add_row(line.site, f"{line.share:.1%}", str(line.jobs), f"{line.jobs / total:.1%}")
    console.print(table)
    events = scenario.events
    facts = Table(show_header=False, title="summary")
    facts.add_row("jobs", ", ".join(f"{k} {v}" for k, v in sorted(summary.jobs.items())))
    facts.add_row("products", ", ".join(f"{k} {v}" for k, v in sorted(summary.products.items())))
    facts.add_row(
        "lineage edges", f"{summary.used_edges} used, {summary.generated_edges} generated"
    )
    facts.add_row(
        "tile input copies",
        f"{summary.tile_copies_made} made, {summary.tile_copies_predicted} predicted by the plan",
    )
    facts.add_row("copies to secondaries", str(events.secondary_copies))
    if events.maintenance_site:
        facts.add_row(
            "maintenance", f"{events.maintenance_site}: {events.failed_over} job(s) failed over"
        )
    if events.killed_agent:
        facts.add_row(
            "killed agent", f"{events.killed_agent} during job {events.killed_job} (re-run once)"
        )
    facts.add_row("failed jobs", ", ".join(map(str, summary.failed)) or "none")
    facts.add_row("wall time", f"{seconds:.0f} s")
    console.print(facts)


def access_lines(
    url: str, reader_token: str, workspace: Path, serve: bool, database_url: str
) -> list[str]:
    """Where to look at the run: the live URLs while serving; with --no-serve the servers
    are gone when this is read, so the command that serves the same archive again."""
    if serve:
        lines = [f"dashboard:   {url}/", f"archive API: {url}/api/v1  (docs: {url}/docs)"]
    else:
        database = make_url(database_url).render_as_string(hide_password=True)
        lines = [
            "servers stopped (--no-serve); to browse this run again:",
            f"  SDC_DATABASE_URL={database} sdc --config {workspace / 'agent.yaml'} server",
            "  then http://127.0.0.1:8000/ (dashboard) and /api/v1; log in with this token:",
        ]
    return [*lines, f"reader token: {reader_token}", f"workspace:   {workspace}"]
