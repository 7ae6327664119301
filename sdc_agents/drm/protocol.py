"""The one small protocol every batch system (local, slurm, later pilots) implements."""

from __future__ import annotations

import os
import shutil
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
    fresh_dirs: tuple[Path, ...] = ()  # emptied before the job starts

    @property
    def log_path(self) -> Path:
        """The job's log: standard output and standard error together, as Slurm does."""
        return self.logdir / "job.log"


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
    prefetch: int  # jobs the runner may hand over beyond those it lets run at once

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

    def wait(self, timeout_s: float) -> None:
        """Block until a job may have changed phase, or `timeout_s` has passed."""
        ...

    def close(self) -> None:
        """Release what the batch system holds in this process (threads, connections)."""
        ...


def make_job_dirs(job: JobSpec) -> None:
    """Create the job's directories; its fresh ones start empty (no stale outputs)."""
    # each is tried with one mkdir first: for a new node that is all it costs, where
    # makedirs and rmtree would stat every path before
    for directory in dict.fromkeys((job.workdir, job.logdir, job.tmpdir)):
        _make_dir(directory)
    for directory in job.fresh_dirs:
        try:
            os.mkdir(directory)
        except FileExistsError:
            shutil.rmtree(directory)
            os.mkdir(directory)
        except FileNotFoundError:
            os.makedirs(directory)


def _make_dir(directory: Path) -> None:
    """`mkdir -p`, starting from the directory itself rather than from the root."""
    try:
        os.mkdir(directory)
    except FileExistsError:
        if not directory.is_dir():
            raise
    except FileNotFoundError:
        _make_dir(directory.parent)
        _make_dir(directory)


def log_tail(job: JobSpec, lines: int = 20) -> str:
    """The last `lines` lines of the job's log."""
    try:
        text = job.log_path.read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.rstrip().splitlines()[-lines:])
