"""Run jobs as subprocesses of this machine, never more declared cores at once than it has."""

from __future__ import annotations

import contextlib
import itertools
import os
import signal
import subprocess
import time
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import IO

from sdc_agents.drm.protocol import (
    ErrorClass,
    JobOutcome,
    JobPhase,
    JobSpec,
    SubmitError,
    make_job_dirs,
)
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
    """Subprocesses in their own session; a job over its walltime is killed (TIMEOUT).

    At most `max_jobs` run at once and never more declared cores than `cores`. A job's
    directories and log files are made on a stager thread as soon as it is submitted, and
    processes are spawned from a launcher pool, so the runner can hand over `prefetch` jobs
    ahead and the file-system work and fork/exec overlap the bookkeeping (both release the GIL).
    """

    name = "local"

    def __init__(
        self, cores: int | None = None, max_jobs: int | None = None, sample_interval_s: float = 0.2
    ) -> None:
        self.cores = cores or os.cpu_count() or 1
        self.max_jobs = max_jobs or self.cores
        self.prefetch = self.max_jobs
        self.sample_interval_s = sample_interval_s
        self._ids = itertools.count(1)
        self._queued: deque[tuple[str, JobSpec, Future[_Logs]]] = deque()
        self._stager: ThreadPoolExecutor | None = None
        self._starting: dict[str, tuple[JobSpec, Future[_Spawned]]] = {}
        self._running: dict[str, _Running] = {}
        self._finished: dict[str, JobOutcome] = {}
        self._cores_busy = 0
        self._launcher: ThreadPoolExecutor | None = None

    def submit(self, job: JobSpec) -> str:
        """Queue the job; it starts as soon as its declared cores are free."""
        if job.resources.cores > self.cores:
            raise SubmitError(
                f"{job.name} asks for {job.resources.cores} cores; this machine has {self.cores}"
            )
        job_id = f"local-{next(self._ids)}"
        if self._stager is None:
            self._stager = ThreadPoolExecutor(1, thread_name_prefix="local-drm-stage")
        self._queued.append((job_id, job, self._stager.submit(_stage, job)))
        self._start_queued()
        return job_id

    def status(self, job_id: str) -> JobPhase:
        """Check (and sample) one job; start queued jobs when cores come free."""
        if job_id in self._finished:
            return JobPhase.FINISHED
        if job_id in self._starting:
            if not self._starting[job_id][1].done():
                return JobPhase.RUNNING
            self._started(job_id)
        running = self._running.get(job_id)
        if running is not None:
            self._check(job_id, running)
        self._start_queued()
        if job_id in self._finished:
            return JobPhase.FINISHED
        return JobPhase.RUNNING if job_id in self._running else JobPhase.PENDING

    def cancel(self, job_id: str) -> None:
        """Drop a queued job or kill a running one."""
        for entry in list(self._queued):
            if entry[0] == job_id:
                self._queued.remove(entry)
                if entry[2].exception() is None:
                    for log in entry[2].result():
                        log.close()
                self._finished[job_id] = JobOutcome(None, ErrorClass.CANCELLED, "cancelled")
        if job_id in self._starting:
            self._starting[job_id][1].exception()  # wait for the spawn to end
            self._started(job_id)
        running = self._running.get(job_id)
        if running is not None:
            _kill(running.process)
            self._reap(job_id, running, blocking=True, error=ErrorClass.CANCELLED)

    def collect(self, job_id: str) -> JobOutcome:
        """How the job ended; KeyError if it has not finished."""
        return self._finished[job_id]

    def close(self) -> None:
        """Stop the launcher threads (jobs still running are left alone)."""
        for pool in (self._stager, self._launcher):
            if pool is not None:
                pool.shutdown(wait=True)
        self._stager = self._launcher = None

    def _start_queued(self) -> None:
        while (
            self._queued
            and self._cores_busy + self._queued[0][1].resources.cores <= self.cores
            and len(self._starting) + len(self._running) < self.max_jobs
        ):
            job_id, job, staged = self._queued.popleft()
            if self._launcher is None:
                self._launcher = ThreadPoolExecutor(self.max_jobs, thread_name_prefix="local-drm")
            self._cores_busy += job.resources.cores
            self._starting[job_id] = (job, self._launcher.submit(_spawn, job, staged))

    def _started(self, job_id: str) -> None:
        job, future = self._starting.pop(job_id)
        error = future.exception()
        if error is not None:
            self._cores_busy -= job.resources.cores
            self._finished[job_id] = JobOutcome(None, ErrorClass.SUBMIT_FAILED, str(error))
            return
        spawned = future.result()
        deadline = time.monotonic() + job.resources.walltime * 3600
        self._running[job_id] = _Running(
            job,
            spawned.process,
            ProcessSampler(spawned.process.pid),
            deadline,
            spawned.logs,
            last_sample=time.monotonic(),
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


@dataclass(frozen=True)
class _Spawned:
    process: subprocess.Popen[bytes]
    logs: tuple[IO[bytes], IO[bytes]]


_Logs = tuple[IO[bytes], IO[bytes]]


def _stage(job: JobSpec) -> _Logs:
    """Create the job's directories and open its logs (runs on the stager thread)."""
    make_job_dirs(job)
    return open(job.stdout_path, "wb"), open(job.stderr_path, "wb")  # noqa: SIM115


def _spawn(job: JobSpec, staged: Future[_Logs]) -> _Spawned:
    """Start the staged job (runs on a launcher thread)."""
    stdout, stderr = staged.result()
    try:
        process = subprocess.Popen(
            job.argv,
            cwd=job.workdir,
            env={**os.environ, "TMPDIR": str(job.tmpdir)},
            stdout=stdout,
            stderr=stderr,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
    except OSError:
        stdout.close()
        stderr.close()
        raise
    return _Spawned(process, (stdout, stderr))


def _kill(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
