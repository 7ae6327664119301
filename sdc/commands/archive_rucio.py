"""`sdc archive rucio`: mirror the archive's replicas into Rucio and audit the two catalogues."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console
from rich.table import Table

from dss.rucio_config import RucioConfig
from sdc.commands.common import archive_session, fail, settings_of
from sdc.commands.rucio_common import connect, rse_for, rucio_errors, write_progress

if TYPE_CHECKING:
    from eas.rucio_mirror.audit import AuditReport, RucioCopy
    from sdc.settings import Settings

app = typer.Typer(
    help="Rucio mirror of the archive: products as file DIDs with replicas at the sites' RSEs.",
    no_args_is_help=True,
)
console = Console()
JSON = typer.Option(False, "--json", help="Machine-readable output.")


@app.command("sync")
def sync(
    ctx: typer.Context,
    site: str = typer.Option(..., "--site", help="The SDC whose products are mirrored."),
    as_json: bool = JSON,
) -> None:
    """Register every product the archive has at SITE as a Rucio file DID with its replica at
    the site's RSE, in datasets per observation and per tile; a second run changes nothing."""
    from eas.core.sites import get_site
    from eas.rucio_mirror import plan_sync
    from eas.rucio_mirror.archive_side import products_at_site
    from eas.rucio_mirror.rucio_io import apply_sync, read_state

    settings = settings_of(ctx)
    config = settings.rucio
    rse = rse_for(config, site)
    with archive_session(settings, what=f"sync {site}") as session:
        get_site(session, site)
        try:
            products = products_at_site(session, site, config.scope_of)
        except ValueError as exc:
            fail(str(exc))
    lanes = [connect(config, f"sync {site}") for _ in range(config.write_lanes)]
    with rucio_errors(config, f"sync {site} to {rse}"):
        plan = plan_sync(products, read_state(lanes, rse, products))
        with write_progress(console, as_json) as bar:
            task = bar.add_task(f"registering at {rse}", total=plan.changes)
            apply_sync(lanes, rse, plan, lambda n: bar.advance(task, n))
    summary = {
        "site": site,
        "rse": rse,
        "products": len(products),
        "datasets_added": len(plan.new_datasets),
        "replicas_added": len(plan.new_replicas),
        "attachments_added": plan.attached_files,
        "metadata_set": len(plan.meta_updates),
        "already_in_place": plan.in_place,
        "checksum_mismatches": [
            {
                "product_id": m.product.product_id,
                "scope": m.product.scope,
                "archive_adler32": m.product.adler32,
                "rucio_adler32": m.rucio_adler32,
            }
            for m in plan.mismatches
        ],
    }
    if as_json:
        typer.echo(json.dumps(summary, indent=2))
    elif plan.changes == 0 and not plan.mismatches:
        typer.echo(
            f"nothing to do: Rucio already mirrors the {len(products)} product(s) "
            f"of {site} at {rse}"
        )
    else:
        typer.echo(
            f"{site} -> {rse}: {len(plan.new_replicas)} replica(s), "
            f"{len(plan.new_datasets)} dataset(s) and {plan.attached_files} attachment(s) added; "
            f"{plan.in_place} product(s) already in place"
        )
    if plan.mismatches:
        if not as_json:
            table = Table(
                "product",
                "scope",
                "archive adler32",
                "Rucio adler32",
                title="checksum mismatches (reported, not overwritten)",
            )
            for m in plan.mismatches:
                table.add_row(
                    m.product.product_id, m.product.scope, m.product.adler32, m.rucio_adler32 or "-"
                )
            console.print(table)
        raise typer.Exit(1)


@app.command("audit")
def audit(
    ctx: typer.Context,
    site: list[str] = typer.Option(
        [], "--site", help="SDC to audit (repeatable; default: every site in rucio.site_rses)."
    ),
    fix: bool = typer.Option(
        False,
        "--fix",
        help="Record in the archive the replicas Rucio "
        "has, after downloading each and checking its adler32.",
    ),
    as_json: bool = JSON,
) -> None:
    """Compare the archive's replicas with Rucio's, both ways; exit 1 while any differ."""
    from eas.rucio_mirror import compare
    from eas.rucio_mirror.archive_side import known_products, site_copies
    from eas.rucio_mirror.rucio_io import rse_copies

    settings = settings_of(ctx)
    config = settings.rucio
    sites = site or sorted(config.site_rses)
    if not sites:
        fail("no site to audit: give --site or set rucio.site_rses")
    scopes = set(config.survey_scopes.values())
    if config.default_scope:
        scopes.add(config.default_scope)
    if not scopes:
        fail("no Rucio scope to audit: set rucio.survey_scopes or rucio.default_scope")
    client = connect(config, "audit")
    reports: list[tuple[AuditReport, dict[str, str]]] = []
    for name in sites:
        rse = rse_for(config, name)
        with rucio_errors(config, f"audit {name} at {rse}"):
            theirs = rse_copies(client, rse, scopes)
        with archive_session(settings, what=f"audit {name}") as session:
            ours = site_copies(session, name)
            ours.update(known_products(session, name, set(theirs) - set(ours)))
        report = compare(name, rse, ours, theirs)
        fixed = _fix(settings, config, client, report, theirs) if fix else {}
        reports.append((report, fixed))
    remaining = _print_reports(reports, as_json)
    if remaining:
        raise typer.Exit(1)


def _fix(
    settings: Settings,
    config: RucioConfig,
    client: Any,
    report: AuditReport,
    theirs: dict[str, RucioCopy],
) -> dict[str, str]:
    """Read back each fixable replica; record it in the archive only if its bytes verify."""
    from eas.rucio_mirror.archive_side import record_verified_replica
    from eas.rucio_mirror.rucio_io import verified_read

    outcome: dict[str, str] = {}
    for difference in report.of_kind("rucio_only"):
        if not difference.fixable:
            continue
        copy = theirs[difference.product_id]
        with rucio_errors(config, f"read {copy.scope}:{copy.name} at {report.rse}"):
            read = verified_read(client, report.rse, copy)
        if read is None:
            outcome[difference.product_id] = "not fixed: the read failed"
        elif read != difference.archive_adler32:
            outcome[difference.product_id] = (
                f"not fixed: the bytes read have adler32 {read}, the archive says "
                f"{difference.archive_adler32}"
            )
        else:
            with archive_session(settings, what=f"fix {difference.product_id}") as session:
                record_verified_replica(
                    session,
                    difference.product_id,
                    report.site,
                    copy.pfn or f"{copy.scope}:{copy.name}",
                )
            outcome[difference.product_id] = "fixed: replica recorded after a verified read"
    return outcome


def _print_reports(reports: list[tuple[AuditReport, dict[str, str]]], as_json: bool) -> int:
    """Print the differences (table or JSON); how many remain unfixed."""
    remaining = 0
    records = []
    for report, fixed in reports:
        for d in report.differences:
            outcome = fixed.get(d.product_id, "")
            if not outcome.startswith("fixed"):
                remaining += 1
            records.append({"site": report.site, "rse": report.rse, **asdict(d), "fix": outcome})
    if as_json:
        summary = [
            {
                "site": r.site,
                "rse": r.rse,
                "agreeing": r.agreeing,
                "differences": len(r.differences),
            }
            for r, _ in reports
        ]
        typer.echo(json.dumps({"sites": summary, "differences": records}, indent=2))
        return remaining
    for report, _ in reports:
        console.print(
            f"{report.site} ({report.rse}): {report.agreeing} product(s) agree, "
            f"{len(report.differences)} differ",
            highlight=False,
        )
    if records:
        table = Table("site", "kind", "product", "archive adler32", "Rucio adler32", "detail")
        for r in records:
            detail = r["detail"] + (f"; {r['fix']}" if r["fix"] else "")
            table.add_row(
                r["site"],
                r["kind"],
                r["product_id"],
                r["archive_adler32"] or "-",
                r["rucio_adler32"] or "-",
                detail,
            )
        console.print(table)
    return remaining
