"""What the `sdc` commands that talk to Rucio share: its failures as clean exits."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from dss.rucio_config import RucioConfig
from sdc.commands.common import fail


@contextmanager
def rucio_errors(config: RucioConfig, doing: str) -> Iterator[None]:
    """Rucio failures (unreachable, refused, any server error) as a clean exit naming them."""
    from rucio.common.exception import RucioException

    from dss.rucio_client import RucioRefused, RucioSetupError, RucioUnreachable, rucio_errors_named

    try:
        with rucio_errors_named(config, doing):
            yield
    except (RucioUnreachable, RucioRefused, RucioSetupError) as exc:
        fail(str(exc))
    except RucioException as exc:
        fail(f"{doing}: Rucio at {config.url} refused: {' '.join(str(exc).split())[:400]}")


def write_progress(console: Console, quiet: bool) -> Progress:
    """The bar a command shows while it writes to Rucio (gone when done; none with --json)."""
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        console=console,
        transient=True,
        disable=quiet,
    )


def connect(config: RucioConfig, doing: str) -> Any:
    """A logged-in client, or a clean exit naming the server and what is wrong."""
    from dss.rucio_client import rucio_client

    with rucio_errors(config, doing):
        return rucio_client(config)


def rse_for(config: RucioConfig, site: str) -> str:
    """The site's RSE, or a clean exit saying which setting to add."""
    try:
        return config.rse_of(site)
    except ValueError as exc:
        fail(str(exc))
