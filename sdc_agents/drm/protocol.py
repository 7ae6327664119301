"""The one small protocol every batch system (local, slurm, later pilots) implements."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Protocol

from sdc_agents.pipeline.dsl import ComputingResources
from sdc_agents.profiling import ResourceUsage


class JobPhase(StrEnum):
    """Where a submitted job is; only FINISHED jobs can be collected."""

    PENDING = "PENDING"
    RUNNING = "RUNNING"
    FINISHED = "FINISHED"


class ErrorClass(StrEnum):
    """Why a node failed, in words an operator can act on."""

    NONZERO_EXIT = "NONZERO_EXIT"
    MISSING_OUTPUT = "MISSING_OUTPUT"
    TIMEOUT = "TIMEOUT"
    OUT_OF_MEMORY = "OUT_OF_MEMORY"
    CANCELLED = "CANCELLED"
    SUBMIT_FAILED = "SUBMIT_FAILED"
    BAD_RESOURCES = "BAD_RESOURCES"


@dataclass(frozen=True)
class JobSpec:
    """One command to run: argv, its directories and what it asks for."""

    name: str
    argv: list[str]
    workdir: Path
    logdir: Path
    tmpdir: Path
    resources: ComputingResources

    @property
    def stdout_path(self) -> Path:
        """Where the job's standard output goes."""
        return self.logdir / "stdout.log"

    @property
    def stderr_path(self) -> Path:
        """Where the job's standard error goes."""
        return self.logdir / "stderr.log"


@dataclass(frozen=True)
class JobOutcome:
    """How a finished job ended and what it used."""

    exit_code: int | None
    error_class: ErrorClass | None
    message: str = ""
    usage: ResourceUsage | None = None
    flags: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when the batch system saw no failure (outputs are checked by the executor)."""
        return self.error_class is None


class SubmitError(RuntimeError):
    """The batch system refused a job."""


class BatchSystem(Protocol):
    """submit / status / cancel / collect: all the runner needs from a batch system."""

    name: str

    def submit(self, job: JobSpec) -> str:
        """Queue `job`; return the batch system's id for it or raise SubmitError."""
        ...

    def status(self, job_id: str) -> JobPhase:
        """Where the job is now."""
        ...

    def cancel(self, job_id: str) -> None:
        """Stop the job if it has not finished."""
        ...

    def collect(self, job_id: str) -> JobOutcome:
        """How a FINISHED job ended."""
        ...


def log_tail(job: JobSpec, lines: int = 20) -> str:
    """The last `lines` lines of the job's stderr, else of its stdout."""
    for path in (job.stderr_path, job.stdout_path):
        try:
            text = path.read_text(errors="replace")
        except OSError:
            continue
        if text.strip():
            return "\n".join(text.rstrip().splitlines()[-lines:])
    return ""
