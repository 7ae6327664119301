"""The placement problem and its answer as plain values: sites, calendar, survey, rules, plan."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

SECONDS_PER_DAY = 86400.0


@dataclass(frozen=True)
class Site:
    """A science data centre: its compute (cores) and the disk it gives the survey."""

    name: str
    country: str
    cores: float
    storage_tb: float
    weight: float | None = None  # capacity weight; cores when absent


@dataclass(frozen=True)
class MaintenanceWindow:
    """A site is down (no work in any role) between start and end, in Unix seconds UTC."""

    site: str
    start: float
    end: float
    reason: str


@dataclass(frozen=True)
class Survey:
    """Observations and MER-like tiles, as columns.

    `tile_ptr`/`tile_obs` are the tile-to-observation links in compressed rows: the inputs
    of tile t are `tile_obs[tile_ptr[t]:tile_ptr[t + 1]]` (indices into the observations).
    """

    obs_ids: list[str]
    obs_start: FloatArray  # Unix seconds UTC
    obs_ra: FloatArray
    obs_dec: FloatArray
    obs_size_gb: FloatArray
    tile_ids: list[str]
    tile_ra: FloatArray
    tile_dec: FloatArray
    tile_ptr: IntArray
    tile_obs: IntArray

    @property
    def n_obs(self) -> int:
        """Number of observations."""
        return len(self.obs_ids)

    @property
    def n_tiles(self) -> int:
        """Number of tiles."""
        return len(self.tile_ids)

    def tile_inputs(self, tile: int) -> IntArray:
        """Indices of the observations that are inputs of `tile`."""
        return self.tile_obs[self.tile_ptr[tile] : self.tile_ptr[tile + 1]]

    def link_tiles(self) -> IntArray:
        """For every (tile, input) link, the tile index (same order as `tile_obs`)."""
        counts = np.diff(self.tile_ptr)
        return np.repeat(np.arange(self.n_tiles, dtype=np.int64), counts)


@dataclass(frozen=True)
class Rules:
    """The hard constraints' parameters (DESIGN.md §5 made exact, see docs/placement.md)."""

    latency_days: float = 3.0
    tolerance: float = 0.02
    window_days: int = 30
    tile_window_days: int = 90


@dataclass(frozen=True)
class Problem:
    """Everything the planner needs; `previous` and `frozen_until` only when re-planning."""

    sites: list[Site]
    maintenance: list[MaintenanceWindow]
    survey: Survey
    rules: Rules = field(default_factory=Rules)
    previous: Plan | None = None
    frozen_until: float | None = None  # Unix seconds: work starting before it keeps its sites

    @property
    def site_names(self) -> list[str]:
        """Site names in the order used by every site index."""
        return [s.name for s in self.sites]

    def shares(self) -> FloatArray:
        """Each site's capacity share (weights, else cores), summing to 1."""
        weights = np.array([s.weight if s.weight is not None else s.cores for s in self.sites])
        return np.asarray(weights / weights.sum(), dtype=np.float64)


@dataclass(frozen=True)
class Plan:
    """The answer: site indices per observation (primary, secondary) and per tile."""

    primary: IntArray
    secondary: IntArray
    tile_site: IntArray
    stats: dict[str, Any] = field(default_factory=dict)
