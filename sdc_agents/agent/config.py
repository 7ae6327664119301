"""The site agent's settings (a field of `sdc.settings.Settings`)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

# In a pipeline's `inputs`, these values stand for the job's staged input files: the list,
# or the one file of a job that must have exactly one input.
JOB_INPUTS = "@job-inputs"
JOB_INPUT = "@job-input"


class PipelineSpec(BaseModel):
    """How the agent runs one pipeline name of the scheduler's jobs."""

    model_config = ConfigDict(extra="forbid")  # a misspelt key is an error

    script: Path = Field(description="the Pipeline Script")
    version: str = Field(default="1.0", description="enters every output's provenance id")
    inputs: dict[str, str | list[str]] = Field(
        description=f"pipeline input -> file(s), or {JOB_INPUTS!r} / {JOB_INPUT!r} for the "
        "job's staged input files / its single input file"
    )
    outputs: dict[str, str] = Field(description="pipeline output -> product type to register")


class AgentConfig(BaseModel):
    """Where the agent works, how often it heartbeats, which pipelines it knows."""

    model_config = ConfigDict(extra="forbid")  # a misspelt key is an error

    site: str | None = Field(default=None, description="the SDC this agent works for")
    token: str | None = Field(default=None, description="agent token of that site")
    archive_url: str = Field(default="http://127.0.0.1:8000", description="archive + scheduler")
    dss_url: str | None = Field(default=None, description="local DSS; default: the site's")
    workroot: Path = Field(default=Path("sdc-data/agent"), description="job working dirs")
    heartbeat_seconds: float = Field(default=30.0, gt=0)
    poll_seconds: float = Field(default=5.0, gt=0, description="pause when there is no work")
    drm: str = Field(default="local", description="batch system: local or slurm")
    max_parallel: int = Field(default=2, ge=1, description="pipeline nodes at once")
    pipelines: dict[str, PipelineSpec] = Field(default_factory=dict)
    transport: Literal["http", "celery"] = Field(
        default="http", description="how jobs arrive: http (pull) or celery (site queue)"
    )
    broker_url: str = Field(
        default="amqp://guest:guest@127.0.0.1:5672//",
        description="Celery broker holding the queue site.<SDC> (amqp://... or redis://...)",
    )
    concurrency: int = Field(default=1, ge=1, description="jobs run at once (celery transport)")
