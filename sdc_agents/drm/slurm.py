"""Slurm: the sbatch script and the parsing of squeue/sacct are pure; the calls are a few lines."""

from __future__ import annotations

import math
import re
import shlex
import subprocess
import time

from sdc_agents.drm.protocol import (
    ErrorClass,
    JobOutcome,
    JobPhase,
    JobSpec,
    SubmitError,
    make_job_dirs,
)
from sdc_agents.profiling import ResourceUsage, over_use

PENDING_STATES = {"PENDING", "CONFIGURING", "REQUEUED", "RESV_DEL_HOLD", "SUSPENDED"}
RUNNING_STATES = {"RUNNING", "COMPLETING", "STAGE_OUT", "SIGNALING"}
FAILURE_CLASSES = {
    "TIMEOUT": ErrorClass.TIMEOUT,
    "DEADLINE": ErrorClass.TIMEOUT,
    "OUT_OF_MEMORY": ErrorClass.OUT_OF_MEMORY,
    "CANCELLED": ErrorClass.CANCELLED,
}
SACCT_FIELDS = "JobID,State,ExitCode,Elapsed,TotalCPU,MaxRSS,MaxVMSize,MaxDiskRead,MaxDiskWrite"


def sbatch_script(job: JobSpec, partition: str | None = None) -> str:
    """The batch script for `job`: its resources as #SBATCH lines, its own TMPDIR, its argv."""
    res = job.resources
    minutes = max(1, math.ceil(res.walltime * 60))
    lines = [
        "#!/bin/bash",
        f"#SBATCH --job-name={job.name}",
        f"#SBATCH --cpus-per-task={res.cores}",
        f"#SBATCH --mem={max(1, math.ceil(res.ram * 1024))}M",
        f"#SBATCH --time={minutes // 60}:{minutes % 60:02d}:00",
        f"#SBATCH --chdir={job.workdir}",
        f"#SBATCH --output={job.log_path}",
    ]
    if partition:
        lines.append(f"#SBATCH --partition={partition}")
    if res.gpus:
        lines.append(f"#SBATCH --gres=gpu:{res.gpus}")
    if res.tmpdir:
        lines.append(f"#SBATCH --tmp={math.ceil(res.tmpdir * 1024)}M")
    lines += [
        f"export TMPDIR={shlex.quote(str(job.tmpdir))}",
        'mkdir -p "$TMPDIR"',
        f"exec {shlex.join(job.argv)}",
    ]
    return "\n".join(lines) + "\n"


def phase_of(squeue_state: str) -> JobPhase:
    """Map a squeue/scontrol state (e.g. `RUNNING`, `CANCELLED by 0`) to a JobPhase."""
    state = squeue_state.strip().split(" ")[0]
    if state in PENDING_STATES or not state:
        return JobPhase.PENDING
    if state in RUNNING_STATES:
        return JobPhase.RUNNING
    return JobPhase.FINISHED


def parse_size_mb(text: str) -> float:
    """Slurm sizes (`1234K`, `10.5M`, `2G`, bare bytes) in MB; empty means 0."""
    match = re.fullmatch(r"([\d.]+)([KMGT]?)", text.strip())
    if not match:
        return 0.0
    scale = {"": 1 / 1024 / 1024, "K": 1 / 1024, "M": 1.0, "G": 1024.0, "T": 1024.0**2}
    return float(match.group(1)) * scale[match.group(2)]


def parse_duration_s(text: str) -> float:
    """Slurm durations (`D-HH:MM:SS`, `HH:MM:SS`, `MM:SS.mmm`) in seconds."""
    text = text.strip()
    if not text:
        return 0.0
    days, _, clock = text.rpartition("-")
    parts = [float(p) for p in clock.split(":")]
    while len(parts) < 3:
        parts.insert(0, 0.0)
    return float(days or 0) * 86400 + parts[0] * 3600 + parts[1] * 60 + parts[2]


def parse_sacct(output: str, job_id: str) -> tuple[str, int | None, int, ResourceUsage]:
    """(state, exit code, signal, usage) from `sacct -n -P -o SACCT_FIELDS` for one job.

    The allocation line carries the state and exit code; the steps carry the peaks.
    """
    state, exit_code, signal_no = "", None, 0
    wall = cpu = rss = vms = 0.0
    read = written = 0.0
    for line in output.splitlines():
        cells = line.split("|")
        if len(cells) < 9:
            continue
        step_id, st, code, elapsed, total_cpu, max_rss, max_vms, disk_read, disk_write = cells[:9]
        if step_id == job_id:
            state = st.split(" ")[0]
            rc, _, sig = code.partition(":")
            exit_code, signal_no = int(rc or 0), int(sig or 0)
            wall = parse_duration_s(elapsed)
            cpu = parse_duration_s(total_cpu)
        rss, vms = max(rss, parse_size_mb(max_rss)), max(vms, parse_size_mb(max_vms))
        read = max(read, parse_size_mb(disk_read) * 1024 * 1024)
        written = max(written, parse_size_mb(disk_write) * 1024 * 1024)
    usage = ResourceUsage(
        wall_s=wall,
        cpu_s=cpu,
        cpu_percent=round(100 * cpu / wall, 1) if wall else 0.0,
        max_rss_mb=round(rss, 2),
        max_vms_mb=round(vms, 2),
        read_bytes=int(read),
        write_bytes=int(written),
    )
    return state, exit_code, signal_no, usage


def outcome_of(
    state: str, exit_code: int | None, signal_no: int, usage: ResourceUsage, job: JobSpec
) -> JobOutcome:
    """The JobOutcome for a job that ended in `state` with `exit_code:signal_no`."""
    res = job.resources
    flags = over_use(usage, res.ram, res.vms, res.walltime)
    if state == "COMPLETED" and exit_code == 0:
        return JobOutcome(0, None, "", usage, flags)
    error = FAILURE_CLASSES.get(state, ErrorClass.NONZERO_EXIT)
    detail = f"slurm state {state}, exit code {exit_code}" + (
        f", signal {signal_no}" if signal_no else ""
    )
    return JobOutcome(exit_code, error, detail, usage, flags)


class SlurmBatchSystem:
    """Submits with sbatch, follows with squeue, reads the end from sacct."""

    name = "slurm"
    prefetch = 0  # Slurm queues by itself; --max-parallel caps what is in its queue

    def __init__(self, partition: str | None = None, sacct_wait_s: float = 15.0) -> None:
        self.partition = partition
        self.sacct_wait_s = sacct_wait_s
        self._jobs: dict[str, JobSpec] = {}

    def submit(self, job: JobSpec) -> str:
        """Write the batch script beside the logs and sbatch it."""
        script = job.logdir / "job.sbatch"
        try:
            make_job_dirs(job)
            script.write_text(sbatch_script(job, self.partition))
        except OSError as exc:
            raise SubmitError(f"cannot prepare {job.name}: {exc}") from exc
        done = _run(["sbatch", "--parsable", str(script)])
        if done.returncode != 0:
            raise SubmitError(f"sbatch refused {job.name}: {done.stderr.strip()}")
        job_id = done.stdout.strip().split(";")[0]
        self._jobs[job_id] = job
        return job_id

    def status(self, job_id: str) -> JobPhase:
        """The job's phase from squeue (all states, so finished jobs are seen too)."""
        done = _run(["squeue", "--states=all", "-h", "-j", job_id, "-o", "%T"])
        if done.returncode != 0 or not done.stdout.strip():
            # aged out of the controller's memory: accounting has the final word
            return JobPhase.FINISHED
        return phase_of(done.stdout.splitlines()[0])

    def cancel(self, job_id: str) -> None:
        """scancel the job."""
        _run(["scancel", job_id])

    def collect(self, job_id: str) -> JobOutcome:
        """Read the final state and usage from sacct, waiting for accounting to catch up."""
        deadline = time.monotonic() + self.sacct_wait_s
        while True:
            done = _run(["sacct", "-n", "-P", "-j", job_id, "-o", SACCT_FIELDS])
            state, exit_code, signal_no, usage = parse_sacct(done.stdout, job_id)
            if phase_of(state) is JobPhase.FINISHED and state:
                return outcome_of(state, exit_code, signal_no, usage, self._jobs[job_id])
            if time.monotonic() > deadline:
                return JobOutcome(None, ErrorClass.NONZERO_EXIT, f"sacct has no end for {job_id}")
            time.sleep(0.2)

    def wait(self, timeout_s: float) -> None:
        """Slurm tells nobody when a job ends: just let `timeout_s` pass before asking again."""
        time.sleep(timeout_s)

    def close(self) -> None:
        """Nothing to release: every call is a separate Slurm command."""


def _run(argv: list[str]) -> subprocess.CompletedProcess[str]:
    try:
        return subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
    except FileNotFoundError as exc:
        raise SubmitError(f"{argv[0]} not found: is Slurm installed here?") from exc
