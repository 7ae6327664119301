"""`sdc server`: serve the archive API (OpenAPI docs at /docs) with uvicorn."""

from __future__ import annotations

import typer
from sqlalchemy.exc import OperationalError

from eas.db import make_engine
from eas.migrate import SchemaError, check_schema
from sdc.commands.common import fail, settings_of


def server(
    ctx: typer.Context,
    host: str | None = typer.Option(None, help="interface to listen on (settings: server.host)"),
    port: int | None = typer.Option(None, help="TCP port (settings: server.port)"),
    access_log: bool = typer.Option(True, help="log every request"),
    log_level: str = typer.Option("info", help="uvicorn log level"),
) -> None:
    """Serve the archive API; OpenAPI docs at /docs."""
    settings = settings_of(ctx)
    url = settings.resolved_database_url
    engine = make_engine(url)
    try:
        check_schema(engine)
    except SchemaError as exc:
        fail(str(exc))
    except OperationalError as exc:
        fail(f"cannot use the archive database: {str(exc.orig).strip()}")
    finally:
        engine.dispose()
    # Imported here: the web stack is heavy and every other `sdc` command starts without it.
    import uvicorn

    from eas.api import create_app

    app = create_app(url, settings.archive)
    uvicorn.run(
        app,
        host=host or settings.server.host,
        port=port or settings.server.port,
        access_log=access_log,
        log_level=log_level,
    )
