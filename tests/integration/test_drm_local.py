"""The local batch system's own promises: declared cores, profiling, memory flags, TMPDIR."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import pytest

from sdc_agents.drm import JobPhase, JobSpec, LocalBatchSystem, SubmitError
from sdc_agents.pipeline import ComputingResources


def _job(tmp_path: Path, name: str, code: str, **resources: float) -> JobSpec:
    return JobSpec(
        name,
        [sys.executable, "-c", code],
        tmp_path / name / "work",
        tmp_path / name / "logs",
        tmp_path / name / "tmp",
        ComputingResources(**resources),
    )


def _wait_all(batch: LocalBatchSystem, job_ids: list[str]) -> None:
    end = time.monotonic() + 30
    while any(batch.status(j) is not JobPhase.FINISHED for j in job_ids):
        assert time.monotonic() < end
        time.sleep(0.01)


def test_a_job_asking_more_cores_than_the_machine_is_refused(tmp_path: Path) -> None:
    batch = LocalBatchSystem(os.environ, cores=2)
    with pytest.raises(SubmitError, match="asks for 3 cores; this machine has 2"):
        batch.submit(_job(tmp_path, "big", "pass", cores=3))


def test_declared_cores_are_never_oversubscribed(tmp_path: Path) -> None:
    batch = LocalBatchSystem(os.environ, cores=2, max_jobs=4)
    code = (
        "import time, pathlib; start = time.time(); time.sleep(0.3); "
        "pathlib.Path('t').write_text(f'{start} {time.time()}')"
    )
    wide = batch.submit(_job(tmp_path, "wide", code, cores=2))
    narrow = batch.submit(_job(tmp_path, "narrow", code, cores=1))
    _wait_all(batch, [wide, narrow])
    (a0, a1), (b0, b1) = (
        map(float, (tmp_path / name / "work" / "t").read_text().split())
        for name in ("wide", "narrow")
    )
    assert a1 <= b0 or b1 <= a0  # one after the other, never side by side
    batch.close()


def test_memory_over_use_is_measured_and_flagged(tmp_path: Path) -> None:
    batch = LocalBatchSystem(os.environ, sample_interval_s=0.05)
    code = "import time; block = bytearray(80 * 1024 * 1024); time.sleep(0.6)"
    job_id = batch.submit(_job(tmp_path, "hog", code, ram=0.05, vms=0.01))
    _wait_all(batch, [job_id])
    outcome = batch.collect(job_id)
    assert outcome.ok  # over-use of memory is flagged, not fatal
    assert outcome.usage is not None and outcome.usage.max_rss_mb > 80
    assert outcome.usage.wall_s >= 0.6
    assert any(flag.startswith("memory: max RSS") for flag in outcome.flags)
    assert any(flag.startswith("virtual memory") for flag in outcome.flags)
    batch.close()


def test_a_job_starts_with_the_environment_it_is_given_plus_its_tmpdir(tmp_path: Path) -> None:
    batch = LocalBatchSystem({"SDC_JOB_MARK": "from-settings", "TMPDIR": "/not/this/one"})
    code = "import os, json, pathlib; pathlib.Path('env').write_text(json.dumps(dict(os.environ)))"
    job = _job(tmp_path, "env", code)
    _wait_all(batch, [batch.submit(job)])
    seen = json.loads((job.workdir / "env").read_text())
    # nothing of this process's own environment leaks in (say, PATH or HOME)
    assert {k: v for k, v in seen.items() if k != "LC_CTYPE"} == {
        "SDC_JOB_MARK": "from-settings", "TMPDIR": str(job.tmpdir)
    }  # fmt: skip
    batch.close()
