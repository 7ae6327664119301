"""`sdc server`: serve the archive API (OpenAPI docs at /docs) with uvicorn."""

from __future__ import annotations

import typer

from sdc.commands.common import open_archive, serve_http, settings_of


def server(
    ctx: typer.Context,
    host: str | None = typer.Option(None, help="interface to listen on (settings: server.host)"),
    port: int | None = typer.Option(None, help="TCP port (settings: server.port)"),
    access_log: bool = typer.Option(True, help="log every request"),
    log_level: str = typer.Option("info", help="uvicorn log level"),
) -> None:
    """Serve the archive and scheduler API; OpenAPI docs at /docs."""
    settings = settings_of(ctx)
    open_archive(settings).dispose()
    # Imported here: the web stack is heavy and every other `sdc` command starts without it.
    from sdc.composition import server_app

    serve_http(
        server_app(settings),
        host or settings.server.host,
        port or settings.server.port,
        access_log=access_log,
        log_level=log_level,
    )
