"""Time on the survey's day grid and who is up when: vectorised availability per site."""

from __future__ import annotations

import numpy as np

from placement.model import (
    SECONDS_PER_DAY,
    BoolArray,
    FloatArray,
    IntArray,
    MaintenanceWindow,
    Problem,
    Survey,
)


def day0(survey: Survey) -> float:
    """Midnight UTC of the first observation's day: day 0 of every window."""
    if survey.n_obs == 0:
        return 0.0
    return float(np.floor(survey.obs_start.min() / SECONDS_PER_DAY) * SECONDS_PER_DAY)


def obs_days(survey: Survey) -> IntArray:
    """The day index of every observation's start."""
    return np.floor((survey.obs_start - day0(survey)) / SECONDS_PER_DAY).astype(np.int64)


def tile_ready(survey: Survey) -> FloatArray:
    """When each tile can be processed: its last input's start (Unix seconds)."""
    link_tiles = survey.link_tiles()
    ready = np.full(survey.n_tiles, -np.inf)
    np.maximum.at(ready, link_tiles, survey.obs_start[survey.tile_obs])
    return ready


def tile_days(survey: Survey) -> IntArray:
    """The day index of each tile's processing (its last input's day)."""
    return np.floor((tile_ready(survey) - day0(survey)) / SECONDS_PER_DAY).astype(np.int64)


def availability(
    starts: FloatArray, latency_days: float, sites: list[str], windows: list[MaintenanceWindow]
) -> BoolArray:
    """Which sites may take work whose processing window is [start, start + latency].

    A site is excluded when one of its maintenance windows overlaps that interval.
    """
    ends = starts + latency_days * SECONDS_PER_DAY
    up = np.ones((len(starts), len(sites)), dtype=np.bool_)
    index = {name: i for i, name in enumerate(sites)}
    for window in windows:
        s = index.get(window.site)
        if s is None:
            continue
        up[:, s] &= ~((starts < window.end) & (ends > window.start))
    return up


def obs_availability(problem: Problem) -> BoolArray:
    """Sites allowed for each observation (any role) given maintenance."""
    return availability(
        problem.survey.obs_start,
        problem.rules.latency_days,
        problem.site_names,
        problem.maintenance,
    )


def tile_availability(problem: Problem) -> BoolArray:
    """Sites allowed to process each tile given maintenance."""
    return availability(
        tile_ready(problem.survey),
        problem.rules.latency_days,
        problem.site_names,
        problem.maintenance,
    )


def window_starts(n_days: int, length: int) -> IntArray:
    """First day of every rolling window of `length` days inside [0, n_days).

    A horizon shorter than one window has a single window: the horizon itself.
    """
    return np.arange(max(1, n_days - length + 1), dtype=np.int64)
