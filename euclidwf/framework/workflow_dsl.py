"""`euclidwf.framework.workflow_dsl`: the Euclid import path of `sdc_agents.pipeline`'s DSL."""

from sdc_agents.pipeline.dsl import (
    ComputingResources,
    Executable,
    Input,
    Output,
    parallel,
    pipeline,
)

__all__ = ["ComputingResources", "Executable", "Input", "Output", "parallel", "pipeline"]
