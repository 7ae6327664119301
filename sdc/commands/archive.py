"""`sdc archive`: The central metadata archive (EAS): schema, sites, tokens, products, lineage."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console

# the enums are in the commands' signatures; everything else is imported where it is used
from eas.schemas import Direction, Role
from sdc.commands.archive_rucio import app as rucio_app
from sdc.commands.common import archive_session, fail, settings_of

app = typer.Typer(no_args_is_help=True)  # its help: sdc.cli.AREAS
token_app = typer.Typer(help="Bearer tokens for the archive API.", no_args_is_help=True)
app.add_typer(token_app, name="token")
app.add_typer(rucio_app, name="rucio")
console = Console()


def _migrate(ctx: typer.Context, fresh: bool) -> None:
    from sqlalchemy.exc import OperationalError

    from eas.db import make_engine
    from eas.migrate import current_revision, head_revision, upgrade

    settings = settings_of(ctx)
    url = settings.resolved_database_url
    if url.startswith("sqlite"):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = make_engine(url)
    try:
        before = current_revision(engine)
        if before is None and not fresh:
            fail("the archive is not initialised; run `sdc archive init`")
        upgrade(engine)
    except OperationalError as exc:
        fail(f"cannot use the archive database: {str(exc.orig).strip()}")
    finally:
        engine.dispose()
    where = engine.url.render_as_string(hide_password=True)
    if before == head_revision():
        typer.echo(f"archive at {where} is already at schema revision {before}")
    else:
        typer.echo(f"archive at {where} migrated from {before or 'empty'} to {head_revision()}")


@app.command()
def init(ctx: typer.Context) -> None:
    """Create the archive schema (SQLite under data_dir, or SDC_DATABASE_URL)."""
    _migrate(ctx, fresh=True)


@app.command("upgrade")
def upgrade_command(ctx: typer.Context) -> None:
    """Migrate an existing archive to this version's schema."""
    _migrate(ctx, fresh=False)


@app.command("load-sites")
def load_sites_command(ctx: typer.Context, file: Path) -> None:
    """Create or update the sites listed in FILE (sites.yaml); all or nothing."""
    from eas.loaders import load_sites

    with archive_session(settings_of(ctx)) as session:
        created, updated = load_sites(session, file)
    typer.echo(f"{file}: {created} site(s) created, {updated} updated")


@app.command("load-maintenance")
def load_maintenance_command(ctx: typer.Context, file: Path) -> None:
    """Store the maintenance windows listed in FILE (maintenance.yaml); all or nothing."""
    from eas.loaders import load_maintenance

    with archive_session(settings_of(ctx)) as session:
        stored = load_maintenance(session, file)
    typer.echo(f"{file}: {stored} maintenance window(s) stored")


@token_app.command("create")
def token_create(
    ctx: typer.Context,
    role: Role = typer.Option(..., help="what the token may do"),
    site: str | None = typer.Option(None, help="the one site an agent token acts for"),
    name: str | None = typer.Option(None, help="who holds it (default: role[@site])"),
) -> None:
    """Mint a token and print it once; only its hash is stored."""
    from eas.core.tokens import create_token

    holder = name or (f"{role}@{site}" if site else role)
    with archive_session(settings_of(ctx)) as session:
        _, secret = create_token(session, role, holder, site)
    typer.echo(secret)


@token_app.command("list")
def token_list(ctx: typer.Context, as_json: bool = typer.Option(False, "--json")) -> None:
    """List the tokens: id, holder, role, site, created, revoked (never a secret)."""
    from rich.table import Table

    from eas.core.tokens import list_tokens

    with archive_session(settings_of(ctx)) as session:
        rows = [
            {"id": t.id, "name": t.name, "role": t.role, "site": t.site_name,
             "created": t.created.isoformat(timespec="seconds"), "revoked": t.revoked}
            for t in list_tokens(session)
        ]  # fmt: skip
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    table = Table(title="tokens")
    for column in ("id", "name", "role", "site", "created", "revoked"):
        table.add_column(column)
    for row in rows:
        shown = {**row, "site": row["site"] or "-", "revoked": "yes" if row["revoked"] else ""}
        table.add_row(*(str(value) for value in shown.values()), end_section=False)
    console.print(table)


@token_app.command("revoke")
def token_revoke(
    ctx: typer.Context, token_id: int = typer.Argument(..., help="its id in `token list`")
) -> None:
    """Revoke a token: the API refuses it from then on.

    A server that verified it less than archive.token_cache_seconds ago may still accept it
    that long."""
    from eas.core.tokens import revoke_token

    with archive_session(settings_of(ctx)) as session:
        row = revoke_token(session, token_id)
        holder = f"{row.name} ({row.role})"
    typer.echo(f"token {token_id} of {holder} revoked")


@app.command()
def sites(ctx: typer.Context, as_json: bool = typer.Option(False, "--json")) -> None:
    """List the sites."""
    from rich.table import Table

    from eas.core.sites import list_sites
    from eas.schemas import SitePublic

    with archive_session(settings_of(ctx)) as session:
        rows = list_sites(session)
        found = [(SitePublic.model_validate(s), len(s.maintenance_windows)) for s in rows]
    if as_json:
        records = [{**s.model_dump(mode="json"), "maintenance_windows": n} for s, n in found]
        typer.echo(json.dumps(records, indent=2))
        return
    table = Table("site", "country", "cores", "storage TB", "DSS", "active", "maintenance")
    for site, windows in found:
        table.add_row(
            site.name,
            site.country,
            str(site.cores),
            f"{site.storage_tb:g}",
            site.dss_url or "-",
            "yes" if site.active else "no",
            str(windows),
        )
    console.print(table)


@app.command()
def products(
    ctx: typer.Context,
    product_type: str | None = typer.Option(None, "--type", help="product type"),
    obs: int | None = typer.Option(None, "--obs", help="observation id"),
    tile: int | None = typer.Option(None, "--tile", help="tile id"),
    version: str | None = typer.Option(None, help="pipeline version"),
    meta: list[str] = typer.Option([], help="metadata filter key=value (repeatable)"),
    limit: int = typer.Option(100, min=1, help="at most this many"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Find data products by type, observation, tile, version and metadata."""
    from rich import box
    from rich.table import Column, Table

    from eas.core import products as product_core
    from eas.schemas import ProductPublic

    with archive_session(settings_of(ctx)) as session:
        wanted = product_core.ProductFilter(
            product_type=product_type,
            obs_id=obs,
            tile_id=tile,
            version=version,
            metadata=product_core.parse_metadata_pairs(meta),
        )
        rows, _ = product_core.query_products(session, wanted, limit=limit)
        found = [ProductPublic.model_validate(p) for p in rows]
    if as_json:
        typer.echo(json.dumps([p.model_dump(mode="json") for p in found], indent=2))
        return
    # The id is what a scientist copies into `sdc archive lineage`: a terminal (or a pipe)
    # of 80 columns cut a 40-character id to 16 and an ellipsis. It keeps its whole width;
    # on a narrow terminal the other columns lose their ends instead (--json has them all).
    widest = max((len(p.product_id) for p in found), default=7)
    widest_type = max((len(p.product_type) for p in found), default=4)
    table = Table(
        Column("product", min_width=widest, no_wrap=True),
        Column("type", min_width=widest_type),
        "obs", "tile", "version", "size", "created", box=box.SIMPLE_HEAD,
    )  # fmt: skip
    for p in found:
        table.add_row(
            p.product_id,
            p.product_type,
            "-" if p.obs_id is None else str(p.obs_id),
            "-" if p.tile_id is None else str(p.tile_id),
            p.version,
            str(p.size_bytes),
            p.created.strftime("%Y-%m-%dT%H:%M:%SZ"),
        )
    console.print(table)


@app.command()
def lineage(
    ctx: typer.Context,
    product_id: str,
    depth: int = typer.Option(3, min=1, help="how many hops"),
    direction: Direction = typer.Option("ancestors", help="which way to walk"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Show what a product was made from (ancestors) or what was made from it."""
    from rich.table import Table

    from eas.core import lineage as lineage_core

    with archive_session(settings_of(ctx)) as session:
        graph = lineage_core.walk_lineage(session, product_id, direction, depth)
    if as_json:
        typer.echo(graph.model_dump_json(indent=2))
        return
    table = Table("depth", "product", "type", title=f"{direction} of {product_id}")
    for node in graph.nodes:
        table.add_row(str(node.depth), node.product_id, node.product_type)
    console.print(table)
    for edge in graph.edges:
        console.print(f"  {edge.parent} --job {edge.job_id}--> {edge.child}", highlight=False)
