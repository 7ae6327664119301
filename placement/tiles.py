"""Processing site per tile: the most local site, then moved where the 90-day tile-count
balance demands it, always choosing the moves that lose the least local volume."""

from __future__ import annotations

import numpy as np

from placement.evaluate import window_deviation
from placement.model import FloatArray, IntArray

MAX_ROUNDS = 5000


def balance_tiles(
    tile_site: IntArray,
    local: FloatArray,
    tile_day: IntArray,
    shares: FloatArray,
    tolerance: float,
    window_days: int,
    n_days: int,
    frozen: IntArray | None = None,
) -> IntArray:
    """Move tiles between sites until every window's count share is within `tolerance`.

    local[t, s]: input volume of tile t stored at s (a large negative value where s cannot
    process t); moving t from a to b costs local[t, a] - local[t, b]. Tiles listed in
    `frozen` never move. Returns the new assignment (best effort; the caller verifies).
    """
    sites = tile_site.copy()
    n_tiles, k = local.shape
    if n_tiles == 0:
        return sites
    movable = np.ones(n_tiles, dtype=np.bool_)
    if frozen is not None:
        movable[frozen] = False
    starts = np.concatenate([[0], np.arange(max(1, n_days - window_days + 1))])
    ends = np.concatenate(
        [[n_days], np.minimum(np.arange(max(1, n_days - window_days + 1)) + window_days, n_days)]
    )
    order = np.argsort(tile_day, kind="stable")
    sorted_days = tile_day[order]
    for _ in range(MAX_ROUNDS):
        deviation = window_deviation(np.ones(n_tiles), tile_day, sites, shares, window_days, n_days)
        excess = np.abs(deviation) - tolerance
        w, s = np.unravel_index(int(np.argmax(excess)), excess.shape)
        if excess[w, s] <= 0:
            break
        lo, hi = np.searchsorted(sorted_days, [starts[w], ends[w]])
        members = order[lo:hi]
        members = members[movable[members]]
        count = len(members) if w else n_tiles
        need = int(np.ceil(excess[w, s] * count)) or 1
        if deviation[w, s] > 0:  # too many at s: move its cheapest tiles to under-target sites
            pool = members[sites[members] == s]
            targets = deviation[w] < 0
            cost = local[pool, s][:, None] - np.where(targets[None, :], local[pool], -np.inf)
            dest = np.argmin(cost, axis=1)
            price = cost[np.arange(len(pool)), dest]
        else:  # too few at s: take the cheapest tiles from over-target sites
            pool = members[(deviation[w][sites[members]] > 0) & (local[members, s] > -1e14)]
            dest = np.full(len(pool), s)
            price = local[pool, sites[pool]] - local[pool, s]
        ok = np.isfinite(price) & (price < 1e14)
        pool, dest, price = pool[ok], dest[ok], price[ok]
        if len(pool) == 0:
            break
        pick = np.argsort(price, kind="stable")[: min(need, len(pool))]
        sites[pool[pick]] = dest[pick]
    return sites
