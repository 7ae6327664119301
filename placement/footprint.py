"""Footprint moves for the local search: one observation takes another (primary,
secondary) pair and its tiles re-choose their sites at the same time.

An observation whose tiles lie on three or more sites copies whatever its two roles do not
cover (full survey seed 1: such observations hold 94% of the copied volume). A single
role move loses the tiles the old site kept local, and a single tile move gains nothing
while the role stays, so coordinate descent stops there. With every other observation
fixed, the copies of this observation's tiles depend only on its own pair and their
sites, so every ordered pair of sites is scored exactly, each tile taking its most local site under
that pair (its current one on ties); the best improving pair is applied when the role
and tile windows and storage have room (a tile a window refuses stays, and the move
lands only if it still gains).
"""

from __future__ import annotations

import numpy as np

from placement.greedy import obs_tiles
from placement.ledger import WindowLedger
from placement.model import BoolArray, FloatArray, IntArray, Survey
from placement.rebalance import FORBIDDEN, tile_values

PAIR_TRIES = 3  # improving pairs tried per observation, best first


def footprint_moves(
    survey: Survey,
    plan: tuple[IntArray, IntArray, IntArray],
    ledgers: tuple[WindowLedger, WindowLedger, WindowLedger],
    days: tuple[IntArray, IntArray],
    up: tuple[BoolArray, BoolArray],
    storage_room: FloatArray,
    movable: tuple[BoolArray, BoolArray],
) -> int:
    """Move observations with copied links to the pair (and their tiles to the sites) that
    copy least, in day order; `plan`, the ledgers (primary, secondary, tile) and
    `storage_room` are updated in place. Returns how many observations moved."""
    primary, secondary, tile_site = plan
    obs_day, tile_day = days
    obs_up, tile_up = up
    obs_ok, tiles_ok = movable
    k = tile_up.shape[1]
    size = survey.obs_size_gb
    value = tile_values(survey, primary, secondary, tile_up)
    link_site = np.repeat(tile_site, np.diff(survey.tile_ptr))
    obs = survey.tile_obs
    copied = (primary[obs] != link_site) & (secondary[obs] != link_site)
    candidates = np.unique(obs[copied])
    candidates = candidates[obs_ok[candidates]]
    links = obs_tiles(survey.n_obs, survey.tile_ptr, survey.tile_obs)
    tile_ptr, tile_idx = links
    pair_p, pair_q = np.nonzero(~np.eye(k, dtype=np.bool_))
    onehot = np.eye(k)[pair_p] + np.eye(k)[pair_q]  # [pair, site]
    allowed = (obs_up[:, pair_p] & obs_up[:, pair_q], tiles_ok)
    # all candidates scored at once; one is scored again alone when an earlier move in this
    # sweep touched one of its tiles
    gains = _pair_gains(value, candidates, plan, size, links, onehot, allowed)
    hopeful = gains.max(axis=1) > 1e-6
    candidates, gains = candidates[hopeful], gains[hopeful]
    order = np.argsort(obs_day[candidates], kind="stable")
    dirty = np.zeros(len(tile_site), dtype=np.bool_)
    moved = 0
    for i, gain in zip(candidates[order].tolist(), gains[order], strict=True):
        tiles = tile_idx[tile_ptr[i] : tile_ptr[i + 1]]
        if dirty[tiles].any():
            gain = _pair_gains(value, np.array([i]), plan, size, links, onehot, allowed)[0]
        a, b, w = int(primary[i]), int(secondary[i]), float(size[i])
        before = float(value[tiles, tile_site[tiles]].sum())
        plain = _rows(value, tiles, (a, b, w), tile_site, tiles_ok)
        # a pair the windows refuse may leave a next-best one that fits
        for c in np.argsort(-gain, kind="stable")[:PAIR_TRIES].tolist():
            if gain[c] <= 1e-6:
                break
            rows = plain + w * onehot[c]
            if _apply((i, int(pair_p[c]), int(pair_q[c]), w), tiles, (rows, before), plan,
                      ledgers, (obs_day, tile_day), storage_room):  # fmt: skip
                change = w * (onehot[c] - np.eye(k)[a] - np.eye(k)[b])
                value[tiles] = np.where(tile_up[tiles], value[tiles] + change, FORBIDDEN)
                dirty[tiles] = True
                moved += 1
                break
    return moved


def _rows(
    value: FloatArray,
    tiles: IntArray,
    obs: tuple[IntArray | int, IntArray | int, FloatArray | float],
    tile_site: IntArray,
    tiles_ok: BoolArray,
) -> FloatArray:
    """Local volume per (link, site) without the linked observation's own roles (`obs`:
    its primary, secondary and size per link); a tile that may not move keeps only its
    own site."""
    a, b, w = obs
    n = np.arange(len(tiles))
    rows = value[tiles].copy()
    rows[n, a] -= w
    rows[n, b] -= w
    k = value.shape[1]
    stuck = ~tiles_ok[tiles][:, None] & (np.arange(k) != tile_site[tiles][:, None])
    rows[stuck] = FORBIDDEN
    return rows


def _pair_gains(
    value: FloatArray,
    candidates: IntArray,
    plan: tuple[IntArray, IntArray, IntArray],
    size: FloatArray,
    links: tuple[IntArray, IntArray],
    onehot: FloatArray,
    allowed: tuple[BoolArray, BoolArray],
    chunk: int = 1024,
) -> FloatArray:
    """Per candidate observation and pair of sites, the local volume its tiles gain when it
    takes that pair and each of them its most local site (-inf for pairs not up)."""
    primary, secondary, tile_site = plan
    tile_ptr, tile_idx = links
    pair_up, tiles_ok = allowed
    gains = np.empty((len(candidates), len(onehot)))
    for lo in range(0, len(candidates), chunk):
        obs = candidates[lo : lo + chunk]
        count = tile_ptr[obs + 1] - tile_ptr[obs]
        owner = np.repeat(np.arange(len(obs)), count)
        starts = np.cumsum(count) - count
        tiles = tile_idx[np.arange(len(owner)) + np.repeat(tile_ptr[obs] - starts, count)]
        w = size[obs][owner]
        now = value[tiles, tile_site[tiles]]
        rows = _rows(value, tiles, (primary[obs][owner], secondary[obs][owner], w),
                     tile_site, tiles_ok)  # fmt: skip
        best = (rows[:, None, :] + w[:, None, None] * onehot[None]).max(axis=2)  # [link, pair]
        gain = np.add.reduceat(best - now[:, None], starts, axis=0)
        gains[lo : lo + chunk] = np.where(pair_up[obs], gain, -np.inf)
    return gains


def _apply(
    move: tuple[int, int, int, float],
    tiles: IntArray,
    scored: tuple[FloatArray, float],
    plan: tuple[IntArray, IntArray, IntArray],
    ledgers: tuple[WindowLedger, WindowLedger, WindowLedger],
    days: tuple[IntArray, IntArray],
    storage_room: FloatArray,
) -> bool:
    """Observation i (of size w) to the pair (p, q) and its tiles to their best sites under
    it (`scored`: their local volume per site with the move, and in total before it),
    within the windows and storage; undone (False) unless it still gains."""
    primary, secondary, tile_site = plan
    ledger_p, ledger_s, ledger_t = ledgers
    i, p, q, w = move
    rows, before = scored
    d = int(days[0][i])
    a, b = int(primary[i]), int(secondary[i])
    room = storage_room.copy()
    room[[a, b]] += w
    room[[p, q]] -= w
    if (room < -1e-9).any():
        return False
    if a != p and not ledger_p.try_move(d, w, a, p):
        return False
    if b != q and not ledger_s.try_move(d, w, b, q):
        if a != p:
            ledger_p.force(d, w, p, a)
        return False
    current = tile_site[tiles]
    best = np.argmax(rows, axis=1)
    keep = rows[np.arange(len(tiles)), current] >= rows[np.arange(len(tiles)), best] - 1e-9
    target = np.where(keep, current, best)
    landed = current.copy()
    for j in np.flatnonzero(target != current).tolist():
        if ledger_t.try_move(int(days[1][tiles[j]]), 1.0, int(current[j]), int(target[j])):
            landed[j] = target[j]
    if rows[np.arange(len(tiles)), landed].sum() - before <= 1e-6:
        for j in np.flatnonzero(landed != current).tolist():
            ledger_t.force(int(days[1][tiles[j]]), 1.0, int(landed[j]), int(current[j]))
        if b != q:
            ledger_s.force(d, w, q, b)
        if a != p:
            ledger_p.force(d, w, p, a)
        return False
    primary[i], secondary[i] = p, q
    tile_site[tiles] = landed
    storage_room[:] = room
    return True
