"""File formats: round trips, and bad input named by file, line and field."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from placement.files import (
    InputError,
    parse_time,
    read_maintenance,
    read_plan,
    read_sites,
    read_survey,
    write_plan,
    write_survey,
)
from placement.generator import SurveySpec, generate_survey
from placement.model import Plan

CONFIG = Path(__file__).resolve().parents[2] / "config"


def test_shipped_sites_and_maintenance_parse() -> None:
    sites = read_sites(CONFIG / "sites.yaml")
    assert len(sites) == 9 and len({s.cores for s in sites}) > 1
    windows = read_maintenance(CONFIG / "maintenance.yaml", [s.name for s in sites])
    overlapping = any(
        a.start < b.end and b.start < a.end and a.site != b.site for a in windows for b in windows
    )
    assert overlapping


def test_survey_and_plan_round_trip(tmp_path: Path) -> None:
    survey = generate_survey(SurveySpec(days=4, seed=2))
    write_survey(survey, tmp_path)
    again = read_survey(tmp_path)
    assert again.obs_ids == survey.obs_ids and again.tile_ids == survey.tile_ids
    np.testing.assert_allclose(again.obs_start, survey.obs_start, atol=1e-3)
    np.testing.assert_array_equal(again.tile_obs, survey.tile_obs)
    names = ["A", "B", "C"]
    plan = Plan(
        np.zeros(survey.n_obs, dtype=np.int64),
        np.ones(survey.n_obs, dtype=np.int64),
        np.full(survey.n_tiles, 2, dtype=np.int64),
        {"copies_fraction": 0.5},
    )
    write_plan(plan, again, names, tmp_path / "plan.json")
    back = read_plan(tmp_path / "plan.json", again, names)
    np.testing.assert_array_equal(back.tile_site, plan.tile_site)
    assert back.stats == {"copies_fraction": 0.5}


def test_generator_is_deterministic_for_a_seed() -> None:
    a, b = generate_survey(SurveySpec(days=3, seed=5)), generate_survey(SurveySpec(days=3, seed=5))
    np.testing.assert_array_equal(a.obs_start, b.obs_start)
    np.testing.assert_array_equal(a.tile_obs, b.tile_obs)


def test_bad_rows_are_named(tmp_path: Path) -> None:
    survey = generate_survey(SurveySpec(days=2, seed=1))
    write_survey(survey, tmp_path)
    obs = tmp_path / "observations.csv"
    lines = obs.read_text().splitlines()
    lines[3] = lines[3].replace("Z,", ",", 1)  # a time without its UTC designator
    obs.write_text("\n".join(lines) + "\n")
    with pytest.raises(InputError, match=r"observations.csv: line 4: field `start_utc`"):
        read_survey(tmp_path)


def test_bad_yaml_fields_are_named(tmp_path: Path) -> None:
    path = tmp_path / "sites.yaml"
    path.write_text(
        "sites:\n  - {name: A, cores: many, storage_tb: 1}\n"
        "  - {name: B, cores: 1, storage_tb: 1}\n"
    )
    with pytest.raises(InputError, match=r"sites\[0\]: field `cores`"):
        read_sites(path)
    with pytest.raises(InputError, match="Z suffix"):
        parse_time("2027-01-01T00:00:00", "here")
    assert parse_time("2027-01-01T00:00:00.5Z", "here") == pytest.approx(1798761600.5)
