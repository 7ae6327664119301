"""The demo's telescope: raw frames arrive as small real FITS files at the primary site's
DSS, are registered in the archive, and are copied to the secondary by verified transfer."""

from __future__ import annotations

import hashlib
import shutil
from pathlib import Path

from dss.client import StorageClient
from eas.client import ArchiveClient
from eas.errors import Conflict
from eas.schemas import ProductIn, ReplicaIn
from sdc_agents.agent.staging import Stager
from sdc_agents.examples import write_example_inputs

RAW_TYPE = "RAW_FRAME"


def raw_product_id(obs_id: int) -> str:
    """The raw product's id: it depends on the observation alone."""
    return hashlib.sha256(f"raw:{obs_id}".encode()).hexdigest()[:40]


def write_calibration(directory: Path) -> dict[str, str]:
    """Master dark and flat for the calibration pipeline; returns their paths by input name."""
    write_example_inputs(directory, frames=1, seed=0)
    return {
        "master_dark": str(directory / "master_dark.fits"),
        "master_flat": str(directory / "master_flat.fits"),
    }


class Telescope:
    """Delivers observations to their primary SDC and replicates them to the secondary."""

    def __init__(
        self,
        archive: ArchiveClient,
        storage: dict[str, StorageClient],
        spool: Path,
        frames: int = 2,
    ) -> None:
        self.archive = archive
        self.storage = storage
        self.spool = spool
        self.frames = frames

    def deliver(self, obs_id: int, primary: str, secondary: str) -> bool:
        """Store, register and replicate one observation; False when it was already there."""
        product_id = raw_product_id(obs_id)
        path = f"raw/obs-{obs_id}.fits"
        staging = self.spool / f"obs-{obs_id}"
        write_example_inputs(staging, frames=self.frames, seed=obs_id)
        dss = self.storage[primary]
        try:
            stat = dss.put(path, staging / "raw_frames.fits")
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        product = ProductIn(
            product_id=product_id, product_type=RAW_TYPE, obs_id=obs_id, version="1",
            size_bytes=stat.size, adler32=stat.adler32, md5=stat.md5,
            metadata={"frames": self.frames},
        )  # fmt: skip
        new = True
        try:
            self.archive.register_product(product)
        except Conflict:
            new = False  # a resumed demo delivers again: the stored product stands
        self.archive.add_replica(product_id, ReplicaIn(site=primary, url=dss.url(path)))
        Stager(secondary, self.archive, self.storage[secondary]).replicate(product_id)
        return new
