"""Run jobs as subprocesses of this machine, never more declared cores at once than it has."""

from __future__ import annotations

import contextlib
import itertools
import os
import signal
import subprocess
import time
from collections import deque
from dataclasses import dataclass
from typing import IO

from sdc_agents.drm.protocol import ErrorClass, JobOutcome, JobPhase, JobSpec, SubmitError
from sdc_agents.profiling import ProcessSampler, over_use


@dataclass
class _Running:
    job: JobSpec
    process: subprocess.Popen[bytes]
    sampler: ProcessSampler
    deadline: float
    logs: tuple[IO[bytes], IO[bytes]]
    last_sample: float = 0.0


class LocalBatchSystem:
    """Subprocesses in their own session; a job over its walltime is killed (TIMEOUT)."""

    name = "local"

    def __init__(self, cores: int | None = None, sample_interval_s: float = 0.2) -> None:
        self.cores = cores or os.cpu_count() or 1
        self.sample_interval_s = sample_interval_s
        self._ids = itertools.count(1)
        self._queued: deque[tuple[str, JobSpec]] = deque()
        self._running: dict[str, _Running] = {}
        self._finished: dict[str, JobOutcome] = {}
        self._cores_busy = 0

    def submit(self, job: JobSpec) -> str:
        """Queue the job; it starts as soon as its declared cores are free."""
        if job.resources.cores > self.cores:
            raise SubmitError(
                f"{job.name} asks for {job.resources.cores} cores; this machine has {self.cores}"
            )
        job_id = f"local-{next(self._ids)}"
        self._queued.append((job_id, job))
        self._start_queued()
        return job_id

    def status(self, job_id: str) -> JobPhase:
        """Check (and sample) one job; start queued jobs when cores come free."""
        if job_id in self._finished:
            return JobPhase.FINISHED
        running = self._running.get(job_id)
        if running is None:
            return JobPhase.PENDING
        self._check(job_id, running)
        self._start_queued()
        return JobPhase.FINISHED if job_id in self._finished else JobPhase.RUNNING

    def cancel(self, job_id: str) -> None:
        """Drop a queued job or kill a running one."""
        for entry in list(self._queued):
            if entry[0] == job_id:
                self._queued.remove(entry)
                self._finished[job_id] = JobOutcome(None, ErrorClass.CANCELLED, "cancelled")
        running = self._running.get(job_id)
        if running is not None:
            _kill(running.process)
            self._reap(job_id, running, blocking=True, error=ErrorClass.CANCELLED)

    def collect(self, job_id: str) -> JobOutcome:
        """How the job ended; KeyError if it has not finished."""
        return self._finished[job_id]

    def _start_queued(self) -> None:
        while self._queued and self._cores_busy + self._queued[0][1].resources.cores <= self.cores:
            job_id, job = self._queued.popleft()
            self._launch(job_id, job)

    def _launch(self, job_id: str, job: JobSpec) -> None:
        for directory in (job.workdir, job.logdir, job.tmpdir):
            directory.mkdir(parents=True, exist_ok=True)
        stdout, stderr = open(job.stdout_path, "wb"), open(job.stderr_path, "wb")  # noqa: SIM115
        env = {**os.environ, "TMPDIR": str(job.tmpdir)}
        try:
            process = subprocess.Popen(
                job.argv,
                cwd=job.workdir,
                env=env,
                stdout=stdout,
                stderr=stderr,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        except OSError as exc:
            stdout.close()
            stderr.close()
            self._finished[job_id] = JobOutcome(None, ErrorClass.SUBMIT_FAILED, str(exc))
            return
        self._cores_busy += job.resources.cores
        deadline = time.monotonic() + job.resources.walltime * 3600
        self._running[job_id] = _Running(
            job, process, ProcessSampler(process.pid), deadline, (stdout, stderr)
        )

    def _check(self, job_id: str, running: _Running) -> None:
        now = time.monotonic()
        if now - running.last_sample >= self.sample_interval_s:
            running.sampler.sample()
            running.last_sample = now
        if self._reap(job_id, running, blocking=False):
            return
        if now > running.deadline:
            _kill(running.process)
            self._reap(job_id, running, blocking=True, error=ErrorClass.TIMEOUT)

    def _reap(
        self, job_id: str, running: _Running, blocking: bool, error: ErrorClass | None = None
    ) -> bool:
        # wait4 rather than Popen.poll: it returns the rusage (peak RSS, CPU, blocks)
        pid, status, rusage = os.wait4(running.process.pid, 0 if blocking else os.WNOHANG)
        if pid == 0:
            return False
        exit_code = os.waitstatus_to_exitcode(status)
        running.process.returncode = exit_code
        for log in running.logs:
            log.close()
        del self._running[job_id]
        self._cores_busy -= running.job.resources.cores
        usage = running.sampler.finish(rusage)
        res = running.job.resources
        flags = over_use(usage, res.ram, res.vms, res.walltime)
        if error is None and exit_code != 0:
            error = ErrorClass.NONZERO_EXIT
        message = (
            {
                ErrorClass.TIMEOUT: f"killed after its walltime of {res.walltime:g} h",
                ErrorClass.CANCELLED: "cancelled",
                ErrorClass.NONZERO_EXIT: f"exited with code {exit_code}",
            }.get(error, "")
            if error
            else ""
        )
        self._finished[job_id] = JobOutcome(exit_code, error, message, usage, flags)
        return True


def _kill(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
