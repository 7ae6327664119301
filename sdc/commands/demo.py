"""`sdc demo`: the whole system end to end on this machine (embedded default, no servers)."""

from __future__ import annotations

from pathlib import Path

import typer

from sdc.commands.common import settings_of


def demo(
    ctx: typer.Context,
    days: int = typer.Option(1, min=1, help="survey days to simulate (~17 observations a day)"),
    sites: int = typer.Option(9, min=2, max=9, help="how many of the example SDCs take part"),
    keep: Path | None = typer.Option(
        None, help="work in this directory and keep it; running again resumes"
    ),
    seed: int = typer.Option(1, help="survey generator seed"),
    time_limit: float = typer.Option(10.0, min=1.0, help="placement solver budget (s)"),
    database_url: str | None = typer.Option(
        None, help="archive database, e.g. postgresql://user@host/db (default: SQLite)"
    ),
    transport: str = typer.Option(
        "http", help="how agents hear of jobs: http (they pull) or celery (a broker queue per site)"
    ),
    broker_url: str | None = typer.Option(
        None,
        help="Celery broker for --transport celery: amqp://... or redis://host:port/N "
        "(default: scheduler.broker_url)",
    ),
    serve: bool = typer.Option(True, help="keep the servers up at the end until Ctrl-C"),
) -> None:
    """Run the federation end to end: plan, observe, schedule, run, fail over, summarise."""
    # imported here: `sdc` starts without the areas a command does not use
    from sdc.demo.run import run_demo

    run_demo(
        settings_of(ctx), days, sites, keep, seed, time_limit, database_url, transport,
        broker_url, serve,
    )  # fmt: skip
