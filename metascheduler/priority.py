"""Queue order: higher priority first, retries before first attempts, then oldest first."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime

from metascheduler.jobs import Job

RETRY_BOOST = 5


def base_priority(pipeline: str, per_pipeline: Mapping[str, int], default: int = 0) -> int:
    """A new job's priority from the configured per-pipeline priorities."""
    return per_pipeline.get(pipeline, default)


def effective_priority(job: Job) -> int:
    """The priority used for ordering: the job's own (manual bumps included) plus a retry boost."""
    return job.priority + (RETRY_BOOST if job.attempts > 0 else 0)


def queue_key(job: Job) -> tuple[int, int, datetime, int]:
    """Sort key: claim order within a site's queue."""
    return (-effective_priority(job), -min(job.attempts, 1), job.ready_at, job.job_id)


def queue_position(job: Job, queued: Iterable[Job]) -> int:
    """1-based position of `job` among the jobs queued at the same site."""
    mine = queue_key(job)
    return 1 + sum(1 for other in queued if other.site == job.site and queue_key(other) < mine)
