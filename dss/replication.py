"""Replicating a product into this site: claim the archive's replica row, pull, verify, publish.

The archive's replica row of (product, this site) is the lock. A transfer claims it by
creating it COPYING (`exclusive`: of two racing creators one gets 409) or by moving a BAD
row to COPYING (compare-and-set). Whoever finds it COPYING waits for that copy rather than
copying again. A copy refreshes its row every `stale_seconds / 10` (compare-and-set
COPYING -> COPYING, which also tells it when its claim was taken from it); a COPYING row
untouched for `stale_seconds` is a transfer that died and is taken over (COPYING -> BAD ->
COPYING, both compare-and-set). On failure the row ends BAD
and no byte is visible (the upload aborts); AVAILABLE only after the bytes matched the
archive's checksums.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from dss.audit import ReplicaState
from dss.backend import ChecksumMismatch, DeclaredChecksums, StorageBackend
from dss.client import StorageClient
from dss.client_errors import DssError
from dss.pull import pull
from dss.replica_urls import FILES_ROUTE, dss_base, file_url, replica_dss_path
from dss.transfer import (
    AlreadyThere,
    CopyFrom,
    CopyInProgress,
    NoSource,
    SiteReplica,
    TransferOutcome,
    TransferResult,
    choose_source,
)
from eas.client import ArchiveClient
from eas.errors import Conflict
from eas.schemas import ProductPublic, ReplicaIn, ReplicaPublic, SitePublic

log = logging.getLogger(__name__)


class TransferRefused(Exception):
    """The transfer cannot be done now: no usable source, or another copy is still running."""


class ClaimLost(TransferRefused):
    """Another transfer took this copy's replica row over (it looked abandoned)."""


class SourceFailed(Exception):
    """The source could not deliver the product's bytes intact (unreachable or rotten)."""


@dataclass(frozen=True)
class TransferPolicy:
    """How long to wait for another transfer of the same product, and when it counts as dead."""

    wait_seconds: float = 600.0
    stale_seconds: float = 300.0
    poll_seconds: float = 0.5
    clock: Callable[[], float] = field(default=time.monotonic, compare=False)
    sleep: Callable[[float], None] = field(default=time.sleep, compare=False)


@dataclass(frozen=True)
class Destination:
    """This site and its storage, and how to reach another site's DSS (with which token)."""

    site: str
    storage: StorageBackend
    source_dss: Callable[[str], StorageClient]


def replicate(
    product_id: str, archive: ArchiveClient, here: Destination, policy: TransferPolicy
) -> TransferResult:
    """Make sure `here.site` holds an AVAILABLE replica of the product, copying it at most once."""
    product = archive.get_product(product_id)
    sites = {s.name: s for s in archive.list_sites()}
    own = sites.get(here.site)
    if own is None or not own.dss_url:
        raise TransferRefused(f"site {here.site} has no dss_url in the archive")
    deadline = policy.clock() + policy.wait_seconds
    waited = False
    while True:
        replicas = archive.list_replicas(product_id=product_id)
        mine = next((r for r in replicas if r.site == here.site), None)
        decision = choose_source(_known(replicas), here.site, _in_maintenance(archive))
        if isinstance(decision, AlreadyThere) and mine is not None:
            outcome = TransferOutcome.COPIED_BY_ANOTHER if waited else TransferOutcome.ALREADY_THERE
            return TransferResult(
                outcome, product_id, here.site, replica_dss_path(mine.url), mine.id
            )
        if isinstance(decision, NoSource):
            raise TransferRefused(f"cannot copy {product_id} to {here.site}: {decision.reason}")
        if isinstance(decision, CopyFrom):
            source = decision.source
            path = replica_dss_path(mine.url if mine is not None else source.path)
            wanted = ReplicaIn(site=here.site, url=file_url(own.dss_url, path), state="COPYING")
            claim = _claim(archive, product_id, mine, wanted)
            if claim is not None:
                return _copy(product, claim, source, sites, archive, here, policy)
        elif isinstance(decision, CopyInProgress) and mine and _abandoned(mine, policy):
            log.warning("taking over abandoned copy of %s to %s", product_id, here.site)
            with suppress(Conflict):
                archive.set_replica_state(mine.id, "BAD", expected_state="COPYING")
            continue
        if policy.clock() >= deadline:
            raise TransferRefused(
                f"{product_id} is still being copied to {here.site}: another transfer did "
                f"not finish within {policy.wait_seconds:g} s"
            )
        waited = True  # someone else holds the row: their copy is ours
        policy.sleep(policy.poll_seconds)


def _claim(
    archive: ArchiveClient, product_id: str, mine: ReplicaPublic | None, wanted: ReplicaIn
) -> ReplicaPublic | None:
    """The replica row, now COPYING on our behalf; None when another transfer got it first."""
    try:
        if mine is None:
            return archive.add_replica(product_id, wanted, exclusive=True)
        return archive.set_replica_state(mine.id, "COPYING", expected_state=mine.state)
    except Conflict:
        return None


def _copy(
    product: ProductPublic,
    claim: ReplicaPublic,
    source: SiteReplica,
    sites: dict[str, SitePublic],
    archive: ArchiveClient,
    here: Destination,
    policy: TransferPolicy,
) -> TransferResult:
    """Pull the claimed product from `source`; AVAILABLE when verified, BAD otherwise."""
    path = replica_dss_path(claim.url)
    try:
        with here.source_dss(_base_of(source, sites)) as client:
            declared = DeclaredChecksums(product.adler32, product.md5)
            beat = _Heartbeat(archive, claim.id, policy)
            source_path = replica_dss_path(source.path)
            pull(client, source_path, here.storage, declared=declared, to=path, progress=beat)
    except ClaimLost:
        raise  # the row is another transfer's now: leave it alone
    except BaseException as exc:
        with suppress(Exception):  # if even this fails, the row goes stale and is taken over
            archive.set_replica_state(claim.id, "BAD")
        if isinstance(exc, DssError | ChecksumMismatch):
            raise SourceFailed(
                f"copy of {product.product_id} from {source.site} failed: {exc}"
            ) from exc
        raise
    archive.set_replica_state(claim.id, "AVAILABLE")
    log.info("copied %s from %s to %s", product.product_id, source.site, here.site)
    return TransferResult(
        TransferOutcome.COPIED, product.product_id, here.site, path, claim.id, source.site
    )


class _Heartbeat:
    """Refreshes the claimed row now and then while the bytes flow, so it never looks dead."""

    def __init__(self, archive: ArchiveClient, replica_id: int, policy: TransferPolicy) -> None:
        self._archive = archive
        self._replica_id = replica_id
        self._clock = policy.clock
        self._every = policy.stale_seconds / 10
        self._last = self._clock()

    def __call__(self) -> None:
        if self._clock() - self._last < self._every:
            return
        try:
            self._archive.set_replica_state(self._replica_id, "COPYING", expected_state="COPYING")
        except Conflict as exc:
            raise ClaimLost(f"replica {self._replica_id} was taken over: {exc}") from exc
        self._last = self._clock()


def _known(replicas: list[ReplicaPublic]) -> list[SiteReplica]:
    """The replicas in states a transfer reasons about (others are neither source nor lock)."""
    states = ReplicaState.__members__
    return [
        SiteReplica(r.site, ReplicaState(r.state), r.url) for r in replicas if r.state in states
    ]


def _in_maintenance(archive: ArchiveClient) -> set[str]:
    now = datetime.now(UTC)
    return {w.site for w in archive.list_maintenance(start=now, end=now + timedelta(seconds=1))}


def _abandoned(replica: ReplicaPublic, policy: TransferPolicy) -> bool:
    """A COPYING row nobody touched for `stale_seconds`: its transfer died."""
    if replica.checked_at is None:
        return True
    return datetime.now(UTC) - replica.checked_at > timedelta(seconds=policy.stale_seconds)


def _base_of(source: SiteReplica, sites: dict[str, SitePublic]) -> str:
    """The source's DSS: from its replica URL, or its site's dss_url for a bare path."""
    if FILES_ROUTE in source.path:
        return dss_base(source.path)
    site = sites.get(source.site)
    if site is None or not site.dss_url:
        raise SourceFailed(f"site {source.site} holds a replica but has no dss_url")
    return site.dss_url
