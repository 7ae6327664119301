"""Example Package Definition, Pipeline Script and FITS commands (tests and the demo use them)."""

from sdc_agents.examples.data import EXAMPLE_PIPELINE, write_example_inputs

__all__ = ["EXAMPLE_PIPELINE", "write_example_inputs"]
