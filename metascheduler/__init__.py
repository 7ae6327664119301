"""Metascheduler: jobs from the plan and arrivals, priorities, dispatch, retries, failover."""

from eas.job_schemas import site_queue
from metascheduler.explain import why
from metascheduler.jobs import ErrorClass, Job, JobState, MaintenanceWindow, SiteState
from metascheduler.policy import Action, Dispatch, Keep, Reclaim, Wait, next_action
from metascheduler.retry import Quarantine, Retry, RetryPolicy, after_failure

__all__ = [
    "Action",
    "Dispatch",
    "ErrorClass",
    "Job",
    "JobState",
    "Keep",
    "MaintenanceWindow",
    "Quarantine",
    "Reclaim",
    "Retry",
    "RetryPolicy",
    "SiteState",
    "Wait",
    "after_failure",
    "next_action",
    "site_queue",
    "why",
]
