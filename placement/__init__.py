"""Placement planner: primary/secondary SDC per observation and a processing SDC per tile."""

from placement.model import MaintenanceWindow, Plan, Problem, Rules, Site, Survey
from placement.solve import SolveOptions, solve

__all__ = [
    "MaintenanceWindow",
    "Plan",
    "Problem",
    "Rules",
    "Site",
    "SolveOptions",
    "Survey",
    "solve",
]
