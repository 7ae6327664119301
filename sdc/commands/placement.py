"""`sdc placement`: primary/secondary SDC per observation, processing SDC per tile."""

from __future__ import annotations

import typer

from sdc.commands.common import not_available

app = typer.Typer(
    help="Plan a primary and secondary SDC for every observation and a processing SDC per tile.",
    no_args_is_help=True,
)


@app.command("status")
def status() -> None:
    """Not available yet."""
    not_available("sdc placement", "placement")
