"""The `sdc` command: assembles each area's Typer sub-app; no business logic lives here."""

from __future__ import annotations

from pathlib import Path

import typer
from pydantic import ValidationError

from sdc.commands import agent, archive, demo, dss, placement, scheduler
from sdc.commands.common import fail
from sdc.commands.server import server
from sdc.settings import ConfigError, Settings

app = typer.Typer(
    help="Run a space survey's data processing across many science data centres (SDCs).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.add_typer(archive.app, name="archive")
app.add_typer(dss.app, name="dss")
app.add_typer(placement.app, name="placement")
app.add_typer(scheduler.app, name="scheduler")
app.add_typer(agent.app, name="agent")
app.command()(server)


@app.callback()
def root(
    ctx: typer.Context,
    config: Path | None = typer.Option(
        None, "--config", "-c", help="YAML settings file (also SDC_CONFIG).", envvar="SDC_CONFIG"
    ),
) -> None:
    """Build the one Settings object every command receives."""
    try:
        ctx.obj = Settings(config_file=config) if config else Settings()
    except ConfigError as exc:
        fail(str(exc))
    except ValidationError as exc:
        fail(f"invalid settings: {exc}")


app.command("demo")(demo.demo)


def main() -> None:
    """Console-script entry point."""
    app()
