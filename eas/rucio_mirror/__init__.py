"""The archive's mirror in Rucio: products as file DIDs with replicas at their sites' RSEs,
datasets per observation and per tile, and an audit of the two catalogues."""

from eas.rucio_mirror.audit import AuditReport, Difference, compare
from eas.rucio_mirror.naming import (
    ProductRecord,
    file_meta,
    obs_dataset,
    tile_dataset,
    tile_inputs_container,
)
from eas.rucio_mirror.sync import RucioState, SyncPlan, plan_sync

__all__ = [
    "AuditReport",
    "Difference",
    "ProductRecord",
    "RucioState",
    "SyncPlan",
    "compare",
    "file_meta",
    "obs_dataset",
    "plan_sync",
    "tile_dataset",
    "tile_inputs_container",
]
