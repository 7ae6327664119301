"""Pipeline Runner settings (one field of `sdc.settings.Settings`)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class RunnerConfig(BaseModel):
    """Defaults of `sdc agent pipeline run`; command-line options override them."""

    model_config = ConfigDict(extra="forbid")  # a misspelt key is an error

    drm: str = Field(default="local", description="batch system: local or slurm")
    max_parallel: int | None = Field(
        default=None, ge=1, description="jobs at once; default: the machine's cores (local)"
    )
    local_poll_s: float = Field(
        default=0.05, gt=0, description="longest wait between checks of local jobs"
    )
    slurm_poll_s: float = Field(default=0.5, gt=0, description="wait between squeue checks")
    slurm_partition: str | None = None
