"""`sdc archive`: The central metadata archive (EAS): schema, sites, tokens, products, lineage."""

from __future__ import annotations

import typer

from sdc.commands.common import not_available

app = typer.Typer(
    help="The central metadata archive (EAS): schema, sites, tokens, products, lineage.",
    no_args_is_help=True,
)


@app.command("status")
def status() -> None:
    """Not available yet."""
    not_available("sdc archive", "foundation")
