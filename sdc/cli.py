"""The `sdc` command: assembles each area's Typer sub-app; no business logic lives here.

Every command runs in a fresh process (and the acceptance tests start hundreds), so an area's
module is imported only when one of its commands, or its help, is asked for: `sdc --help`
lists the areas from the table below without importing any of them.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import typer
from rich.markup import escape
from typer.core import TyperGroup

from sdc.commands.common import EXIT_ERROR, err_console, fail
from sdc.commands.demo import demo
from sdc.commands.server import server

# area -> (the module whose `app` holds its commands, the area's help)
AREAS = {
    "archive": (
        "sdc.commands.archive",
        "The central metadata archive (EAS): schema, sites, tokens, products, lineage.",
    ),
    "dss": (
        "sdc.commands.dss",
        "The per-site storage service: serve, transfer between sites, audit.",
    ),
    "placement": (
        "sdc.commands.placement",
        "Plan a primary and secondary SDC for every observation and a processing SDC per tile.",
    ),
    "scheduler": (
        "sdc.commands.scheduler",
        "The metascheduler: jobs from the plan and arriving data, dispatch, retries.",
    ),
    "agent": ("sdc.commands.agent", "The SDC site agent and the Pipeline Runner."),
}


class LazyArea(TyperGroup):
    """An area's command group whose module is imported on first use."""

    def __init__(self, name: str, module: str, help_text: str) -> None:
        super().__init__(name=name, help=help_text, no_args_is_help=True)
        self.module = module
        self.loaded = False

    def _load(self) -> None:
        if not self.loaded:
            real = typer.main.get_group(importlib.import_module(self.module).app)
            self.commands.update(real.commands)
            self.loaded = True

    def list_commands(self, ctx: Any) -> list[str]:
        """The area's commands (imports the area)."""
        self._load()
        return super().list_commands(ctx)

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        """One of the area's commands (imports the area)."""
        self._load()
        return super().get_command(ctx, cmd_name)


class SdcGroup(TyperGroup):
    """The root group: the top-level commands plus every area, loaded lazily."""

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        for name, (module, help_text) in AREAS.items():
            self.add_command(LazyArea(name, module, help_text))


app = typer.Typer(
    cls=SdcGroup,
    help="Run a space survey's data processing across many science data centres (SDCs).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.command()(server)


@app.callback()
def root(
    ctx: typer.Context,
    config: Path | None = typer.Option(
        None, "--config", "-c", help="YAML settings file (also SDC_CONFIG).", envvar="SDC_CONFIG"
    ),
) -> None:
    """Build the one Settings object every command receives."""
    from pydantic import ValidationError

    from sdc.settings import ConfigError, Settings, settings_problems

    try:
        ctx.obj = Settings(config_file=config) if config else Settings()
    except ConfigError as exc:
        fail(str(exc))
    except ValidationError as exc:
        fail(f"invalid settings: {settings_problems(exc)}")


app.command("demo")(demo)


def main() -> None:
    """Console-script entry point."""
    try:
        app()
    except OSError as exc:
        # The last word on a file or directory a command could not read or write (an --out
        # under a file, a data_dir we may not create): the path and the reason, exit 1, no
        # traceback. Commands name their own files first where they can say more.
        where = f"{exc.filename}: " if exc.filename else ""
        message = escape(f"{where}{exc.strerror or exc}")
        err_console.print(f"[bold red]error:[/] {message}", highlight=False)
        raise SystemExit(EXIT_ERROR) from None
