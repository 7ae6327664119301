"""Sample a running job with psutil and compare what it used with what it asked for."""

from __future__ import annotations

import resource
import time
from dataclasses import dataclass

import psutil

MB = 1024 * 1024


@dataclass(frozen=True, slots=True)
class ResourceUsage:
    """What one job used: wall and CPU time, peak memory, bytes read and written."""

    wall_s: float
    cpu_s: float
    cpu_percent: float
    max_rss_mb: float
    max_vms_mb: float
    read_bytes: int
    write_bytes: int

    def as_dict(self) -> dict[str, float | int]:
        """Plain values for the manifest."""
        return {name: getattr(self, name) for name in self.__slots__}


class ProcessSampler:
    """Keeps the peaks of a process seen over repeated `sample()` calls."""

    def __init__(self, pid: int) -> None:
        self.started = time.monotonic()
        self.max_rss = 0
        self.max_vms = 0
        self.read_bytes = 0
        self.write_bytes = 0
        self.pid = pid
        self._process: psutil.Process | None = None

    def sample(self) -> None:
        """Read memory and I/O now; a process that has just exited is simply not sampled."""
        if self._process is None:
            # created on the first sample: most short jobs end before and cost nothing
            try:
                self._process = psutil.Process(self.pid)
            except psutil.Error:
                return
        try:
            with self._process.oneshot():
                memory = self._process.memory_info()
                io = self._process.io_counters()
        except (psutil.Error, AttributeError):
            return
        self.max_rss = max(self.max_rss, memory.rss)
        self.max_vms = max(self.max_vms, memory.vms)
        self.read_bytes = max(self.read_bytes, io.read_bytes)
        self.write_bytes = max(self.write_bytes, io.write_bytes)

    def finish(self, rusage: resource.struct_rusage | None) -> ResourceUsage:
        """The usage of the finished process, completing the samples with its rusage."""
        wall = time.monotonic() - self.started
        cpu = (rusage.ru_utime + rusage.ru_stime) if rusage else 0.0
        # not ru_maxrss: after vfork+exec Linux carries the parent's peak into the child's,
        # so it reports the runner's size; a job ending before its first sample reads 0
        rss = self.max_rss
        written = max(self.write_bytes, (rusage.ru_oublock * 512) if rusage else 0)
        read = max(self.read_bytes, (rusage.ru_inblock * 512) if rusage else 0)
        return ResourceUsage(
            wall_s=round(wall, 3),
            cpu_s=round(cpu, 3),
            cpu_percent=round(100.0 * cpu / wall, 1) if wall > 0 else 0.0,
            max_rss_mb=round(rss / MB, 2),
            max_vms_mb=round(self.max_vms / MB, 2),
            read_bytes=read,
            write_bytes=written,
        )


def over_use(
    used: ResourceUsage, ram_gb: float, vms_gb: float | None, walltime_h: float
) -> list[str]:
    """Flags for every resource the job used beyond what it requested (empty when within)."""
    flags = []
    if used.max_rss_mb > ram_gb * 1024:
        flags.append(f"memory: max RSS {used.max_rss_mb:.0f} MB > requested {ram_gb:g} GB")
    if vms_gb is not None and used.max_vms_mb > vms_gb * 1024:
        flags.append(f"virtual memory: {used.max_vms_mb:.0f} MB > requested {vms_gb:g} GB")
    if used.wall_s > walltime_h * 3600:
        flags.append(f"walltime: {used.wall_s:.0f} s > requested {walltime_h:g} h")
    return flags
