"""What every `sdc` sub-command shares: the settings from the context, errors and exit codes."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import typer
from rich.console import Console
from rich.markup import escape

if TYPE_CHECKING:
    from sqlalchemy import Engine
    from sqlalchemy.orm import Session

    from sdc.settings import Settings

# Exit codes that mean something (documented in README.md, `sdc --help`).
EXIT_OK = 0
EXIT_ERROR = 1  # bad input, a failed check, an error reported by a server
EXIT_UNAVAILABLE = 2  # usage error or a capability that is not available yet
EXIT_INFEASIBLE = 3  # placement: no plan satisfies the hard constraints

err_console = Console(stderr=True)


def settings_of(ctx: typer.Context) -> Settings:
    """The Settings built once by the root callback."""
    from sdc.settings import Settings  # imported by then: this costs nothing

    obj = ctx.find_root().obj
    if not isinstance(obj, Settings):
        raise RuntimeError("settings were not built by the root callback")
    return obj


def fail(message: str, code: int = EXIT_ERROR) -> NoReturn:
    """Print a clear error on stderr and exit with `code`. The message is shown as it is:
    Rich would take "[database]" or a pydantic "[type=...]" in it for markup and drop it."""
    err_console.print(f"[bold red]error:[/] {escape(message)}", highlight=False)
    raise typer.Exit(code)


def archive_failed(url: str, exc: Exception) -> NoReturn:
    """Exit 1 for an archive call that failed, telling a refusal (the archive answered, e.g.
    a wrong token) from an archive that could not be reached; the fix differs."""
    from requests.exceptions import InvalidSchema, InvalidURL, MissingSchema

    from eas.errors import ArchiveError

    if isinstance(exc, ArchiveError):
        fail(f"the archive at {url} refused: {exc}")
    if isinstance(exc, InvalidSchema | InvalidURL | MissingSchema):
        fail(f"the archive URL {url!r} is not an http(s) URL (such as http://eas:8000)")
    fail(f"cannot reach the archive at {url} ({type(exc).__name__})")


def serve_http(app: Any, host: str, port: int, **options: Any) -> None:
    """Run `app` under uvicorn on host:port until stopped; what keeps it from starting is a
    message and exit 1 or 2, never a traceback.

    uvicorn exits 3 when it cannot bind (this CLI's code for an infeasible placement), a
    port over 65535 was an OverflowError traceback and an unknown log level a KeyError.
    """
    import uvicorn
    from uvicorn.config import LOG_LEVELS

    if not 0 < port < 65536:
        fail(f"--port {port}: a TCP port is 1..65535", EXIT_UNAVAILABLE)
    level = options.get("log_level", "info")
    if level not in LOG_LEVELS:
        fail(f"--log-level {level!r}: use one of {', '.join(LOG_LEVELS)}", EXIT_UNAVAILABLE)
    try:
        uvicorn.run(app, host=host, port=port, **options)
    except SystemExit as exc:
        if exc.code == 3:  # uvicorn's startup failure; it has logged the reason above
            fail(f"cannot serve on {host}:{port} (the reason is in the line above)")
        raise


def not_available(what: str, issue: str) -> NoReturn:
    """Exit 2 for a command whose capability has not landed yet; never fake output."""
    err_console.print(f"{what} is not available yet (tracked in the {issue} issue).", markup=False)
    raise typer.Exit(EXIT_UNAVAILABLE)


def open_archive(settings: Settings) -> Engine:
    """An engine on the migrated archive; a clean exit naming the problem otherwise."""
    from sqlalchemy.exc import OperationalError

    from eas.db import make_engine
    from eas.migrate import SchemaError, check_schema

    url = settings.resolved_database_url
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        if not path.exists():  # connecting would create an empty file and hide the mistake
            fail(f"the archive at {path} is not initialised; run `sdc archive init`")
    engine = make_engine(url)
    try:
        check_schema(engine)
    except SchemaError as exc:
        engine.dispose()
        fail(str(exc))
    except OperationalError as exc:
        engine.dispose()
        where = engine.url.render_as_string(hide_password=True)
        fail(f"cannot use the archive database {where}: {str(exc.orig).strip()}")
    return engine


@contextmanager
def archive_session(settings: Settings, what: str = "") -> Iterator[Session]:
    """A session on the migrated archive, committed at the end; archive errors (and a
    database that cannot be used) become clean exits, prefixed with `what` when given."""
    from sqlalchemy.exc import OperationalError

    from eas.db import make_session_factory, transaction
    from eas.errors import ArchiveError

    engine = open_archive(settings)
    prefix = f"{what}: " if what else ""
    try:
        with transaction(make_session_factory(engine)) as session:
            yield session
    except ArchiveError as exc:
        fail(f"{prefix}{exc.detail}")
    except OperationalError as exc:
        fail(f"{prefix}cannot use the archive database: {str(exc.orig).strip()}")
    finally:
        engine.dispose()
