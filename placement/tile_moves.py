"""Compound local-search moves: a tile that copies inputs moves to another site together
with the secondaries of its inputs that are not local there, when those secondaries keep
no other link local; observations whose secondary holds nothing are the reserve that makes
room on the same day when a window refuses."""

from __future__ import annotations

import numpy as np

from placement.ledger import WindowLedger
from placement.model import BoolArray, FloatArray, IntArray, Survey
from placement.rebalance import FORBIDDEN, obs_values, tile_values


class SecondaryReserve:
    """Observations whose secondary keeps no link local: moving that secondary costs nothing,
    so on the same day it can make room for an improving move the windows would refuse."""

    def __init__(
        self,
        held: FloatArray,
        plan: tuple[IntArray, IntArray],
        obs_day: IntArray,
        size: FloatArray,
        obs_up: BoolArray,
        movable: BoolArray,
    ) -> None:
        self.primary, self.secondary = plan
        rows = np.arange(len(size))
        self.free = movable & (held[rows, self.secondary] <= 1e-9)
        self.order = np.argsort(obs_day, kind="stable")
        self.ptr = np.searchsorted(obs_day[self.order], np.arange(int(obs_day.max()) + 2))
        self.size, self.obs_up = size, obs_up
        self.last = -1

    def take(self, observations: IntArray) -> None:
        """These observations' secondaries may now hold links: never move them for room."""
        self.free[observations] = False

    def make_room(
        self, ledger: WindowLedger, day: int, weight: float, source: int, target: int
    ) -> float | None:
        """Move `weight` source -> target on `day` by also moving a free secondary target ->
        source that day; returns the net volume `target` gained, None when nothing fits."""
        for o in self.order[self.ptr[day] : self.ptr[day + 1]].tolist():
            if not self.free[o] or self.secondary[o] != target or self.primary[o] == source:
                continue
            if not self.obs_up[o, source]:
                continue
            net = weight - float(self.size[o])
            fits = (
                ledger.try_move(day, net, source, target)
                if net >= 0
                else ledger.try_move(day, -net, target, source)
            )
            if fits:
                self.secondary[o] = source
                self.free[o] = False
                self.last = o
                return net
        return None


def move_tiles_with_secondaries(
    survey: Survey,
    plan: tuple[IntArray, IntArray, IntArray],
    ledgers: tuple[WindowLedger, WindowLedger],
    days: tuple[IntArray, IntArray],
    up: tuple[BoolArray, BoolArray],
    storage_room: FloatArray,
    movable: tuple[BoolArray, BoolArray],
) -> int:
    """Move a tile that copies inputs to another site together with the secondaries of the
    inputs not local there, when their current secondaries keep no other link local."""
    primary, secondary, tile_site = plan
    ledger_t, ledger_s = ledgers
    obs_day, tile_day = days
    obs_up, tile_up = up
    obs_ok, tiles_ok = movable
    size = survey.obs_size_gb
    # links of each observation kept local only by its secondary, per site
    held = obs_values(survey, secondary, primary, tile_site, obs_up)
    reserve = SecondaryReserve(held, (primary, secondary), obs_day, size, obs_up, obs_ok)
    link_site = np.repeat(tile_site, np.diff(survey.tile_ptr))
    obs = survey.tile_obs
    copied = (primary[obs] != link_site) & (secondary[obs] != link_site)
    tiles = np.unique(survey.link_tiles()[copied])
    touched = np.zeros(survey.n_obs, dtype=np.bool_)
    tile_value = tile_values(survey, primary, secondary, tile_up)
    order = np.argsort(tile_day, kind="stable")
    tile_days_sorted = (
        order,
        np.searchsorted(tile_day[order], np.arange(int(tile_day.max()) + 2)),
        tile_day,
    )
    moved = 0
    k = tile_up.shape[1]
    for t in tiles[tiles_ok[tiles]].tolist():
        inputs = obs[survey.tile_ptr[t] : survey.tile_ptr[t + 1]]
        if touched[inputs].any():
            continue
        a, w = int(tile_site[t]), size[inputs]
        current = float(w[(primary[inputs] == a) | (secondary[inputs] == a)].sum())
        local = (primary[inputs][:, None] == np.arange(k)) | (
            secondary[inputs][:, None] == np.arange(k)
        )
        # an input not local at b takes b as its secondary: it loses what that one held
        old_held = held[inputs, secondary[inputs]]
        can = obs_ok[inputs][:, None] & obs_up[inputs] & (primary[inputs][:, None] != np.arange(k))
        fix_gain = np.where(can & ~local, (w - old_held)[:, None], -np.inf)
        per_input = np.where(local, w[:, None], np.maximum(fix_gain, 0.0))
        gain = per_input.sum(axis=0) - current
        gain[~tile_up[t]] = -np.inf
        gain[a] = -np.inf
        b = int(np.argmax(gain))
        if gain[b] <= 1e-6:
            continue
        fixes = np.flatnonzero(~local[:, b] & (fix_gain[:, b] > 0))
        swap = -1  # a tile of the same day taking `a` for the one leaving it
        if not ledger_t.try_move(int(tile_day[t]), 1.0, a, b):
            swap = _tile_swap(survey, tile_value, tile_site, tile_days_sorted, touched, t, a, b,
                              float(gain[b]))  # fmt: skip
            if swap < 0:
                continue
            tile_site[swap] = a
            touched[obs[survey.tile_ptr[swap] : survey.tile_ptr[swap + 1]]] = True
        reserve.take(inputs)
        done: list[tuple[int, int, int, float, int]] = []
        for j in fixes.tolist():
            o, d, v, was = (
                int(inputs[j]),
                int(obs_day[inputs[j]]),
                float(size[inputs[j]]),
                int(secondary[inputs[j]]),
            )
            if storage_room[b] < v:
                break
            partner, net = -1, v
            if not ledger_s.try_move(d, v, was, b):
                paired = reserve.make_room(ledger_s, d, v, was, b)
                if paired is None:
                    break
                partner, net = reserve.last, paired
            storage_room[b] -= net
            storage_room[was] += net
            secondary[o] = b
            done.append((o, d, was, net, partner))
        if len(done) < len(fixes):  # an input found no room: undo the whole move
            for o, d, was, net, partner in reversed(done):
                ledger_s.force(d, net, b, was)  # the partner's move is inside `net`
                if partner >= 0:
                    secondary[partner] = b
                storage_room[b] += net
                storage_room[was] -= net
                secondary[o] = was
            if swap >= 0:
                tile_site[swap] = b
            else:
                ledger_t.force(int(tile_day[t]), 1.0, b, a)
            touched[inputs] = True
            continue
        tile_site[t] = b
        touched[inputs] = True
        moved += 1
    return moved


def _tile_swap(
    survey: Survey,
    value: FloatArray,
    tile_site: IntArray,
    by_day: tuple[IntArray, IntArray, IntArray],
    touched: BoolArray,
    t: int,
    a: int,
    b: int,
    gain: float,
) -> int:
    """A tile of `t`'s day on `b`, its inputs untouched, that moves to `a` losing less than
    `gain`: swapping the two keeps every tile count; -1 if none."""
    order, ptr, day = by_day
    d = int(day[t])
    pool = order[ptr[d] : ptr[d + 1]]
    pool = pool[(tile_site[pool] == b) & (value[pool, a] > FORBIDDEN)]
    loss = value[pool, b] - value[pool, a]
    for j in pool[np.argsort(loss, kind="stable")].tolist():
        if value[j, b] - value[j, a] >= gain - 1e-6:
            break
        inputs = survey.tile_obs[survey.tile_ptr[j] : survey.tile_ptr[j + 1]]
        if not touched[inputs].any():
            return int(j)
    return -1
