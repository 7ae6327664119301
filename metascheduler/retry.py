"""Retries by error class: transient ones back off, resource ones get more memory."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from metascheduler.jobs import ErrorClass, Job


class ErrorKind(enum.StrEnum):
    """How an error class is treated."""

    TRANSIENT = "transient"
    RESOURCE = "resource"
    PERMANENT = "permanent"


DEFAULT_KINDS: dict[ErrorClass, ErrorKind] = {
    ErrorClass.NODE_LOST: ErrorKind.TRANSIENT,
    ErrorClass.TIMEOUT: ErrorKind.TRANSIENT,
    ErrorClass.LEASE_EXPIRED: ErrorKind.TRANSIENT,
    ErrorClass.STAGING: ErrorKind.TRANSIENT,
    ErrorClass.OUT_OF_MEMORY: ErrorKind.RESOURCE,
    ErrorClass.NONZERO_EXIT: ErrorKind.PERMANENT,
    ErrorClass.MISSING_OUTPUT: ErrorKind.PERMANENT,
    ErrorClass.BAD_INPUT: ErrorKind.PERMANENT,
    ErrorClass.CANCELLED: ErrorKind.PERMANENT,
}


@dataclass(frozen=True)
class RetryPolicy:
    """Configurable retry rules (the scheduler settings carry one)."""

    max_attempts: int = 3
    backoff_first: timedelta = timedelta(seconds=30)
    backoff_factor: float = 2.0
    backoff_max: timedelta = timedelta(hours=1)
    memory_factor: float = 1.5
    memory_max_gb: float = 256.0
    kinds: dict[ErrorClass, ErrorKind] = field(default_factory=lambda: dict(DEFAULT_KINDS))

    def backoff(self, attempts: int) -> timedelta:
        """Delay before attempt number `attempts + 1` (attempts already made >= 1)."""
        seconds = self.backoff_first.total_seconds() * self.backoff_factor ** max(attempts - 1, 0)
        return min(timedelta(seconds=seconds), self.backoff_max)


@dataclass(frozen=True)
class Retry:
    """Run the job again, not before `not_before`, with `ram_gb` of memory."""

    not_before: datetime
    ram_gb: float


@dataclass(frozen=True)
class Quarantine:
    """The job failed too often (or permanently): stop and list it for a human."""

    reason: str


RetryDecision = Retry | Quarantine


def after_failure(job: Job, error: ErrorClass, now: datetime, policy: RetryPolicy) -> RetryDecision:
    """Decide what follows a failed attempt; `job.attempts` counts the attempt that failed."""
    kind = policy.kinds.get(error, ErrorKind.PERMANENT)
    if kind is ErrorKind.PERMANENT:
        return Quarantine(f"{error.value} is permanent: not retried")
    if job.attempts >= policy.max_attempts:
        return Quarantine(f"failed {job.attempts} times (last: {error.value})")
    ram = job.ram_gb
    if kind is ErrorKind.RESOURCE:
        ram = min(job.ram_gb * policy.memory_factor, policy.memory_max_gb)
        if ram <= job.ram_gb:
            return Quarantine(f"{error.value} at the memory ceiling of {policy.memory_max_gb} GB")
    return Retry(not_before=now + policy.backoff(job.attempts), ram_gb=ram)
