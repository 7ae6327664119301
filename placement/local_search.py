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


def _apply_best(
    value: FloatArray,
    sites: IntArray,
    ledger: WindowLedger,
    weights: FloatArray,
    days: IntArray,
    movable: BoolArray,
    storage_room: FloatArray | None = None,
) -> int:
    """Apply every improving move (best first) the ledger (and storage) allow; returns how
    many. `storage_room[s]`: volume site s can still store, updated as moves land."""
    n = len(sites)
    current = value[np.arange(n), sites]
    masked = np.where(value <= FORBIDDEN, -np.inf, value)
    best = np.argmax(masked, axis=1)
    gain = masked[np.arange(n), best] - current
    candidates = np.flatnonzero((gain > 1e-6) & movable)
    moved = 0
    for i in candidates[np.argsort(-gain[candidates], kind="stable")].tolist():
        a, b, d, w = int(sites[i]), int(best[i]), int(days[i]), float(weights[i])
        if storage_room is not None and storage_room[b] < w:
            continue
        if not ledger.try_move(d, w, a, b):
            continue
        if storage_room is not None:
            storage_room[b] -= w
            storage_room[a] += w
        sites[i] = b
        moved += 1
    return moved


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
