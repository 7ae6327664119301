"""Repair of rolling-window share bounds by the cheapest moves.

Used after the greedy for primaries, secondaries (volume shares) and tiles (count shares):
while some window is out of bounds, move the items of that window whose move loses the
least value to a site on the other side of its target.
"""

from __future__ import annotations

import numpy as np

from placement.evaluate import window_deviation
from placement.ledger import WindowLedger
from placement.model import BoolArray, FloatArray, IntArray, Survey
from placement.tally import tally

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
    per_day = np.bincount(days, weights=weights, minlength=n_days)
    volume = np.convolve(per_day, np.ones(min(window_days, n_days)), mode="valid")
    for _ in range(MAX_ROUNDS):
        deviation = window_deviation(weights, days, sites, shares, window_days, n_days)
        excess = np.where(stuck, -np.inf, np.abs(deviation) - tolerance)
        w, s = np.unravel_index(int(np.argmax(excess)), excess.shape)
        if excess[w, s] <= 0:
            break
        span = (int(starts[w]), int(ends[w]))
        up_room, down_room = _room(deviation[1:], volume, span, window_days, tolerance)
        lo, hi = np.searchsorted(sorted_days, span)
        members = order[lo:hi]
        members = members[can_move[members]]
        need = excess[w, s] * float(weights[order[lo:hi]].sum())
        if deviation[w, s] > 0:  # too much at s: move its cheapest items to under-target sites
            pool = members[sites[members] == s]
            pool = pool[down_room[days[pool] - span[0], s] >= weights[pool]]
            under = deviation[w] < 0
            fits = under[None, :] & (up_room[days[pool] - span[0]] >= weights[pool][:, None])
            cost = value[pool, s][:, None] - np.where(fits, value[pool], -np.inf)
            cost[value[pool] <= FORBIDDEN] = np.inf
            dest = np.argmin(cost, axis=1)
            price = cost[np.arange(len(pool)), dest]
        else:  # too little at s: take the cheapest items from over-target sites
            pool = members[(deviation[w][sites[members]] > 0) & (value[members, s] > FORBIDDEN)]
            leaving = down_room[days[pool] - span[0], sites[pool]] >= weights[pool]
            pool = pool[leaving & (up_room[days[pool] - span[0], s] >= weights[pool])]
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


def restore(
    ledger: WindowLedger,
    value: FloatArray,
    sites: IntArray,
    weights: FloatArray,
    days: IntArray,
    movable: BoolArray,
    storage_room: FloatArray | None = None,
) -> int:
    """Bring windows the ledger holds out of bounds back by the cheapest single moves of
    their items that break no other window (exact, unlike `rebalance`'s per-day room);
    `sites` and `storage_room` change in place. Returns how many items moved."""
    order = np.argsort(days, kind="stable")
    ptr = np.searchsorted(days[order], np.arange(int(days.max()) + 2))
    n_days = len(ptr) - 1
    moved = 0
    excess = np.maximum(ledger.amount - ledger.high, ledger.low - ledger.amount)
    for row, s in zip(*np.nonzero(excess > 1e-9), strict=True):
        lo, hi = (0, n_days) if row == 0 else (row - 1, min(n_days, row - 1 + ledger.length))
        members = order[ptr[lo] : ptr[hi]]
        members = members[movable[members]]
        short = ledger.amount[row, s] < ledger.low[row, s]
        if short:  # bring items to s from the sites losing least
            pool = members[(sites[members] != s) & (value[members, s] > FORBIDDEN)]
            loss = value[pool, sites[pool]] - value[pool, s]
            dest = np.full(len(pool), s)
        else:  # send items of s to any other site, least loss first
            pool = members[sites[members] == s]
            item, dest = np.nonzero(value[pool] > FORBIDDEN)
            keep = dest != s
            pool, dest = pool[item[keep]], dest[keep]
            loss = value[pool, s] - value[pool, dest]
        for j in np.argsort(loss, kind="stable").tolist():
            i, a, b, w = int(pool[j]), int(sites[pool[j]]), int(dest[j]), float(weights[pool[j]])
            if (a == s) == short:  # moved already (to another destination)
                continue
            if storage_room is not None and storage_room[b] < w:
                continue
            d = int(days[i])
            if ledger.try_move(d, w, a, b):
                net = w
            else:  # a same-day item going b -> a leaves only the difference to the windows
                same = order[ptr[d] : ptr[d + 1]]
                partner = _restore_partner(
                    ledger, value, sites, weights, same, movable, (i, a, b, d)
                )
                if partner < 0:
                    continue
                net = w - float(weights[partner])
                sites[partner] = a
                moved += 1
            sites[i] = b
            moved += 1
            if storage_room is not None:
                storage_room[b] -= net
                storage_room[a] += net
            amount = ledger.amount[row, s]
            if ledger.low[row, s] - 1e-9 <= amount <= ledger.high[row, s] + 1e-9:
                break
    return moved


def _restore_partner(
    ledger: WindowLedger,
    value: FloatArray,
    sites: IntArray,
    weights: FloatArray,
    same_day: IntArray,
    movable: BoolArray,
    move: tuple[int, int, int, int],
) -> int:
    """A smaller item of the same day on `b` that can go to `a` with the pair's net move
    a -> b within every window (applied to the ledger); -1 if none."""
    i, a, b, d = move
    pool = same_day[(sites[same_day] == b) & movable[same_day] & (value[same_day, a] > FORBIDDEN)]
    pool = pool[weights[pool] < weights[i]]
    for j in pool[np.argsort(value[pool, b] - value[pool, a], kind="stable")].tolist():
        if ledger.try_move(d, float(weights[i] - weights[j]), a, b):
            return int(j)
    return -1


def _room(
    deviation: FloatArray,
    volume: FloatArray,
    span: tuple[int, int],
    window_days: int,
    tolerance: float,
) -> tuple[FloatArray, FloatArray]:
    """For each day of `span` = [lo, hi) (row d - lo) and site, the weight that can still be
    added (removed) on that day without pushing any rolling window containing the day above
    (below) its bound. Only the windows touching the span are read: a full-survey repair
    runs hundreds of rounds, each about one window."""
    lo, hi = span
    # windows containing day d: starts max(0, d - L + 1) .. min(d, n_windows - 1)
    first, last = max(0, lo - window_days + 1), min(len(deviation), hi)
    pad = window_days - 1
    dev = deviation[first:last]
    high = np.pad(dev, ((pad, pad), (0, 0)), constant_values=-np.inf)
    low = np.pad(dev, ((pad, pad), (0, 0)), constant_values=np.inf)
    vol = np.pad(volume[first:last], (pad, pad), constant_values=np.inf)
    view = np.lib.stride_tricks.sliding_window_view
    rows = np.arange(lo, hi) - first
    top = view(high, window_days, axis=0)[rows].max(axis=-1)
    bottom = view(low, window_days, axis=0)[rows].min(axis=-1)
    smallest = view(vol, window_days)[rows].min(axis=-1)[:, None]
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
    kept = ~covered_by_other
    value = tally(obs[kept], link_site[kept], survey.obs_size_gb[obs[kept]], (n_obs, k))
    value[~obs_up] = FORBIDDEN
    value[np.arange(n_obs), other] = FORBIDDEN  # primary != secondary
    return value


def tile_values(
    survey: Survey, primary: IntArray, secondary: IntArray, tile_up: BoolArray
) -> FloatArray:
    """Per tile and site, the input volume stored there (primary or secondary)."""
    link_tiles = survey.link_tiles()
    size = survey.obs_size_gb[survey.tile_obs]
    value = tally(link_tiles, primary[survey.tile_obs], size, tile_up.shape)
    value += tally(link_tiles, secondary[survey.tile_obs], size, tile_up.shape)
    value[~tile_up] = FORBIDDEN
    return value
