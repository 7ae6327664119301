"""The demo plans a horizon and observes its first days: the cut it runs must be whole."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from placement.baselines import baseline
from placement.generator import SurveySpec, generate_survey
from placement.model import Problem, Site
from sdc.demo.plan import (
    _stored_horizon,
    copied_pct,
    first_days,
    maintenance_calendar,
    plan_survey,
    sub_plan,
    sub_survey,
)

CONFIG = Path(__file__).resolve().parents[2] / "config"
SITES = [Site(f"S{i}", "XX", float(i + 1), 10_000.0) for i in range(4)]


def test_the_first_days_keep_only_tiles_whose_inputs_all_arrived() -> None:
    whole = generate_survey(SurveySpec(days=4, seed=3, deep_fields=1))
    keep_obs, keep_tiles = first_days(whole, 1)
    assert 0 < len(keep_obs) < whole.n_obs
    assert 0 < len(keep_tiles) < whole.n_tiles
    cutoff = whole.obs_start.min() + 86400
    assert set(keep_obs) == set(np.flatnonzero(whole.obs_start < cutoff))
    kept = set(keep_obs.tolist())
    for t in range(whole.n_tiles):
        complete = all(int(o) in kept for o in whole.tile_inputs(t))
        assert (t in set(keep_tiles.tolist())) == complete

    part = sub_survey(whole, keep_obs, keep_tiles)
    assert part.obs_ids == [whole.obs_ids[o] for o in keep_obs]
    assert part.tile_ids == [whole.tile_ids[t] for t in keep_tiles]
    for new_t, old_t in enumerate(keep_tiles):  # same inputs, by id
        old = {whole.obs_ids[o] for o in whole.tile_inputs(int(old_t))}
        assert {part.obs_ids[o] for o in part.tile_inputs(new_t)} == old


def test_the_plan_of_the_cut_is_the_horizon_plan_restricted() -> None:
    whole = generate_survey(SurveySpec(days=3, seed=5, deep_fields=0))
    plan = baseline(Problem(SITES, [], whole), "round-robin")
    keep_obs, keep_tiles = first_days(whole, 1)
    part, cut = sub_survey(whole, keep_obs, keep_tiles), sub_plan(plan, keep_obs, keep_tiles)
    for new_o, old_o in enumerate(keep_obs):
        assert (cut.primary[new_o], cut.secondary[new_o]) == (
            plan.primary[old_o],
            plan.secondary[old_o],
        )
    assert list(cut.tile_site) == [plan.tile_site[t] for t in keep_tiles]
    assert 0.0 <= copied_pct(part, cut) <= 100.0


def test_the_calendar_leaves_a_pair_for_every_observation_and_spares_the_first_days() -> None:
    first = 1_800_000_000.0
    assert maintenance_calendar(["A", "B"], first) == []  # a pair needs both sites up
    (only,) = maintenance_calendar(["A", "B", "C"], first)
    a, b = maintenance_calendar(["A", "B", "C", "D"], first)
    assert a.site != b.site and a.start < b.end and b.start < a.end  # they overlap
    for window in (only, a, b):
        assert window.start > first + 3 * 86400  # the observed first day is not touched


def test_a_resumed_run_reads_back_the_same_horizon_figures(tmp_path: Path) -> None:
    """`sdc demo --keep DIR` run twice printed round-robin 31.1% then 33.6%: the figures
    read back from DIR/horizon must be those the first run printed."""
    planned = plan_survey(tmp_path, CONFIG / "sites.yaml", 1, 4, 1, 1.0)
    assert planned.problem.maintenance  # the calendar round-robin has to route around
    assert _stored_horizon(tmp_path / "horizon", planned.problem) == planned.horizon
