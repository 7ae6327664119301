"""`sdc scheduler`: The metascheduler: jobs from the plan and arriving data, dispatch, retries."""

from __future__ import annotations

import typer

from sdc.commands.common import not_available

app = typer.Typer(
    help="The metascheduler: jobs from the plan and arriving data, dispatch, retries.",
    no_args_is_help=True,
)


@app.command("status")
def status() -> None:
    """Not available yet."""
    not_available("sdc scheduler", "metascheduler")
