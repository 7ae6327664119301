"""`sdc scheduler`: jobs from the plan and arriving data, dispatch, retries, `why`."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime

import typer
from rich.console import Console

from sdc.commands.common import archive_session, fail, open_archive, settings_of

app = typer.Typer(no_args_is_help=True)  # its help: sdc.cli.AREAS
console = Console()


@app.command()
def run(
    ctx: typer.Context,
    once: bool = typer.Option(False, "--once", help="run one cycle, print it, exit"),
    transport: str | None = typer.Option(
        None, help="how agents hear of jobs: http (pull) or celery (scheduler.transport)"
    ),
    broker: str | None = typer.Option(None, help="Celery broker URL (scheduler.broker_url)"),
) -> None:
    """Run the scheduler daemon: create jobs, dispatch, fail over, reclaim expired leases."""
    from eas.db import make_session_factory
    from metascheduler.loop import Scheduler

    settings = settings_of(ctx)
    if transport not in (None, "http", "celery"):
        fail(f"unknown transport {transport!r}; use http or celery", 2)
    changes = {"transport": transport, "broker_url": broker}
    config = settings.scheduler.model_copy(
        update={k: v for k, v in changes.items() if v is not None}
    )
    engine = open_archive(settings)
    scheduler = Scheduler(make_session_factory(engine), config)
    if once:
        report = scheduler.run_once()
        sent = ", ".join(f"{site}: {n}" for site, n in sorted(report.dispatched.items())) or "none"
        typer.echo(
            f"created {report.created} job(s); queued {sent}; waiting {report.waiting}; "
            f"reclaimed {report.reclaimed}; failed {report.failed}; "
            f"republished {report.republished}"
        )
        for alert in report.alerts:
            typer.echo(f"ALERT {alert}", err=True)
        if report.unannounced:
            fail(
                f"{report.unannounced} queued job(s) could not be announced on the broker; "
                "they stay QUEUED and the next cycle announces them again"
            )
        return
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    scheduler.run_forever()


@app.command()
def jobs(
    ctx: typer.Context,
    state: str | None = typer.Option(None, help="PENDING, WAITING, QUEUED, RUNNING, ..."),
    site: str | None = typer.Option(None, help="target site"),
    quarantined: bool = typer.Option(False, "--quarantined", help="only quarantined jobs"),
    limit: int = typer.Option(100, min=1),
    as_json: bool = typer.Option(False, "--json", help="machine-readable output"),
) -> None:
    """List jobs."""
    from rich.table import Table

    from eas.job_schemas import JobPublic
    from metascheduler.queries import list_jobs

    with archive_session(settings_of(ctx)) as session:
        rows = [
            JobPublic.model_validate(r)
            for r in list_jobs(session, state, site, True if quarantined else None, limit)
        ]
    if as_json:
        typer.echo(json.dumps([r.model_dump(mode="json") for r in rows], indent=2))
        return
    table = Table("id", "pipeline", "subject", "state", "site", "prio", "tries", "reason")
    for r in rows:
        subject = f"obs {r.obs_id}" if r.obs_id is not None else f"tile {r.tile_id}"
        table.add_row(
            str(r.id), r.pipeline, subject, r.state, r.target_site or "-", str(r.priority),
            str(r.attempts), r.wait_reason or "",
        )  # fmt: skip
    console.print(table)


@app.command()
def why(ctx: typer.Context, job_id: int = typer.Argument(..., help="job id")) -> None:
    """Say exactly why a job is not running."""
    from metascheduler.queries import explain_job

    settings = settings_of(ctx)
    with archive_session(settings_of(ctx)) as session:
        lines = explain_job(session, job_id, datetime.now(UTC), settings.scheduler)
    for line in lines:
        typer.echo(line)


# "-5" would otherwise be parsed as an unknown option ("No such option: -5"), though the
# help offers it as the example of lowering a priority
@app.command(context_settings={"ignore_unknown_options": True})
def priority(
    ctx: typer.Context,
    job_id: int = typer.Argument(..., help="job id"),
    delta: str = typer.Argument(..., help="change, e.g. +10 or -5"),
) -> None:
    """Raise or lower a job's priority."""
    from metascheduler.queries import bump_priority

    try:
        change = int(delta)
    except ValueError:
        fail(f"priority change must be an integer like +10 or -5, not {delta!r}", 2)
    with archive_session(settings_of(ctx)) as session:
        row = bump_priority(session, job_id, change)
        typer.echo(f"job {job_id} priority is now {row.priority}")
