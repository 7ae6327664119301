"""Batch systems behind one protocol (submit, status, cancel, collect) and their registry."""

from collections.abc import Callable, Mapping

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


def _slurm(environment: Mapping[str, str]) -> BatchSystem:
    """Slurm's jobs start with sbatch's environment (`--export=ALL`): this process's."""
    return SlurmBatchSystem()


# name -> a batch system whose jobs start with the given environment (Settings.environment)
BATCH_SYSTEMS: dict[str, Callable[[Mapping[str, str]], BatchSystem]] = {
    "local": LocalBatchSystem,
    "slurm": _slurm,
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
