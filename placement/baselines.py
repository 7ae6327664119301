"""The two baselines every result is compared with, as real plans in the same format.

- round-robin: in time order, each observation goes to the available site furthest behind
  its capacity share (primary), the next one (secondary); each tile to the site holding most
  of its input volume.
- greedy-sky: the streaming greedy with nothing but the sky: each observation goes to the
  sites already holding most of its tiles' inputs, capped only by each site's share over the
  whole horizon (no rolling windows, no maintenance look-ahead).
"""

from __future__ import annotations

import numpy as np

from placement.calendar import obs_availability, obs_days, tile_availability
from placement.greedy import StreamInputs, best_tile_sites, obs_tiles, stream_assign
from placement.model import Plan, Problem

METHODS = ("round-robin", "greedy-sky")


def round_robin(problem: Problem) -> Plan:
    """Capacity-weighted round robin over sites that are up."""
    survey, shares = problem.survey, problem.shares()
    up = obs_availability(problem)
    k = len(shares)
    primary = np.zeros(survey.n_obs, dtype=np.int64)
    secondary = np.zeros(survey.n_obs, dtype=np.int64)
    given_p, given_s, total = np.zeros(k), np.zeros(k), 0.0
    for i in np.argsort(survey.obs_start, kind="stable"):
        size = float(survey.obs_size_gb[i])
        total += size
        behind_p = np.where(up[i], shares * total - given_p, -np.inf)
        p = int(np.argmax(behind_p))
        behind_s = np.where(up[i], shares * total - given_s, -np.inf)
        behind_s[p] = -np.inf
        s = int(np.argmax(behind_s)) if np.isfinite(behind_s).any() else (p + 1) % k
        primary[i], secondary[i] = p, s
        given_p[p] += size
        given_s[s] += size
    # each tile goes where most of its input volume already is (ties: the lower site index)
    link_tiles = survey.link_tiles()
    link_size = survey.obs_size_gb[survey.tile_obs]
    local = np.zeros((survey.n_tiles, k))
    np.add.at(local, (link_tiles, primary[survey.tile_obs]), link_size)
    np.add.at(local, (link_tiles, secondary[survey.tile_obs]), link_size)
    local[~tile_availability(problem)] = -np.inf
    tile_site = np.asarray(np.argmax(local, axis=1), dtype=np.int64)
    return Plan(primary, secondary, tile_site)


def greedy_sky(problem: Problem) -> Plan:
    """Sky-proximity greedy capped by each site's share of the horizon's volume."""
    survey, shares = problem.survey, problem.shares()
    day = obs_days(survey)
    n_days = int(day.max()) + 1
    day_volume = np.bincount(day, weights=survey.obs_size_gb, minlength=n_days)
    line = shares[None, :] * day_volume[:, None]
    ptr, idx = obs_tiles(survey.n_obs, survey.tile_ptr, survey.tile_obs)
    inputs = StreamInputs(
        order=np.argsort(survey.obs_start, kind="stable"),
        day=day,
        size=survey.obs_size_gb,
        obs_up=obs_availability(problem),
        tile_up=tile_availability(problem),
        obs_tile_ptr=ptr,
        obs_tile_idx=idx,
    )
    band = np.full(line.shape, problem.rules.tolerance * float(survey.obs_size_gb.sum()))
    primary, secondary, local = stream_assign(inputs, (line, line), band)
    return Plan(primary, secondary, best_tile_sites(local))


def baseline(problem: Problem, method: str) -> Plan:
    """The baseline plan by name (see METHODS)."""
    if method == "round-robin":
        return round_robin(problem)
    if method == "greedy-sky":
        return greedy_sky(problem)
    raise ValueError(f"unknown baseline method {method!r}; choose from {', '.join(METHODS)}")
