"""Placement planner: the problem as plain data, survey generator, solvers, metrics, plots."""
