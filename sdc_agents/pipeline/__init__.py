"""The Pipeline Runner: the Euclid-style DSL, tracing, run-time fan-out, execution, manifest."""

from sdc_agents.pipeline.dsl import (
    ComputingResources,
    Executable,
    Input,
    Output,
    parallel,
    pipeline,
)
from sdc_agents.pipeline.errors import PipelineDefinitionError, PipelineError, PipelineInputError
from sdc_agents.pipeline.graph import PipelineGraph
from sdc_agents.pipeline.trace import load_pipeline

__all__ = [
    "ComputingResources",
    "Executable",
    "Input",
    "Output",
    "PipelineDefinitionError",
    "PipelineError",
    "PipelineGraph",
    "PipelineInputError",
    "load_pipeline",
    "parallel",
    "pipeline",
]
