"""Repair of rolling-window share bounds by the cheapest moves.

Used after the greedy for primaries, secondaries (volume shares) and tiles (count shares):
while some window is out of bounds, move the items of that window whose move loses the
least value to a site on the other side of its target.
"""

from __future__ import annotations

import numpy as np

from placement.evaluate import window_deviation
from placement.model import BoolArray, FloatArray, IntArray, Survey

MAX_ROUNDS = 5000
FORBIDDEN = -1e14  # value of a site an item may not move to


def rebalance(
    weights: FloatArray,
    sites: IntArray,
    value: FloatArray,
    days: IntArray,
    shares: FloatArray,
    tolerance: float,
    window_days: int,
    n_days: int,
    movable: BoolArray | None = None,
) -> IntArray:
    """Move items between sites until every window's weighted share is within `tolerance`.

    value[i, s]: how much item i is worth at site s (FORBIDDEN or less where it may not go);
    moving i from a to b costs value[i, a] - value[i, b]. Returns the new assignment (best
    effort: the caller verifies).
    """
    sites = sites.copy()
    n_items, _ = value.shape
    if n_items == 0:
        return sites
    can_move = np.ones(n_items, dtype=np.bool_) if movable is None else movable.copy()
    n_windows = max(1, n_days - window_days + 1)
    starts = np.concatenate([[0], np.arange(n_windows)])
    ends = np.concatenate([[n_days], np.minimum(np.arange(n_windows) + window_days, n_days)])
    order = np.argsort(days, kind="stable")
    sorted_days = days[order]
    stuck = np.zeros((n_windows + 1, len(shares)), dtype=np.bool_)
    for _ in range(MAX_ROUNDS):
        deviation = window_deviation(weights, days, sites, shares, window_days, n_days)
        excess = np.where(stuck, -np.inf, np.abs(deviation) - tolerance)
        w, s = np.unravel_index(int(np.argmax(excess)), excess.shape)
        if excess[w, s] <= 0:
            break
        room_up, room_down = _room(deviation[1:], weights, days, n_days, window_days, tolerance)
        lo, hi = np.searchsorted(sorted_days, [starts[w], ends[w]])
        members = order[lo:hi]
        members = members[can_move[members]]
        need = excess[w, s] * float(weights[order[lo:hi]].sum())
        if deviation[w, s] > 0:  # too much at s: move its cheapest items to under-target sites
            pool = members[sites[members] == s]
            pool = pool[room_down[days[pool], s] >= weights[pool]]
            under = deviation[w] < 0
            fits = under[None, :] & (room_up[days[pool]] >= weights[pool][:, None])
            cost = value[pool, s][:, None] - np.where(fits, value[pool], -np.inf)
            cost[value[pool] <= FORBIDDEN] = np.inf
            dest = np.argmin(cost, axis=1)
            price = cost[np.arange(len(pool)), dest]
        else:  # too little at s: take the cheapest items from over-target sites
            pool = members[(deviation[w][sites[members]] > 0) & (value[members, s] > FORBIDDEN)]
            leaving = room_down[days[pool], sites[pool]] >= weights[pool]
            pool = pool[leaving & (room_up[days[pool], s] >= weights[pool])]
            dest = np.full(len(pool), s)
            price = value[pool, sites[pool]] - value[pool, s]
        ok = np.isfinite(price)
        pool, dest, price = pool[ok], dest[ok], price[ok]
        if len(pool) == 0:  # nothing can move here without breaking another window
            stuck[w, s] = True
            continue
        ranked = np.argsort(price, kind="stable")
        moved = np.cumsum(weights[pool[ranked]])
        take = ranked[: int(np.searchsorted(moved, need)) + 1]
        sites[pool[take]] = dest[take]
    return sites


def _room(
    deviation: FloatArray,
    weights: FloatArray,
    days: IntArray,
    n_days: int,
    window_days: int,
    tolerance: float,
) -> tuple[FloatArray, FloatArray]:
    """Per day and site, the weight that can still be added (removed) on that day without
    pushing any rolling window containing the day above (below) its bound."""
    per_day = np.bincount(days, weights=weights, minlength=n_days)
    volume = np.convolve(per_day, np.ones(min(window_days, n_days)), mode="valid")
    n_windows = len(deviation)
    # windows containing day d: starts max(0, d - L + 1) .. min(d, n_windows - 1)
    pad = window_days - 1
    high = np.pad(deviation, ((pad, pad), (0, 0)), constant_values=-np.inf)
    low = np.pad(deviation, ((pad, pad), (0, 0)), constant_values=np.inf)
    vol = np.pad(volume, (pad, pad), constant_values=np.inf)
    view = np.lib.stride_tricks.sliding_window_view
    top = view(high, window_days, axis=0)[:n_days].max(axis=-1)
    bottom = view(low, window_days, axis=0)[:n_days].min(axis=-1)
    smallest = view(vol, window_days)[:n_days].min(axis=-1)[:, None]
    del n_windows
    return (tolerance - top) * smallest, (tolerance + bottom) * smallest


def obs_values(
    survey: Survey,
    role: IntArray,
    other: IntArray,
    tile_site: IntArray,
    obs_up: BoolArray,
) -> FloatArray:
    """Per observation and site, the tile-input volume kept local if `role` were that site."""
    n_obs, k = obs_up.shape
    link_site = np.repeat(tile_site, np.diff(survey.tile_ptr))
    obs = survey.tile_obs
    covered_by_other = other[obs] == link_site
    value = np.zeros((n_obs, k))
    np.add.at(
        value,
        (obs[~covered_by_other], link_site[~covered_by_other]),
        survey.obs_size_gb[obs[~covered_by_other]],
    )
    value[~obs_up] = FORBIDDEN
    value[np.arange(n_obs), other] = FORBIDDEN  # primary != secondary
    return value


def tile_values(
    survey: Survey, primary: IntArray, secondary: IntArray, tile_up: BoolArray
) -> FloatArray:
    """Per tile and site, the input volume stored there (primary or secondary)."""
    link_tiles = survey.link_tiles()
    size = survey.obs_size_gb[survey.tile_obs]
    value = np.zeros(tile_up.shape)
    np.add.at(value, (link_tiles, primary[survey.tile_obs]), size)
    np.add.at(value, (link_tiles, secondary[survey.tile_obs]), size)
    value[~tile_up] = FORBIDDEN
    return value
