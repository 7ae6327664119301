"""`sdc dss`: The per-site storage service: serve, transfer between sites, audit."""

from __future__ import annotations

import typer

from sdc.commands.common import not_available

app = typer.Typer(
    help="The per-site storage service: serve, transfer between sites, audit.", no_args_is_help=True
)


@app.command("status")
def status() -> None:
    """Not available yet."""
    not_available("sdc dss", "DSS")
