"""What `sdc dss transfer` and `sdc dss audit` share: the archive session, errors, output."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING

import typer
from rich.console import Console

from sdc.commands.common import fail, settings_of

if TYPE_CHECKING:
    from dss.audit import AuditReport
    from dss.site_audit import FixResult
    from eas.client import ArchiveClient


@contextmanager
def archive_session(
    ctx: typer.Context, archive_url: str | None, token: str | None
) -> Iterator[tuple[ArchiveClient, str]]:
    """An archive client and the token, from the options or `settings.dss`.

    Every failure of the archive or a DSS inside the block becomes a clear message, exit 1.
    """
    import requests

    from dss.client_errors import DssError
    from eas.client import ArchiveClient
    from eas.errors import ArchiveError

    config = settings_of(ctx).dss
    url = archive_url or config.archive_url
    secret = token or config.token
    if not url:
        fail("give --archive-url (or dss.archive_url / SDC_DSS__ARCHIVE_URL)", 2)
    if not secret:
        fail("give --token (or dss.token / SDC_DSS__TOKEN)", 2)
    try:
        with ArchiveClient(url, secret, retries=1) as archive:
            yield archive, secret
    except requests.ConnectionError:
        fail(f"cannot reach the archive at {url}")
    except ArchiveError as exc:
        fail(f"the archive refused: {exc}")
    except DssError as exc:
        fail(f"storage service (DSS): {exc}")


def dss_url_of(archive: ArchiveClient, site: str) -> str:
    """The DSS URL the archive records for `site` (a clear error for an unknown site)."""
    from eas.errors import NotFound

    try:
        record = archive.get_site(site)
    except NotFound:
        fail(f"unknown site {site!r}: the archive has no such site")
    if not record.dss_url:
        fail(
            f"site {site} has no dss_url in the archive: add `dss_url: http://HOST:PORT` to "
            "its entry in sites.yaml and run `sdc archive load-sites` again"
        )
    return record.dss_url


def print_audit(site: str, report: AuditReport, fixes: Sequence[FixResult]) -> None:
    """The findings as a table, then what --fix did."""
    from rich.table import Table

    console = Console()
    if report.clean:
        console.print(f"{site}: storage and archive agree ({report.checked} paths checked)")
    else:
        table = Table(title=f"Audit of {site}: {report.checked} paths checked")
        table.add_column("finding")
        table.add_column("path")
        for kind, paths in (
            ("dark (not in archive)", report.dark),
            ("lost (missing on disk)", report.lost),
            ("bad checksum", report.bad_checksum),
        ):
            for path in paths:
                table.add_row(kind, path)
        console.print(table)
    for fix in fixes:
        mark = "done" if fix.done else "FAILED"
        console.print(f"{fix.kind.value} {fix.path}: {mark}, {fix.detail}", highlight=False)
