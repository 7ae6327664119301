"""The SDC site agent: pulls its site's jobs, stages inputs, runs pipelines, registers outputs."""

from sdc_agents.agent.config import AgentConfig, PipelineSpec
from sdc_agents.agent.loop import JobResult, SiteAgent
from sdc_agents.agent.staging import Stager, StagingError

__all__ = ["AgentConfig", "JobResult", "PipelineSpec", "SiteAgent", "Stager", "StagingError"]
