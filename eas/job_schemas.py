"""Wire schemas of the scheduler API (served beside the archive): claims, leases, outcomes.

They live here, pydantic only, because agents import them through `eas.job_client` and
may not import the metascheduler.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from eas.schemas import ProductIn, ReplicaIn, Schema

MAX_BATCH = 500  # jobs per claim or report call

# The Celery wire contract shared by the scheduler (publisher) and the agents (consumers):
# the task name a job message carries, and the queue of each site. The message's arguments
# are only job ids (one, or a batch of jobs queued at the same site); the job row is the truth.
JOB_TASK = "sdc.run_job"


def job_ids_of(args: Any) -> list[int] | None:
    """The job ids a job message's arguments name (in order, once each); None when they are
    not a non-empty list of ids."""
    if not isinstance(args, list | tuple) or not args:
        return None
    if not all(isinstance(i, int) and not isinstance(i, bool) for i in args):
        return None
    return list(dict.fromkeys(args))


def site_queue(site: str) -> str:
    """The broker queue of a site."""
    return f"site.{site}"


ErrorClassName = Literal[
    "NODE_LOST",
    "TIMEOUT",
    "LEASE_EXPIRED",
    "STAGING",
    "OUT_OF_MEMORY",
    "NONZERO_EXIT",
    "MISSING_OUTPUT",
    "BAD_INPUT",
    "CANCELLED",
]


class ClaimRequest(Schema):
    """An agent asks for the next job of its site."""

    site: str
    owner: str = Field(min_length=1, max_length=128)


class ClaimBatch(ClaimRequest):
    """An agent asks for up to `limit` jobs of its site (its free slots), or for the named
    `job_ids` (its Celery messages); `start`: they go straight to RUNNING."""

    limit: int = Field(default=1, ge=1, le=MAX_BATCH)
    job_ids: list[int] | None = Field(default=None, max_length=MAX_BATCH)
    start: bool = False


class LeaseRef(Schema):
    """Who holds a job, at which fencing epoch."""

    owner: str
    epoch: int = Field(ge=1)


class JobOutcome(LeaseRef):
    """How an attempt ended."""

    succeeded: bool
    error_class: ErrorClassName | None = None
    message: str = ""
    used_resources: dict[str, Any] | None = None
    log_url: str | None = None


class JobReport(JobOutcome):
    """One job's outcome inside a batch of reports."""

    job_id: int


class ReportBatch(Schema):
    """Several attempts' ends reported in one call; each fenced by its own epoch."""

    reports: list[JobReport] = Field(min_length=1, max_length=MAX_BATCH)


class ReportAnswer(Schema):
    """What became of one report: `status` 200 with the job's new state, or the HTTP status
    of its refusal (403 another site's job, 404 no such job, 409 stale lease) and why."""

    job_id: int
    status: int
    state: str | None = None
    detail: str | None = None


class OutputRegistration(Schema):
    """One output file of a job: its product and its replica in the site's storage."""

    product: ProductIn
    replica: ReplicaIn


class JobOutputs(LeaseRef):
    """A job's outputs, registered with their lineage in one transaction under the lease."""

    outputs: list[OutputRegistration] = Field(min_length=1, max_length=10_000)
    used: list[str] = []


class OutputsRecorded(Schema):
    """The products a job registered."""

    job_id: int
    product_ids: list[str]


class PriorityChange(Schema):
    """A manual priority bump (positive or negative)."""

    delta: int


class JobPublic(Schema):
    """A job as the API shows it."""

    id: int
    pipeline: str
    parameters: dict[str, Any]
    input_product_ids: list[str]
    state: str
    wait_reason: str | None
    target_site: str | None
    primary_site: str | None
    secondary_site: str | None
    obs_id: int | None
    tile_id: int | None
    priority: int
    attempts: int
    error_class: str | None
    quarantined: bool
    lease_owner: str | None
    lease_epoch: int
    lease_expiry: datetime | None
    requested_resources: dict[str, Any]
    used_resources: dict[str, Any] | None
    log_url: str | None
    created: datetime
    started: datetime | None
    finished: datetime | None


class JobExplanation(Schema):
    """`why`: the lines saying why a job is where it is."""

    job_id: int
    state: str
    reasons: list[str]
