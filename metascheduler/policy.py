"""Where a job goes next, decided as a plain value from the job, the sites and the clock.

Decisions (docs/scheduler.md):
- A job runs at its plan's primary site. When the primary is down and would come back only
  after the job's deadline (arrival + latency), it fails over to the secondary; when the
  primary comes back before the deadline, the job waits for it (the plan's shares hold).
- A job that failed over stays at the secondary once queued there: moving it back would
  churn staging for no gain.
- Both sites down: the job waits with the reason; it never fails for that.
- Missing inputs: the job waits with the list; it is re-evaluated, never failed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from eas.job_schemas import site_queue
from metascheduler.jobs import LEASED_STATES, Job, JobState, SiteState


@dataclass(frozen=True)
class Dispatch:
    """Queue the job at `site` (on the queue `site.<site>`)."""

    site: str
    reason: str

    @property
    def queue(self) -> str:
        """The per-site queue name used by every transport."""
        return site_queue(self.site)


@dataclass(frozen=True)
class Wait:
    """Hold the job in WAITING with a reason; `alert` when operators should hear of it."""

    reason: str
    alert: bool = False


@dataclass(frozen=True)
class Reclaim:
    """The lease expired: back to QUEUED with the epoch bumped, fencing the old holder."""

    new_epoch: int
    reason: str


@dataclass(frozen=True)
class Keep:
    """Nothing to change now."""

    reason: str


Action = Dispatch | Wait | Reclaim | Keep


def next_action(job: Job, sites: SiteState, now: datetime) -> Action:
    """Decide the next step for one job."""
    if job.state.terminal:
        return Keep(f"job is {job.state.value}")
    if job.state in LEASED_STATES:
        if job.lease_expires_at is not None and job.lease_expires_at <= now:
            return Reclaim(job.lease_epoch + 1, f"lease of {job.lease_owner} expired")
        return Keep(f"held by {job.lease_owner} (epoch {job.lease_epoch})")
    if job.state is JobState.QUEUED:
        return _queued(job, sites, now)
    if job.missing_inputs:
        shown = ", ".join(job.missing_inputs[:5])
        more = f" and {len(job.missing_inputs) - 5} more" if len(job.missing_inputs) > 5 else ""
        return Wait(f"waiting for inputs: {shown}{more}")
    if job.not_before is not None and job.not_before > now:
        return Wait(f"retry backoff until {job.not_before.isoformat()}")
    return choose_site(job, sites, now)


def choose_site(job: Job, sites: SiteState, now: datetime) -> Dispatch | Wait:
    """Primary if up, else secondary if the primary would miss the deadline, else wait."""
    primary, secondary = job.primary_site, job.secondary_site
    if sites.up_at(primary, now):
        return Dispatch(primary, "primary site is up")
    primary_back = sites.back_at(primary, now)
    down = _down_reason(primary, sites, now)
    if primary_back is not None and primary_back <= job.deadline:
        return Wait(f"{down}; back at {primary_back.isoformat()}, before the deadline")
    if secondary is not None and sites.up_at(secondary, now):
        return Dispatch(secondary, f"failover: {down} beyond the deadline")
    if secondary is None:
        return Wait(f"{down} and the job has no secondary site", alert=True)
    both = f"{down}; {_down_reason(secondary, sites, now)}"
    return Wait(f"both sites down: {both}", alert=True)


def _queued(job: Job, sites: SiteState, now: datetime) -> Action:
    site = job.site or job.primary_site
    if sites.up_at(site, now):
        return Keep(f"queued at {site}")
    back = sites.back_at(site, now)
    if back is not None and back <= job.deadline:
        return Keep(f"queued at {site}; {_down_reason(site, sites, now)}, back before deadline")
    other = job.secondary_site if site == job.primary_site else job.primary_site
    if other is not None and sites.up_at(other, now):
        return Dispatch(other, f"failover: {_down_reason(site, sites, now)} beyond the deadline")
    return Keep(f"queued at {site}; {_down_reason(site, sites, now)}; no other site is up")


def _down_reason(site: str, sites: SiteState, now: datetime) -> str:
    window = sites.window_at(site, now)
    if window is not None:
        why = f" ({window.reason})" if window.reason else ""
        return f"{site} in maintenance until {window.end.isoformat()}{why}"
    return f"{site} is inactive"
