"""Batch systems behind one protocol (submit, status, cancel, collect) and their registry."""

from collections.abc import Callable

from sdc_agents.drm.local import LocalBatchSystem
from sdc_agents.drm.protocol import (
    BatchSystem,
    ErrorClass,
    JobOutcome,
    JobPhase,
    JobSpec,
    SubmitError,
)
from sdc_agents.drm.slurm import SlurmBatchSystem

BATCH_SYSTEMS: dict[str, Callable[[], BatchSystem]] = {
    "local": LocalBatchSystem,
    "slurm": SlurmBatchSystem,
}

__all__ = [
    "BATCH_SYSTEMS",
    "BatchSystem",
    "ErrorClass",
    "JobOutcome",
    "JobPhase",
    "JobSpec",
    "LocalBatchSystem",
    "SlurmBatchSystem",
    "SubmitError",
]
