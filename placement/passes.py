"""Greedy passes until the deadline: each streams the observations (placement.greedy),
repairs the windows and improves the plan by local search, and each next pass re-places
every observation against the previous pass's improved plan. The valid plan copying least
wins; deterministic for a given number of passes.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np

from placement.calendar import obs_days, tile_days
from placement.evaluate import copies
from placement.feasibility import InfeasibleError
from placement.lns import instance_of, violating_days
from placement.mend import mend
from placement.model import Plan, Problem
from placement.prices import STEP, WindowPrices
from placement.solve import (
    MAX_PASSES,
    PAIR_WEIGHTS,
    Progress,
    ProgressFn,
    construct,
    improve_plan,
    repair_windows,
    stream_plan,
    volume_targets,
)
from placement.targets import DayTargets
from placement.window_model import Assignment

NEXT_PASS = 1.25  # the next pass is expected to take this times as long as the last one
MARGINS = (0.6, 0.8, 0.95)  # share of the tolerance the outage LPs may use, narrowest first


class Candidates:
    """The valid plan copying least, and the plan with the fewest bad days otherwise."""

    def __init__(self, problem: Problem, report: ProgressFn) -> None:
        self.problem, self.report = problem, report
        self.inst = instance_of(problem)
        self.valid: tuple[float, Plan] | None = None
        self.least: tuple[int, Plan] | None = None

    def keep(self, plan: Plan) -> None:
        """Remember `plan` if it is the best valid one, or the least violating one."""
        state = Assignment(plan.primary, plan.secondary, plan.tile_site)
        bad = len(violating_days(self.inst, state))
        copied = copies(self.problem.survey, plan.primary, plan.secondary, plan.tile_site)[1]
        if bad == 0 and (self.valid is None or copied < self.valid[0]):
            self.valid = (copied, plan)
            self.report(Progress("greedy passes", copied, 0.0, 0.0))
        elif bad and (self.least is None or bad < self.least[0]):
            self.least = (bad, plan)


def run_passes(
    problem: Problem, deadline: float, keep: Callable[[Plan], None]
) -> InfeasibleError | None:
    """Greedy passes (each seeing the last improved plan) while the next one fits before
    `deadline`; returns the error when the balance targets have no solution."""
    known: Plan | None = None
    try:
        margin, targets = _targets(problem)
    except InfeasibleError as exc:
        return exc
    survey, rules = problem.survey, problem.rules
    inst = instance_of(problem)
    t_day = tile_days(survey)
    n_days = int(max(obs_days(survey).max(), t_day.max())) + 1
    prices = WindowPrices(t_day, np.ones(survey.n_tiles), problem.shares(),
                          (rules.tolerance, rules.tile_window_days, n_days), STEP)  # fmt: skip
    for _ in range(MAX_PASSES):
        began = time.monotonic()
        streamed = stream_plan(
            problem, margin, 1.0, PAIR_WEIGHTS, targets, known, prices.per_item()
        )
        prices.learn(streamed.tile_site)
        plan = repair_windows(problem, streamed)
        # the primary-only polish moves tiles and roles, which opens copy moves the first
        # local search could not make: a second one takes them (full survey, 4 passes:
        # 0.958% -> 0.900% for the same time)
        known = improve_plan(problem, improve_plan(problem, plan), primary=False)
        state = Assignment(known.primary, known.secondary, known.tile_site)
        if len(violating_days(inst, state)):  # a few GB out after an outage: chains mend it
            known = mend(problem, known) or known
        keep(known)
        # the next pass may run slower than this one on a shared machine (at 0.85 of the
        # limit and the last pass's time, a full-survey solve once took 57.9 s of 50)
        if time.monotonic() + NEXT_PASS * (time.monotonic() - began) > deadline:
            break
    return None


def _targets(problem: Problem) -> tuple[float, DayTargets]:
    """Balance targets: the outage LPs may use MARGINS[0] of the tolerance, a stretch that
    cannot (seed 7, raster, full survey: SDC-FR in 2028-29) the next margins in turn; one
    such stretch used to send the whole survey to the banded fallback (3.8% copied)."""
    return MARGINS[0], volume_targets(problem, MARGINS[0], MARGINS[1:])


def best_start(problem: Problem, deadline: float, report: ProgressFn) -> tuple[Plan, bool]:
    """The best plan of the passes and whether it is valid. When no pass is valid, the
    banded greedy at several LP margins: its first valid plan, else the least violating
    one."""
    found = Candidates(problem, report)
    error = run_passes(problem, deadline, found.keep)
    for margin, band_factor in ((0.6, 1.5), (0.6, 1.0), (0.8, 1.0), (0.95, 1.0)):
        if found.valid is not None:
            break
        try:
            found.keep(improve_plan(problem, construct(problem, margin, band_factor)))
        except InfeasibleError as exc:
            error = exc
    if found.valid is not None:
        # the same on the kept plan (full survey: 0.902% -> 0.866% before passes did it too)
        oriented = improve_plan(problem, found.valid[1], copies_rounds=0)
        return improve_plan(problem, oriented), True
    if found.least is None:
        assert error is not None
        raise error
    return found.least[1], False  # with violations: polishing (soft bounds) repairs them
