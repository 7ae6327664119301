"""Small random placement instances for property tests (plain values, no files)."""

from __future__ import annotations

import numpy as np

from placement.model import MaintenanceWindow, Problem, Rules, Site, Survey

T0 = 1_800_000_000.0  # 2027-01-15, any UTC instant works


def random_problem(seed: int, n_obs: int, n_days: int, n_sites: int, outage: bool) -> Problem:
    """Observations spread over `n_days`, tiles linking neighbours in time, optional outage."""
    rng = np.random.default_rng(seed)
    start = np.sort(T0 + rng.uniform(0, n_days * 86400.0, size=n_obs))
    size = np.round(rng.uniform(20, 60, size=n_obs), 3)
    links: list[int] = []
    ptr = [0]
    for first in range(0, n_obs - 1):
        width = int(rng.integers(1, 4))
        members = sorted(set(range(first, min(n_obs, first + width + 1))))
        links.extend(members)
        ptr.append(len(links))
    n_tiles = len(ptr) - 1
    survey = Survey(
        obs_ids=[f"O{i}" for i in range(n_obs)],
        obs_start=start,
        obs_ra=rng.uniform(0, 360, n_obs),
        obs_dec=rng.uniform(-60, 60, n_obs),
        obs_size_gb=size,
        tile_ids=[f"T{t}" for t in range(n_tiles)],
        tile_ra=rng.uniform(0, 360, n_tiles),
        tile_dec=rng.uniform(-60, 60, n_tiles),
        tile_ptr=np.array(ptr, dtype=np.int64),
        tile_obs=np.array(links, dtype=np.int64),
    )
    sites = [Site(f"S{s}", "XX", float(rng.integers(1, 5)), 10_000.0) for s in range(n_sites)]
    maintenance = []
    if outage:
        begin = T0 + float(rng.uniform(0, n_days)) * 86400.0
        maintenance.append(MaintenanceWindow("S0", begin, begin + 86400.0, "test outage"))
    return Problem(
        sites, maintenance, survey, Rules(latency_days=1.0, tolerance=0.3, window_days=5)
    )
