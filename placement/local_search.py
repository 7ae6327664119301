"""Coordinate descent on a valid plan: single moves that keep fewer inputs copied and every
rolling window within its share bounds.

With the other decisions fixed, the gain of moving one observation's secondary (or
primary, or one tile's site) depends on nothing else that moves in the same round, so a
round applies every improving move whose windows have room, best first, with each
window's amounts updated exactly as moves land. Rounds alternate tiles, secondaries and
primaries until none improves; a last round swaps primary and secondary where the
secondary keeps more links local (primary-only copies fall, the p+s copies stay).
"""

from __future__ import annotations

import numpy as np

from placement.calendar import window_starts
from placement.model import BoolArray, FloatArray, IntArray, Plan, Survey
from placement.rebalance import FORBIDDEN, obs_values, tile_values

PARTNER_TRIES = 4  # partners tried per refused move, least loss first


class WindowLedger:
    """Per-window amounts per site for one kind of item, and their bounds, kept exact."""

    def __init__(
        self,
        weights: FloatArray,
        days: IntArray,
        sites: IntArray,
        shares: FloatArray,
        tolerance: float,
        length: int,
        n_days: int,
    ) -> None:
        k = len(shares)
        starts = window_starts(n_days, length)
        self.length = min(length, n_days)
        self.n_windows = len(starts)
        per_day = np.zeros((n_days + 1, k))
        np.add.at(per_day, (days + 1, sites), weights)
        cum = per_day.cumsum(axis=0)
        lo = np.concatenate([[0], starts])
        hi = np.concatenate([[n_days], np.minimum(starts + length, n_days)])
        self.amount = cum[hi] - cum[lo]  # row 0: the horizon
        total = self.amount.sum(axis=1, keepdims=True)
        self.low = np.where(total > 0, (shares - tolerance) * total, -np.inf)
        self.high = np.where(total > 0, (shares + tolerance) * total, np.inf)

    def out_of_bounds(self) -> bool:
        """True when some window's amount is outside its bounds."""
        return bool((self.amount > self.high + 1e-9).any() or (self.amount < self.low - 1e-9).any())

    def rows(self, day: int) -> IntArray:
        """Ledger rows of the windows containing `day` (the horizon first)."""
        first = max(0, day - self.length + 1)
        last = min(day, self.n_windows - 1)
        return np.concatenate([[0], np.arange(first, last + 1) + 1])

    def try_move(self, day: int, weight: float, source: int, target: int) -> bool:
        """Move `weight` on `day` from `source` to `target` if no window leaves its bounds."""
        rows = self.rows(day)
        if (self.amount[rows, target] + weight > self.high[rows, target] + 1e-9).any():
            return False
        if (self.amount[rows, source] - weight < self.low[rows, source] - 1e-9).any():
            return False
        self.force(day, weight, source, target)
        return True

    def force(self, day: int, weight: float, source: int, target: int) -> None:
        """Move `weight` without checking the bounds (to undo a move)."""
        rows = self.rows(day)
        self.amount[rows, target] += weight
        self.amount[rows, source] -= weight


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
            if partner < 0:
                continue
            net = w - float(weights[partner])
            sites[partner] = a
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
) -> Plan:
    """Coordinate descent from a plan whose windows are all within `tolerance`."""
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
    for _ in range(rounds):
        moved = _apply_best(
            tile_values(survey, primary, secondary, tile_up), tile_site, ledger_t, ones,
            tile_day, tiles_ok,
        )  # fmt: skip
        value = obs_values(survey, secondary, primary, tile_site, obs_up)
        moved += _apply_best(value, secondary, ledger_s, size, obs_day, obs_ok, room)
        value = obs_values(survey, primary, secondary, tile_site, obs_up)
        moved += _apply_best(value, primary, ledger_p, size, obs_day, obs_ok, room)
        moved += _move_tiles_with_secondaries(
            survey, (primary, secondary, tile_site), (ledger_t, ledger_s), (obs_day, tile_day),
            (obs_up, tile_up), room, (obs_ok, tiles_ok),
        )  # fmt: skip
        if moved == 0:
            break
    _swap_roles(survey, primary, secondary, tile_site, ledger_p, ledger_s, obs_day, obs_ok)
    return Plan(primary, secondary, tile_site)


def _swap_roles(
    survey: Survey,
    primary: IntArray,
    secondary: IntArray,
    tile_site: IntArray,
    ledger_p: WindowLedger,
    ledger_s: WindowLedger,
    obs_day: IntArray,
    movable: BoolArray,
) -> None:
    """Swap primary and secondary where the secondary holds more of the links local."""
    link_site = np.repeat(tile_site, np.diff(survey.tile_ptr))
    obs, size = survey.tile_obs, survey.obs_size_gb
    at_p = np.bincount(obs, weights=size[obs] * (primary[obs] == link_site), minlength=len(size))
    at_s = np.bincount(obs, weights=size[obs] * (secondary[obs] == link_site), minlength=len(size))
    gain = at_s - at_p
    candidates = np.flatnonzero((gain > 1e-6) & movable)
    for i in candidates[np.argsort(-gain[candidates], kind="stable")].tolist():
        a, b, d, w = int(primary[i]), int(secondary[i]), int(obs_day[i]), float(size[i])
        if not ledger_p.try_move(d, w, a, b):
            continue
        if not ledger_s.try_move(d, w, b, a):
            ledger_p.force(d, w, b, a)  # undo
            continue
        primary[i], secondary[i] = b, a


def _move_tiles_with_secondaries(
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
