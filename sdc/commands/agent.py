"""`sdc agent`: The SDC site agent and the Pipeline Runner."""

from __future__ import annotations

import typer

from sdc.commands.common import not_available

app = typer.Typer(help="The SDC site agent and the Pipeline Runner.", no_args_is_help=True)


@app.command("status")
def status() -> None:
    """Not available yet."""
    not_available("sdc agent", "Pipeline Runner")
