"""Auditing a site: its DSS listing against the archive's replicas there, then the fixes.

The comparison itself is `dss.audit.compare` (pure); this module fetches both sides over
HTTP and performs `fixes_for`'s plan: lost or bad replicas are marked BAD in the archive,
dark files are quarantined on the DSS (never deleted).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from dss.audit import AuditReport, ExpectedReplica, FixKind, ReplicaState, compare, fixes_for
from dss.client import StorageClient
from dss.client_errors import DssError, NotFound
from dss.replica_urls import replica_dss_path
from eas.client import ArchiveClient
from eas.errors import ArchiveError, Conflict


@dataclass(frozen=True)
class SiteAudit:
    """The findings at one site, and the archive's replica id behind each known path."""

    site: str
    report: AuditReport
    replica_ids: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class FixResult:
    """One fix: `done` unless it failed (a finding that resolved itself meanwhile is done)."""

    kind: FixKind
    path: str
    done: bool
    detail: str


def audit_site(site: str, archive: ArchiveClient, storage: StorageClient) -> SiteAudit:
    """Compare everything `storage` holds with every replica the archive records at `site`."""
    expected, ids = [], {}
    for replica in archive.iter_replicas(site=site):
        path = replica_dss_path(replica.url)
        state = ReplicaState(replica.state)
        size = adler32 = None
        if state is ReplicaState.AVAILABLE:
            product = archive.get_product(replica.product_id)
            size, adler32 = product.size_bytes, product.adler32
        expected.append(ExpectedReplica(path, size, adler32, state))
        ids[path] = replica.id
    return SiteAudit(site, compare(storage.list(), expected), ids)


def apply_fixes(
    audit: SiteAudit, archive: ArchiveClient, storage: StorageClient
) -> list[FixResult]:
    """Perform the fix plan; each step is skipped, not forced, when the world moved meanwhile.

    Running it twice is harmless: marked replicas are no longer AVAILABLE and quarantined
    files are no longer listed, so a second audit finds nothing to fix.
    """
    plan = fixes_for(audit.report)
    # A file stored a moment ago may have been registered since the audit: look again.
    registered = {replica_dss_path(r.url) for r in archive.iter_replicas(site=audit.site)}
    results = []
    for step in plan.steps:
        if step.kind is FixKind.MARK_BAD:
            results.append(_mark_bad(archive, audit.replica_ids[step.path], step.path))
        elif step.path in registered:
            results.append(FixResult(step.kind, step.path, True, "registered meanwhile; kept"))
        else:
            results.append(_quarantine(storage, step.path))
    return results


def _mark_bad(archive: ArchiveClient, replica_id: int, path: str) -> FixResult:
    try:
        archive.set_replica_state(replica_id, "BAD", expected_state="AVAILABLE")
    except Conflict as exc:
        return FixResult(FixKind.MARK_BAD, path, True, f"no longer AVAILABLE: {exc}")
    except ArchiveError as exc:
        return FixResult(FixKind.MARK_BAD, path, False, str(exc))
    return FixResult(FixKind.MARK_BAD, path, True, f"replica {replica_id} marked BAD")


def _quarantine(storage: StorageClient, path: str) -> FixResult:
    try:
        where = storage.quarantine(path)
    except NotFound:
        return FixResult(FixKind.QUARANTINE, path, True, "gone meanwhile")
    except DssError as exc:
        return FixResult(FixKind.QUARANTINE, path, False, str(exc))
    return FixResult(FixKind.QUARANTINE, path, True, f"quarantined as {where}")
