"""`sdc dss`: the per-site storage service: serve, transfer between sites, audit."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from sdc.commands.common import fail, not_available, settings_of

app = typer.Typer(
    help="The per-site storage service: serve, transfer between sites, audit.", no_args_is_help=True
)


@app.command("serve")
def serve(
    ctx: typer.Context,
    site: str | None = typer.Option(None, "--site", help="The SDC this DSS serves (SDC-FR)."),
    root: Path | None = typer.Option(None, "--root", help="Directory holding the site's files."),
    port: int | None = typer.Option(None, "--port", help="TCP port (default 8101)."),
    host: str | None = typer.Option(None, "--host", help="Address to listen on."),
    archive_url: str | None = typer.Option(
        None, "--archive-url", help="Archive that verifies bearer tokens."
    ),
    tokens: Path | None = typer.Option(
        None, "--tokens", help="YAML file of hashed tokens (standalone, no archive)."
    ),
    backend: str | None = typer.Option(None, "--backend", help="Storage backend: posix, memory."),
) -> None:
    """Serve a site's storage over HTTP (Ctrl-C or SIGTERM stops it)."""
    import uvicorn

    from dss.registry import BackendUnavailable
    from dss.server import create_app
    from dss.static_tokens import TokenFileError

    given = {
        "site": site,
        "root": root,
        "port": port,
        "host": host,
        "archive_url": archive_url,
        "tokens_file": tokens,
        "backend": backend,
    }
    config = settings_of(ctx).dss.model_copy(
        update={key: value for key, value in given.items() if value is not None}
    )
    if config.backend == "posix" and config.root is not None and not config.root.is_dir():
        fail(f"--root {config.root}: not a directory")
    try:
        application = create_app(config)
    except (BackendUnavailable, TokenFileError, ValueError) as exc:
        fail(str(exc))
    uvicorn.run(application, host=config.host, port=config.port, log_level="info")


@app.command("hash-token")
def hash_token() -> None:
    """Print the sha256 of a token read from stdin, for a `--tokens` file."""
    from dss.tokens import token_digest

    token = sys.stdin.readline().strip()
    if not token:
        fail("no token on stdin")
    typer.echo(token_digest(token))


@app.command("transfer")
def transfer(
    product_id: str = typer.Argument(..., help="Product to copy."),
    to: str = typer.Option(..., "--to", help="Destination site, e.g. SDC-ES."),
) -> None:
    """Copy a product to another site from its best replica (needs the archive)."""
    not_available("sdc dss transfer", "DSS (needs the archive's replica catalogue)")


@app.command("audit")
def audit(
    site: str = typer.Option(..., "--site", help="Site whose storage to audit."),
    fix: bool = typer.Option(False, "--fix", help="Mark lost replicas BAD, quarantine dark."),
) -> None:
    """Compare a site's storage with the archive's replicas (needs the archive)."""
    not_available("sdc dss audit", "DSS (needs the archive's replica catalogue)")
