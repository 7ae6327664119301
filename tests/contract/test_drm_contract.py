"""One contract for every batch system: submit, status, cancel, collect (local and Slurm)."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from sdc_agents.drm import BATCH_SYSTEMS, BatchSystem, ErrorClass, JobPhase, JobSpec
from sdc_agents.pipeline import ComputingResources
from tests.slurm_cluster import slurm_cluster  # noqa: F401  (session fixture)


@pytest.fixture(params=sorted(BATCH_SYSTEMS))
def batch(request: pytest.FixtureRequest) -> Iterator[BatchSystem]:
    """Each registered batch system; Slurm's needs the cluster."""
    if request.param == "slurm":
        request.getfixturevalue("slurm_cluster")
    yield BATCH_SYSTEMS[request.param](os.environ)


def _job(tmp_path: Path, shell: str) -> JobSpec:
    return JobSpec(
        "contract",
        ["/bin/sh", "-c", shell],
        tmp_path / "work",
        tmp_path / "logs",
        tmp_path / "tmp",
        ComputingResources(cores=1, ram=0.2, walltime=0.1),
    )


def _wait(batch: BatchSystem, job_id: str, timeout: float = 60) -> None:
    end = time.monotonic() + timeout
    while batch.status(job_id) is not JobPhase.FINISHED:
        assert time.monotonic() < end, f"{job_id} did not finish in {timeout} s"
        time.sleep(0.05)


def test_a_job_runs_in_its_directories_and_is_collected(batch: BatchSystem, tmp_path: Path) -> None:
    job = _job(tmp_path, 'echo "tmp=$TMPDIR"; pwd > where.txt; echo to-stderr >&2')
    job_id = batch.submit(job)
    _wait(batch, job_id)
    outcome = batch.collect(job_id)
    assert outcome.ok and outcome.exit_code == 0
    assert (tmp_path / "work" / "where.txt").read_text().strip() == str(tmp_path / "work")
    assert f"tmp={tmp_path / 'tmp'}" in job.log_path.read_text()
    assert "to-stderr" in job.log_path.read_text()
    assert outcome.usage is not None and outcome.usage.wall_s >= 0


def test_a_nonzero_exit_is_reported_with_its_code(batch: BatchSystem, tmp_path: Path) -> None:
    job_id = batch.submit(_job(tmp_path, "exit 3"))
    _wait(batch, job_id)
    outcome = batch.collect(job_id)
    assert outcome.error_class is ErrorClass.NONZERO_EXIT
    assert outcome.exit_code == 3


def test_a_cancelled_job_ends_cancelled(batch: BatchSystem, tmp_path: Path) -> None:
    job_id = batch.submit(_job(tmp_path, "sleep 60"))
    end = time.monotonic() + 30
    while batch.status(job_id) is JobPhase.PENDING and time.monotonic() < end:
        time.sleep(0.1)
    batch.cancel(job_id)
    _wait(batch, job_id)
    assert batch.collect(job_id).error_class is ErrorClass.CANCELLED
