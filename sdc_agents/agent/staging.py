"""Bring a job's inputs to this site: local replicas are read, others copied here first.

The copy is the inter-SDC transfer (`StorageClient.transfer`, `POST /api/v1/transfers`):
this site's DSS pulls the product from the best source replica (AVAILABLE, its site not in
maintenance) straight into its storage, verifies it against the archive's checksums and
records it COPYING -> AVAILABLE (BAD on failure, never AVAILABLE). The archive's replica row
is the lock, so concurrent stagings of one product to one site copy it once; the agent moves
no bytes between sites itself, it only reads the local replica into the job's directory.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from dss.client import StorageClient
from dss.client_errors import DssError
from dss.replica_urls import replica_path
from dss.transfer import TransferOutcome
from eas.client import ArchiveClient


class StagingError(RuntimeError):
    """An input cannot be brought to this site (no usable source, or the copy failed)."""


@dataclass
class StagingReport:
    """The staged files (in input order) and how many had to be copied from elsewhere."""

    files: list[Path]
    copied: int


@dataclass(frozen=True)
class LocalReplica:
    """Where a product lives in this site's DSS, and whether this staging copied it there."""

    path: str
    copied: bool


class Stager:
    """Stages products for one site through its DSS."""

    def __init__(
        self,
        site: str,
        archive: ArchiveClient,
        local_dss: StorageClient,
        copy_wait_seconds: float = 300.0,
    ) -> None:
        """`copy_wait_seconds`: how long to wait for another transfer of the same product here."""
        self.site = site
        self.copy_wait_seconds = copy_wait_seconds
        self.archive = archive
        self.local_dss = local_dss

    def stage(self, product_ids: list[str], into: Path) -> StagingReport:
        """Fetch every product into `into`, having this site's DSS copy in what it lacks."""
        into.mkdir(parents=True, exist_ok=True)
        files, copied = [], 0
        for product_id in product_ids:
            local = self._ensure_local(product_id)
            copied += local.copied
            target = into / PurePosixPath(local.path).name
            try:
                self.local_dss.get(local.path, target)
            except DssError as exc:
                raise StagingError(f"cannot read {product_id} from {self.site}: {exc}") from exc
            files.append(target)
        return StagingReport(files, copied)

    def replicate(self, product_id: str) -> bool:
        """Make sure this site holds an AVAILABLE replica; True when this call copied it."""
        return self._ensure_local(product_id).copied

    def _ensure_local(self, product_id: str) -> LocalReplica:
        """This site's AVAILABLE replica, asking the local DSS to transfer it in if needed."""
        replicas = self.archive.list_replicas(product_id=product_id, site=self.site)
        here = next((r for r in replicas if r.state == "AVAILABLE"), None)
        if here is not None:
            return LocalReplica(replica_path(here.url), copied=False)
        try:
            result = self.local_dss.transfer(product_id, wait_seconds=self.copy_wait_seconds)
        except DssError as exc:
            # 409 when no source is usable or another transfer here did not finish in time,
            # 502 when the source's bytes were bad (the replica row is BAD), 404 unknown id.
            raise StagingError(f"cannot stage {product_id} to {self.site}: {exc}") from exc
        return LocalReplica(result.path, copied=result.outcome is TransferOutcome.COPIED)
