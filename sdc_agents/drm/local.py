"""Run jobs as subprocesses of this machine, never more declared cores at once than it has.

Each job is carried by one worker thread from start to end ("a lane"): spawn it, then block
on its pid (a pidfd) until it exits, sampling it with psutil meanwhile and killing it past its
walltime. Blocking releases the GIL, so lanes cost the runner nothing while their jobs run,
and a lane picks up the next queued job the moment one ends. Its directories and log are
made beforehand by a "stager" thread while the job waits in the queue: on a busy machine a
mkdir on ext4 takes half a millisecond, and five of them per job would otherwise sit between
one job's end and the next one's start.
"""

from __future__ import annotations

import itertools
import os
import select
import signal
import subprocess
import threading
import time
from collections.abc import Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field

from sdc_agents.drm.protocol import (
    ErrorClass,
    JobOutcome,
    JobPhase,
    JobSpec,
    SubmitError,
    make_job_dirs,
)
from sdc_agents.profiling import ProcessSampler, over_use

FIRST_SAMPLE_S = 0.005


@dataclass
class _LocalJob:
    job: JobSpec
    cancelled: threading.Event = field(default_factory=threading.Event)
    process: subprocess.Popen[bytes] | None = None
    future: Future[JobOutcome] | None = None
    staging: threading.Lock = field(default_factory=threading.Lock)
    staged: bool = False
    log_fd: int | None = None  # the job's log, opened with its directories
    staging_error: OSError | None = None


class _CoreLedger:
    """Declared cores in use; a lane waits here until its job's cores are free."""

    def __init__(self, total: int) -> None:
        self.free = total
        self._changed = threading.Condition()

    @contextmanager
    def hold(self, cores: int) -> Iterator[None]:
        with self._changed:
            self._changed.wait_for(lambda: self.free >= cores)
            self.free -= cores
        try:
            yield
        finally:
            with self._changed:
                self.free += cores
                self._changed.notify_all()


class _Turnover:
    """Jobs handed over, started and ended, so that the runner is woken when it has work.

    Waking the runner costs a thread switch and the GIL: while enough jobs are queued for
    the lanes, an ended job does not wake it; it is woken once the queue runs low (then it
    collects several ended jobs at once) or when nothing is left to run.
    """

    def __init__(self, low_water: int) -> None:
        self.low_water = low_water
        self.queued = 0  # handed over, not yet taken by a lane
        self.unfinished = 0  # handed over, not yet ended
        self.ended = 0  # ended since the runner last woke
        self._changed = threading.Condition()

    def handed_over(self) -> None:
        with self._changed:
            self.queued += 1
            self.unfinished += 1

    def taken(self) -> None:
        with self._changed:
            self.queued -= 1

    def job_ended(self) -> None:
        with self._changed:
            self.unfinished -= 1
            self.ended += 1
            if self._worth_waking():
                self._changed.notify_all()

    def wait(self, timeout_s: float) -> bool:
        """True when woken by ended jobs, False after `timeout_s`."""
        with self._changed:
            woken = self._changed.wait_for(self._worth_waking, timeout_s)
            if woken:
                self.ended = 0
            return woken

    def _worth_waking(self) -> bool:
        return self.ended > 0 and (self.queued <= self.low_water or self.unfinished == 0)


class LocalBatchSystem:
    """Subprocesses in their own process group; a job over its walltime is killed (TIMEOUT).

    Jobs start with `environment` (the agent's own, from its Settings) plus their TMPDIR. At
    most `max_jobs` run at once and never more declared cores than `cores`; the runner may
    hand over `prefetch` jobs beyond those, which wait in the queue for a free lane.
    """

    name = "local"

    def __init__(
        self,
        environment: Mapping[str, str],
        cores: int | None = None,
        max_jobs: int | None = None,
        sample_interval_s: float = 0.2,
    ) -> None:
        self.cores = cores or os.cpu_count() or 1
        self.max_jobs = max_jobs or self.cores
        self.prefetch = 4 * self.max_jobs  # queued ahead: lanes never wait for the main loop
        self.sample_interval_s = sample_interval_s
        self._ids = itertools.count(1)
        self._jobs: dict[str, _LocalJob] = {}
        self._ledger = _CoreLedger(self.cores)
        self._lanes: ThreadPoolExecutor | None = None
        self._stagers: ThreadPoolExecutor | None = None
        # copied and encoded once, not per job
        self._environment = {os.fsencode(k): os.fsencode(v) for k, v in environment.items()}
        self._devnull = -1  # the jobs' standard input, opened with the lanes
        self._turnover = _Turnover(low_water=self.prefetch // 2)

    def submit(self, job: JobSpec) -> str:
        """Queue the job; a lane starts it as soon as its declared cores are free."""
        if job.resources.cores > self.cores:
            raise SubmitError(
                f"{job.name} asks for {job.resources.cores} cores; this machine has {self.cores}"
            )
        if self._lanes is None or self._stagers is None:
            self._lanes = ThreadPoolExecutor(self.max_jobs, thread_name_prefix="local-drm")
            self._stagers = ThreadPoolExecutor(self.max_jobs, thread_name_prefix="local-stage")
            self._devnull = os.open(os.devnull, os.O_RDONLY | os.O_CLOEXEC)
        job_id = f"local-{next(self._ids)}"
        entry = _LocalJob(job)
        self._jobs[job_id] = entry
        self._turnover.handed_over()
        self._stagers.submit(self._stage, entry)
        entry.future = self._lanes.submit(self._carry, entry)
        # counted once the future is done, so a woken waiter sees the job FINISHED
        entry.future.add_done_callback(lambda _: self._turnover.job_ended())
        return job_id

    def status(self, job_id: str) -> JobPhase:
        """PENDING until a lane starts the job, RUNNING, then FINISHED."""
        entry = self._jobs[job_id]
        if entry.future is not None and entry.future.done():
            return JobPhase.FINISHED
        return JobPhase.RUNNING if entry.process is not None else JobPhase.PENDING

    def cancel(self, job_id: str) -> None:
        """Drop a queued job or kill a running one."""
        entry = self._jobs[job_id]
        entry.cancelled.set()
        if entry.process is not None:
            _kill(entry.process)

    def collect(self, job_id: str) -> JobOutcome:
        """How the job ended (waits for its lane if it has not)."""
        entry = self._jobs.pop(job_id)
        assert entry.future is not None
        return entry.future.result()

    def wait(self, timeout_s: float) -> None:
        """Block until jobs have ended and the queue runs low or empties (or `timeout_s`)."""
        self._turnover.wait(timeout_s)

    def close(self) -> None:
        """Wait for the lanes to finish and stop them."""
        if self._lanes is not None and self._stagers is not None:
            self._stagers.shutdown(wait=True)
            self._lanes.shutdown(wait=True)
            self._lanes = self._stagers = None
            os.close(self._devnull)

    def _stage(self, entry: _LocalJob) -> None:
        """Make the job's directories and open its log: once, by a stager or else its lane."""
        with entry.staging:
            if entry.staged or entry.cancelled.is_set():
                return
            entry.staged = True
            job = entry.job
            try:
                make_job_dirs(job)
                entry.log_fd = os.open(
                    job.log_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o644
                )
            except OSError as exc:
                entry.staging_error = exc

    def _carry(self, entry: _LocalJob) -> JobOutcome:
        job = entry.job
        self._turnover.taken()
        with self._ledger.hold(job.resources.cores):
            try:
                self._stage(entry)
                if entry.cancelled.is_set():
                    return JobOutcome(None, ErrorClass.CANCELLED, "cancelled before it started")
                if entry.staging_error is not None or entry.log_fd is None:
                    error = f"cannot start: {entry.staging_error}"
                    return JobOutcome(None, ErrorClass.SUBMIT_FAILED, error)
                entry.process = self._spawn(job, entry.log_fd)
            except OSError as exc:
                return JobOutcome(None, ErrorClass.SUBMIT_FAILED, f"cannot start: {exc}")
            finally:
                if entry.log_fd is not None:
                    os.close(entry.log_fd)  # the job has its own copy
                    entry.log_fd = None
            if entry.cancelled.is_set():
                _kill(entry.process)
            return self._follow(entry, entry.process)

    def _spawn(self, job: JobSpec, log: int) -> subprocess.Popen[bytes]:
        # plain file descriptors: a file object and Popen's own /dev/null cost six more
        # syscalls per job
        return subprocess.Popen(
            job.argv,
            cwd=job.workdir,
            env={**self._environment, b"TMPDIR": bytes(job.tmpdir)},
            stdout=log,
            stderr=log,
            stdin=self._devnull,
            # its own process group, so a kill reaches its children too;
            # not start_new_session: setsid doubles the cost of each spawn here
            process_group=0,
        )

    def _follow(self, entry: _LocalJob, process: subprocess.Popen[bytes]) -> JobOutcome:
        res = entry.job.resources
        sampler = ProcessSampler(process.pid)
        deadline = time.monotonic() + res.walltime * 3600
        timed_out = False
        exited = os.pidfd_open(process.pid)
        gap = FIRST_SAMPLE_S  # sample early, then less often: short jobs get measured too
        try:
            while True:
                wait_s = min(gap, max(0.0, deadline - time.monotonic()))
                if select.select([exited], [], [], wait_s)[0]:
                    break
                sampler.sample()
                gap = min(gap * 2, self.sample_interval_s)
                if not timed_out and time.monotonic() >= deadline:
                    timed_out = True
                    _kill(process)
        finally:
            os.close(exited)
        # wait4 rather than Popen.wait: it returns the rusage (CPU time, peak RSS, blocks)
        _, status, rusage = os.wait4(process.pid, 0)
        exit_code = os.waitstatus_to_exitcode(status)
        process.returncode = exit_code
        usage = sampler.finish(rusage)
        flags = over_use(usage, res.ram, res.vms, res.walltime)
        if timed_out:
            error, message = ErrorClass.TIMEOUT, f"killed after its walltime of {res.walltime:g} h"
        elif entry.cancelled.is_set():
            error, message = ErrorClass.CANCELLED, "cancelled"
        elif exit_code != 0:
            error, message = ErrorClass.NONZERO_EXIT, f"exited with code {exit_code}"
        else:
            error, message = None, ""
        return JobOutcome(exit_code, error, message, usage, flags)


def _kill(process: subprocess.Popen[bytes]) -> None:
    """Kill the job's whole process group."""
    with suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
