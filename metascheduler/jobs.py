"""The job as the scheduler's pure decisions see it: plain values, no database."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime


class JobState(enum.StrEnum):
    """Where a job is in its life; the database row is the truth."""

    PENDING = "PENDING"
    WAITING = "WAITING"
    QUEUED = "QUEUED"
    CLAIMED = "CLAIMED"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"

    @property
    def terminal(self) -> bool:
        """True once nothing more will happen to the job."""
        return self in TERMINAL_STATES


TERMINAL_STATES = frozenset({JobState.SUCCEEDED, JobState.FAILED, JobState.CANCELLED})
LEASED_STATES = frozenset({JobState.CLAIMED, JobState.RUNNING})


class ErrorClass(enum.StrEnum):
    """Why an attempt failed; decides whether and how it is retried."""

    NODE_LOST = "NODE_LOST"
    TIMEOUT = "TIMEOUT"
    LEASE_EXPIRED = "LEASE_EXPIRED"
    STAGING = "STAGING"
    OUT_OF_MEMORY = "OUT_OF_MEMORY"
    NONZERO_EXIT = "NONZERO_EXIT"
    MISSING_OUTPUT = "MISSING_OUTPUT"
    BAD_INPUT = "BAD_INPUT"
    CANCELLED = "CANCELLED"


@dataclass(frozen=True)
class Job:
    """A job's scheduling-relevant facts, copied from its row."""

    job_id: int
    pipeline: str
    state: JobState
    primary_site: str
    secondary_site: str | None
    site: str | None
    priority: int
    attempts: int
    ready_at: datetime
    deadline: datetime
    missing_inputs: tuple[str, ...] = ()
    error_class: ErrorClass | None = None
    lease_owner: str | None = None
    lease_epoch: int = 0
    lease_expires_at: datetime | None = None
    not_before: datetime | None = None
    ram_gb: float = 2.0


@dataclass(frozen=True)
class MaintenanceWindow:
    """A site is down in [start, end)."""

    site: str
    start: datetime
    end: datetime
    reason: str = ""


@dataclass(frozen=True)
class SiteState:
    """What the dispatcher knows of the sites: active flags and the calendar."""

    active: frozenset[str]
    maintenance: tuple[MaintenanceWindow, ...] = field(default=())

    def window_at(self, site: str, when: datetime) -> MaintenanceWindow | None:
        """The maintenance window of `site` covering `when`, if any."""
        for window in self.maintenance:
            if window.site == site and window.start <= when < window.end:
                return window
        return None

    def up_at(self, site: str, when: datetime) -> bool:
        """True when the site is active and not in maintenance at `when`."""
        return site in self.active and self.window_at(site, when) is None

    def back_at(self, site: str, when: datetime) -> datetime | None:
        """When `site` is next up at or after `when` (None if it is inactive)."""
        if site not in self.active:
            return None
        moment = when
        # windows can chain or overlap: follow them until a gap
        for _ in range(len(self.maintenance) + 1):
            window = self.window_at(site, moment)
            if window is None:
                return moment
            moment = window.end
        return moment
