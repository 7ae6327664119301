"""`sdc scheduler why`: say exactly why a job is not running, as plain lines."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from metascheduler.jobs import Job, JobState, SiteState
from metascheduler.policy import Dispatch, Keep, Reclaim, Wait, next_action
from metascheduler.priority import queue_position


def why(job: Job, sites: SiteState, now: datetime, queued: Iterable[Job] = ()) -> list[str]:
    """Reasons, most important first, that `job` is where it is."""
    lines = [f"job {job.job_id} ({job.pipeline}) is {job.state.value}"]
    if job.state is JobState.SUCCEEDED:
        return lines
    if job.state in {JobState.FAILED, JobState.CANCELLED}:
        if job.error_class is not None:
            lines.append(f"last error: {job.error_class.value} after {job.attempts} attempt(s)")
        return lines
    if job.state in {JobState.CLAIMED, JobState.RUNNING}:
        expiry = job.lease_expires_at.isoformat() if job.lease_expires_at else "never"
        lines.append(
            f"lease held by {job.lease_owner} at {job.site} (epoch {job.lease_epoch}, "
            f"expires {expiry})"
        )
    action = next_action(job, sites, now)
    match action:
        case Wait(reason=reason, alert=alert):
            lines.append(reason + (" [alert]" if alert else ""))
        case Dispatch(site=site, reason=reason):
            lines.append(f"ready to queue at {site}: {reason}")
        case Reclaim(reason=reason):
            lines.append(f"{reason}: it will be queued again")
        case Keep(reason=reason) if job.state not in {JobState.CLAIMED, JobState.RUNNING}:
            lines.append(reason)
    if job.state is JobState.QUEUED:
        position = queue_position(job, queued)
        lines.append(f"queue position {position} at {job.site}")
    if job.attempts:
        last = f" (last error {job.error_class.value})" if job.error_class else ""
        lines.append(f"attempt {job.attempts + 1} pending{last}")
    return lines
