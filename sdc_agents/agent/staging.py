"""Bring a job's inputs to this site: local replicas are read, others copied here first.

A copy is pulled from the best source replica (AVAILABLE, its site not in maintenance),
verified by checksum on the way in and on the way into the local DSS, and recorded in the
archive as COPYING, then AVAILABLE; a failed copy ends BAD, never AVAILABLE.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from dss.audit import ReplicaState
from dss.client import StorageClient
from dss.replica_urls import dss_base, replica_path
from dss.transfer import AlreadyThere, CopyFrom, NoSource, SiteReplica, choose_source
from eas.client import ArchiveClient
from eas.schemas import ReplicaIn, ReplicaPublic


class StagingError(RuntimeError):
    """An input cannot be brought to this site (no usable source, or the copy failed)."""


@dataclass
class StagingReport:
    """The staged files (in input order) and how many had to be copied from elsewhere."""

    files: list[Path]
    copied: int


class Stager:
    """Stages products for one site through its DSS."""

    def __init__(
        self,
        site: str,
        archive: ArchiveClient,
        local_dss: StorageClient,
        remote_dss: Callable[[str], StorageClient],
        copy_wait_seconds: float = 300.0,
    ) -> None:
        self.site = site
        self.copy_wait_seconds = copy_wait_seconds
        self.archive = archive
        self.local_dss = local_dss
        self.remote_dss = remote_dss

    def stage(self, product_ids: list[str], into: Path) -> StagingReport:
        """Fetch every product into `into`, copying to this site's DSS what it lacks."""
        into.mkdir(parents=True, exist_ok=True)
        files, copied = [], 0
        for product_id in product_ids:
            replicas = self.archive.list_replicas(product_id=product_id)
            local = self._ensure_local(product_id, replicas, into)
            copied += local is not None
            url = local or next(
                r.url for r in replicas if r.site == self.site and r.state == "AVAILABLE"
            )
            path = replica_path(url)
            target = into / Path(path).name
            self.local_dss.get(path, target)
            files.append(target)
        return StagingReport(files, copied)

    def replicate(self, product_id: str, spool: Path) -> bool:
        """Make sure this site holds an AVAILABLE replica; True when a copy was made."""
        spool.mkdir(parents=True, exist_ok=True)
        replicas = self.archive.list_replicas(product_id=product_id)
        return self._ensure_local(product_id, replicas, spool) is not None

    def _ensure_local(
        self, product_id: str, replicas: list[ReplicaPublic], spool: Path
    ) -> str | None:
        """The new local replica URL when a copy was made; None when one was already here."""
        in_maintenance = self._sites_in_maintenance()
        decision = choose_source(
            (
                SiteReplica(r.site, ReplicaState(r.state), r.url)
                for r in replicas
                if r.state in ReplicaState.__members__
            ),
            self.site,
            in_maintenance,
        )
        if isinstance(decision, AlreadyThere):
            return None
        if isinstance(decision, NoSource):
            raise StagingError(f"cannot stage {product_id} to {self.site}: {decision.reason}")
        if not isinstance(decision, CopyFrom):
            self._await_copy(product_id)  # another transfer is bringing it here: wait for it
            return None
        return self._copy(product_id, decision.source, spool)

    def _await_copy(self, product_id: str) -> None:
        deadline = time.monotonic() + self.copy_wait_seconds
        while time.monotonic() < deadline:
            states = {
                r.state for r in self.archive.list_replicas(product_id=product_id, site=self.site)
            }
            if "AVAILABLE" in states:
                return
            if "COPYING" not in states:
                break
            time.sleep(0.5)
        raise StagingError(
            f"{product_id}: another transfer to {self.site} did not finish "
            f"within {self.copy_wait_seconds:.0f} s"
        )

    def _copy(self, product_id: str, source: SiteReplica, spool_dir: Path) -> str:
        path = replica_path(source.path)
        url = self.local_dss.url(path)
        copying = ReplicaIn(site=self.site, url=url, state="COPYING")
        record = self.archive.add_replica(product_id, copying)
        try:
            source_dss = self.remote_dss(dss_base(source.path))
            spool = spool_dir / f".{Path(path).name}.incoming"
            source_dss.get(path, spool)  # verified while reading
            try:
                stat = self.local_dss.put(path, spool)  # verified by the local DSS
            finally:
                spool.unlink(missing_ok=True)
            product = self.archive.get_product(product_id)
            if stat.adler32 != product.adler32:
                raise StagingError(
                    f"{product_id}: copy has adler32 {stat.adler32}, archive says {product.adler32}"
                )
        except Exception:
            self.archive.set_replica_state(record.id, "BAD")
            raise
        self.archive.set_replica_state(record.id, "AVAILABLE")
        return url

    def _sites_in_maintenance(self) -> set[str]:
        now = datetime.now(UTC)
        windows = self.archive.list_maintenance(start=now, end=now + timedelta(seconds=1))
        return {w.site for w in windows}
