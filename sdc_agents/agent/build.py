"""Assemble a site agent from its settings: clients, stager, batch system."""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Mapping

from dss.client import StorageClient
from eas.job_client import JobClient
from eas.job_schemas import JobPublic
from sdc_agents.agent.config import AgentConfig
from sdc_agents.agent.loop import SiteAgent
from sdc_agents.agent.queue_consumer import QueueConsumer
from sdc_agents.agent.staging import Stager
from sdc_agents.drm import BATCH_SYSTEMS

log = logging.getLogger(__name__)


class AgentSetupError(ValueError):
    """The agent's settings are incomplete or name something that does not exist."""


def default_owner(site: str) -> str:
    """A lease owner name unique to this process."""
    return f"{site}@{socket.gethostname()}:{os.getpid()}"


def build_agent(
    config: AgentConfig, environment: Mapping[str, str], owner: str | None = None
) -> SiteAgent:
    """A ready agent whose jobs start with `environment`; AgentSetupError names what is
    missing or wrong."""
    if not config.site:
        raise AgentSetupError("the agent needs its site (--site or agent.site)")
    if not config.token:
        raise AgentSetupError("the agent needs its site's agent token (--token or agent.token)")
    site, token = config.site, config.token
    jobs = JobClient(config.archive_url, token)
    me = jobs.whoami()
    if me.role not in ("agent", "admin") or (me.role == "agent" and me.site != site):
        raise AgentSetupError(f"the token belongs to {me.role} {me.name} of {me.site}, not {site}")
    dss_url = config.dss_url or jobs.get_site(site).dss_url
    if not dss_url:
        raise AgentSetupError(f"{site} has no DSS URL in the archive; give --dss-url")
    if config.drm not in BATCH_SYSTEMS:
        known = ", ".join(sorted(BATCH_SYSTEMS))
        raise AgentSetupError(f"unknown batch system {config.drm!r} (known: {known})")
    local = StorageClient(dss_url, token)
    stager = Stager(site, jobs, local)
    batch = BATCH_SYSTEMS[config.drm](environment)
    return SiteAgent(site, owner or default_owner(site), jobs, local, stager, batch, config)


def build_consumer(agent: SiteAgent, config: AgentConfig) -> QueueConsumer:
    """The Celery transport for `agent`: its site's queue, batched claims of the named jobs
    (as many as the agent has free slots), run by `config.concurrency` workers."""

    def run(job: JobPublic) -> None:
        result = agent.run_claimed(job)
        log.info("job %s (%s): %s", result.job_id, result.pipeline, result)

    consumer = QueueConsumer(
        agent.site,
        config.broker_url,
        claim=lambda job_ids: agent.claim(len(job_ids), job_ids),
        run=run,
        concurrency=config.concurrency,
        idle_max=config.poll_seconds,
    )
    agent.reporter.jobs_in_hand = consumer.jobs_in_hand  # a batch's finishes go together
    return consumer
