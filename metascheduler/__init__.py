"""Metascheduler: jobs from the plan and arrivals, priorities, dispatch, retries, failover."""
