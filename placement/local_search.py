"""Coordinate descent on a valid plan: single moves that keep fewer inputs copied and every
rolling window within its share bounds.

With the other decisions fixed, the gain of moving one observation's secondary (or
primary, or one tile's site) depends on nothing else that moves in the same round, so a
round applies every improving move whose windows have room, best first, with each
window's amounts updated exactly as moves land. Rounds alternate tiles, secondaries and
primaries until none improves; the first round also moves whole footprints (an
observation to another pair with its tiles re-choosing their sites, placement.footprint).
Windows a start leaves just out of bounds are restored first (placement.rebalance.restore).
Last, for the primary-only figure (the p+s copies stay): tiles move between sites keeping
as much local to the one that is primary for more, and primary and secondary swap where
the secondary keeps more links local (placement.orientation).
"""

from __future__ import annotations

import numpy as np

from placement.footprint import footprint_moves
from placement.ledger import WindowLedger
from placement.model import BoolArray, FloatArray, IntArray, Plan, Survey
from placement.orientation import primary_volume, swap_roles
from placement.rebalance import FORBIDDEN, obs_values, restore, tile_values
from placement.tile_moves import move_tiles_with_secondaries

PARTNER_TRIES = 4  # partners tried per refused move, least loss first
EJECT_DAYS = 10  # days on each side searched for an item to make room on the destination
EJECT_TRIES = 8  # such items tried per refused move
FOOTPRINT_ROUNDS = 1  # the first round finds most: 4 rounds cost 3x the time for 0.002 points
PRIMARY_TIE = 1e-3  # primary-local volume breaks ties between sites keeping as much local


def _apply_best(
    value: FloatArray,
    sites: IntArray,
    ledger: WindowLedger,
    weights: FloatArray,
    days: IntArray,
    movable: BoolArray,
    storage_room: FloatArray | None = None,
) -> int:
    """Apply every improving move (best first) the ledger and storage allow; returns how
    many. A move the windows refuse may still land with a partner: an item of the same day
    on the destination site moving to the source, when it loses less than the move gains
    (the day's amounts then barely change). `storage_room[s]` is updated as moves land."""
    n = len(sites)
    current = value[np.arange(n), sites]
    masked = np.where(value <= FORBIDDEN, -np.inf, value)
    best = np.argmax(masked, axis=1)
    gain = masked[np.arange(n), best] - current
    candidates = np.flatnonzero((gain > 1e-6) & movable)
    order = np.argsort(days, kind="stable")
    ptr = np.searchsorted(days[order], np.arange(int(days.max()) + 2))
    locked = ~movable.copy()
    moved = 0
    by_day = (order, ptr, days)
    for i in candidates[np.argsort(-gain[candidates], kind="stable")].tolist():
        if locked[i]:
            continue
        a, b, d, w = int(sites[i]), int(best[i]), int(days[i]), float(weights[i])
        if storage_room is not None and storage_room[b] < w:
            continue
        partner, net = -1, w
        if not ledger.try_move(d, w, a, b):
            partner = _partner(value, sites, ledger, weights, order[ptr[d] : ptr[d + 1]], locked,
                               (i, a, b, d, float(gain[i])))  # fmt: skip
            if partner >= 0:
                net = w - float(weights[partner])
                sites[partner] = a
            else:
                partner, dest = _eject(value, sites, ledger, weights, by_day, locked,
                                       storage_room, (i, a, b, d, float(gain[i])))  # fmt: skip
                if partner < 0:
                    continue
                if storage_room is not None:
                    storage_room[dest] -= float(weights[partner])
                    storage_room[b] += float(weights[partner])
                sites[partner] = dest
            locked[partner] = True
            moved += 1
        if storage_room is not None:
            storage_room[b] -= net
            storage_room[a] += net
        sites[i] = b
        locked[i] = True
        moved += 1
    return moved


def _partner(
    value: FloatArray,
    sites: IntArray,
    ledger: WindowLedger,
    weights: FloatArray,
    same_day: IntArray,
    locked: BoolArray,
    move: tuple[int, int, int, int, float],
) -> int:
    """An item of the same day on `b` that can go to `a` for less than the move's gain, with
    the pair's net change within every window (the ledger is updated); -1 if none."""
    i, a, b, d, gain = move
    pool = same_day[(sites[same_day] == b) & ~locked[same_day]]
    pool = pool[value[pool, a] > FORBIDDEN]
    loss = value[pool, b] - value[pool, a]
    keep = loss < gain - 1e-6
    pool, loss = pool[keep], loss[keep]
    for j in pool[np.argsort(loss, kind="stable")][:PARTNER_TRIES].tolist():
        net = float(weights[i]) - float(weights[j])
        fits = ledger.try_move(d, net, a, b) if net >= 0 else ledger.try_move(d, -net, b, a)
        if fits:
            return int(j)
    return -1


def _eject(
    value: FloatArray,
    sites: IntArray,
    ledger: WindowLedger,
    weights: FloatArray,
    by_day: tuple[IntArray, IntArray, IntArray],
    locked: BoolArray,
    storage_room: FloatArray | None,
    move: tuple[int, int, int, int, float],
) -> tuple[int, int]:
    """Make room on `b` for the refused move a -> b of item i: an item of `b` on a nearby
    day (nearest first) goes to any site c with room, losing less than the move gains; the
    move is then applied to the ledger. Returns (item, c), or (-1, -1) when none fits.

    The largest site's tile windows filled up with tiles any of two sites kept local, and
    the tiles only it could keep local then copied (full survey: 388 of 2,057)."""
    i, a, b, d, gain = move
    order, ptr, days = by_day
    n_days = len(ptr) - 1
    pool = order[ptr[max(0, d - EJECT_DAYS)] : ptr[min(n_days, d + EJECT_DAYS + 1)]]
    pool = pool[(sites[pool] == b) & ~locked[pool]]
    if len(pool) == 0:
        return -1, -1
    loss = value[pool, b][:, None] - np.where(value[pool] > FORBIDDEN, value[pool], -np.inf)
    loss[:, b] = np.inf
    item, dest = np.nonzero(loss < gain - 1e-6)
    # nearest day first (it frees most of the windows the move needs), then least loss
    rank = np.lexsort((loss[item, dest], np.abs(days[pool[item]] - d)))[:EJECT_TRIES]
    for j, c in zip(pool[item[rank]].tolist(), dest[rank].tolist(), strict=True):
        wj, e = float(weights[j]), int(days[j])
        if storage_room is not None and storage_room[c] < wj:
            continue
        if not ledger.try_move(e, wj, b, c):
            continue
        if ledger.try_move(d, float(weights[i]), a, b):
            return j, c
        ledger.force(e, wj, c, b)  # undo: b still has no room on day d
    return -1, -1


def improve(
    survey: Survey,
    plan: Plan,
    obs_day: IntArray,
    tile_day: IntArray,
    obs_up: BoolArray,
    tile_up: BoolArray,
    shares: FloatArray,
    tolerance: float,
    windows: tuple[int, int],
    storage_gb: FloatArray,
    rounds: int = 4,
    obs_movable: BoolArray | None = None,
    tiles_movable: BoolArray | None = None,
    primary_rounds: int = 4,
    footprint_rounds: int = 0,
) -> Plan:
    """Coordinate descent from a plan whose windows are all within `tolerance`; the first
    `footprint_rounds` rounds also make footprint moves (placement.footprint)."""
    n_days = int(max(obs_day.max(), tile_day.max())) + 1
    primary, secondary, tile_site = (
        plan.primary.copy(),
        plan.secondary.copy(),
        plan.tile_site.copy(),
    )
    size = survey.obs_size_gb
    obs_ok = np.ones(survey.n_obs, dtype=np.bool_) if obs_movable is None else obs_movable
    tiles_ok = np.ones(survey.n_tiles, dtype=np.bool_) if tiles_movable is None else tiles_movable
    ledger_p = WindowLedger(size, obs_day, primary, shares, tolerance, windows[0], n_days)
    ledger_s = WindowLedger(size, obs_day, secondary, shares, tolerance, windows[0], n_days)
    ones = np.ones(survey.n_tiles)
    ledger_t = WindowLedger(ones, tile_day, tile_site, shares, tolerance, windows[1], n_days)
    k = len(shares)
    stored = np.bincount(primary, weights=size, minlength=k)
    stored += np.bincount(secondary, weights=size, minlength=k)
    room = storage_gb - stored
    # a start with a window just out of bounds (the greedy's repair can stall) is restored
    # first: every move below keeps windows as they are, so it would stay out
    restore(ledger_t, tile_values(survey, primary, secondary, tile_up), tile_site, ones,
            tile_day, tiles_ok)  # fmt: skip
    for mine, other, ledger in ((primary, secondary, ledger_p), (secondary, primary, ledger_s)):
        value = obs_values(survey, mine, other, tile_site, obs_up)
        restore(ledger, value, mine, size, obs_day, obs_ok, room)
    for round_ in range(rounds):
        moved = _apply_best(
            tile_values(survey, primary, secondary, tile_up), tile_site, ledger_t, ones,
            tile_day, tiles_ok,
        )  # fmt: skip
        value = obs_values(survey, secondary, primary, tile_site, obs_up)
        moved += _apply_best(value, secondary, ledger_s, size, obs_day, obs_ok, room)
        value = obs_values(survey, primary, secondary, tile_site, obs_up)
        moved += _apply_best(value, primary, ledger_p, size, obs_day, obs_ok, room)
        moved += move_tiles_with_secondaries(
            survey, (primary, secondary, tile_site), (ledger_t, ledger_s), (obs_day, tile_day),
            (obs_up, tile_up), room, (obs_ok, tiles_ok),
        )  # fmt: skip
        if round_ < footprint_rounds:
            moved += footprint_moves(
                survey, (primary, secondary, tile_site), (ledger_p, ledger_s, ledger_t),
                (obs_day, tile_day), (obs_up, tile_up), room, (obs_ok, tiles_ok),
            )  # fmt: skip
        if moved == 0:
            break
    for _ in range(primary_rounds):  # primary-only: tiles to the site primary for more
        value = tile_values(survey, primary, secondary, tile_up)
        value += np.where(value > FORBIDDEN, PRIMARY_TIE * primary_volume(survey, primary, k), 0)
        moved = _apply_best(value, tile_site, ledger_t, ones, tile_day, tiles_ok)
        moved += swap_roles(
            survey, (primary, secondary), tile_site, (ledger_p, ledger_s), obs_day, obs_ok
        )
        if moved == 0:
            break
    return Plan(primary, secondary, tile_site)
