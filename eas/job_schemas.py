"""Wire schemas of the scheduler API (served beside the archive): claims, leases, outcomes.

They live here, pydantic only, because agents import them through `eas.job_client` and
may not import the metascheduler.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from eas.schemas import Schema

# The Celery wire contract shared by the scheduler (publisher) and the agents (consumers):
# the task name a job message carries, and the queue of each site. The message body holds
# only the job id; the job row is the truth.
JOB_TASK = "sdc.run_job"


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
