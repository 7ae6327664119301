"""`sdc dss`: the per-site storage service: serve, transfer between sites, audit."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer

from sdc.commands.common import EXIT_ERROR, err_console, fail, serve_http, settings_of
from sdc.commands.dss_archive import archive_session, dss_url_of, print_audit

app = typer.Typer(no_args_is_help=True)  # its help: sdc.cli.AREAS


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
    backend: str | None = typer.Option(
        None, "--backend", help="Storage backend: posix, memory, rucio."
    ),
    rse: str | None = typer.Option(
        None, "--rse", help="rucio backend: the RSE (default: rucio.site_rses[site])."
    ),
) -> None:
    """Serve a site's storage over HTTP (Ctrl-C or SIGTERM stops it)."""
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
        "rse": rse,
    }
    settings = settings_of(ctx)
    config = settings.dss.model_copy(
        update={key: value for key, value in given.items() if value is not None}
    )
    if (
        config.backend in ("posix", "rucio")
        and config.root is not None
        and not config.root.is_dir()
    ):
        why = "is a file, not a directory" if config.root.exists() else "does not exist"
        fail(f"--root {config.root}: {why} (make the storage directory first)")
    if config.archive_url:
        _require_archive(config.archive_url)
    try:
        application = create_app(config, rucio=settings.rucio)
    except (BackendUnavailable, TokenFileError, ValueError) as exc:
        fail(str(exc))
    # The standard asyncio loop even where uvloop is installed: the large-GET and large-PUT fast
    # paths need asyncio transports (docs/dss.md, "How a large GET is sent").
    serve_http(application, config.host, config.port, log_level="info", loop="asyncio")


def _require_archive(url: str) -> None:
    """Exit 1 unless the archive that verifies the tokens answers.

    Without it the DSS served on and refused every request with a 503 that only its clients
    saw; the agent already stops at start for the same reason. systemd restarts the unit.
    """
    import requests

    try:
        requests.get(f"{url.rstrip('/')}/api/v1", timeout=10)
    except requests.RequestException as exc:
        fail(
            f"cannot reach the archive at {url} (--archive-url), which verifies the tokens "
            f"({type(exc).__name__}): start it first or correct the URL"
        )


@app.command("hash-token")
def hash_token() -> None:
    """Print the sha256 of a token read from stdin, for a `--tokens` file."""
    from dss.tokens import token_digest

    token = sys.stdin.readline().strip()
    if not token:
        fail("no token on stdin")
    typer.echo(token_digest(token))


ARCHIVE_URL = typer.Option(None, "--archive-url", help="Archive API (default: dss.archive_url).")
TOKEN = typer.Option(None, "--token", help="Bearer token (default: dss.token / SDC_DSS__TOKEN).")
AS_JSON = typer.Option(False, "--json", help="Print JSON for machines.")


@app.command("transfer")
def transfer(
    ctx: typer.Context,
    product_id: str = typer.Argument(..., help="Product to copy."),
    to: str = typer.Option(..., "--to", help="Destination site, e.g. SDC-ES."),
    archive_url: str | None = ARCHIVE_URL,
    token: str | None = TOKEN,
    as_json: bool = AS_JSON,
) -> None:
    """Have the destination's DSS copy a product from its best replica, verified, registered.

    Needs a token of the destination site's agent or of an admin.
    """
    from dss.client import StorageClient

    with archive_session(ctx, archive_url, token) as (archive, secret):
        archive.get_product(product_id)  # an unknown product is named here, not by the DSS
        with (
            StorageClient(dss_url_of(archive, to), secret) as destination,
            err_console.status(f"{to} is copying {product_id}..."),
        ):
            result = destination.transfer(product_id)
    if as_json:
        typer.echo(json.dumps(result.as_json()))
        return
    source = f" from {result.source}" if result.source else ""
    typer.echo(f"{product_id} at {to}: {result.outcome.value}{source} ({result.path})")


@app.command("audit")
def audit(
    ctx: typer.Context,
    site: str = typer.Option(..., "--site", help="Site whose storage to audit."),
    fix: bool = typer.Option(False, "--fix", help="Mark lost replicas BAD, quarantine dark."),
    archive_url: str | None = ARCHIVE_URL,
    token: str | None = TOKEN,
    as_json: bool = AS_JSON,
) -> None:
    """Compare a site's storage with the archive's replicas there.

    Exit 1 when problems were found (without --fix) or a fix failed; 0 when clean or fixed.
    """
    from dss.client import StorageClient
    from dss.site_audit import apply_fixes, audit_site

    with (
        archive_session(ctx, archive_url, token) as (archive, secret),
        StorageClient(dss_url_of(archive, site), secret) as storage,
    ):
        found = audit_site(site, archive, storage)
        fixes = apply_fixes(found, archive, storage) if fix else []
    report = found.report
    failed = [f for f in fixes if not f.done]
    if as_json:
        body = {
            "site": site, "checked": report.checked, "dark": report.dark, "lost": report.lost,
            "bad_checksum": report.bad_checksum,
            "fixes": [
                {"kind": f.kind.value, "path": f.path, "done": f.done, "detail": f.detail}
                for f in fixes
            ],
        }  # fmt: skip
        typer.echo(json.dumps(body))
    else:
        print_audit(site, report, fixes)
    if failed or (not fix and not report.clean):
        raise typer.Exit(EXIT_ERROR)
