"""Prices on the tile-count windows, learnt from pass to pass.

The greedy streams the roles and sends each tile to its most local site; it knows nothing
of the tile-count windows, and its plan overfilled them (full survey: 1,463 of 2,101
windows out of bounds, the largest site 1.4 points above its share on average). The repair
then moved ~1,200 tiles away from where their inputs were and copies rose from 0.68% to
1.05%; the local search won back only part of it.

A Lagrangian answer: each window and site holds a multiplier that grows by `STEP` GB per
tile the last stream put beyond the window's bound (narrowed to `AIM` of the tolerance)
and shrinks when the stream stays inside. A tile's price at a site is the mean multiplier
of the windows containing the tile's day; the next stream takes it off the tile's local
volume there, so a tile that any of two sites keeps local goes to the one with room, and
the pairs themselves steer away from sites whose tile windows are full.
"""

from __future__ import annotations

import numpy as np

from placement.calendar import window_starts
from placement.model import FloatArray, IntArray
from placement.tally import tally

STEP = 0.3  # GB of price per tile beyond a bound, at the first pass
DECAY = 0.5  # the step shrinks as 1 / passes**DECAY (no decay: the prices oscillated)
AIM = 0.8  # share of the tolerance the stream's tile windows aim within


class TilePrices:
    """Multipliers of every tile-count window's upper and lower bound, per site."""

    def __init__(
        self, tile_day: IntArray, shares: FloatArray, tolerance: float, length: int, n_days: int
    ) -> None:
        self.tile_day, self.shares = tile_day, shares
        self.tolerance = tolerance * AIM
        self.starts = window_starts(n_days, length)
        self.length = min(length, n_days)
        self.n_days = n_days
        self.multiplier = np.zeros((len(self.starts), len(shares)))  # upper minus lower
        self.learnt = 0

    def learn(self, tile_site: IntArray) -> None:
        """Raise the price of the windows `tile_site` overfills (lower it where it underfills),
        relax it where the stream stayed inside."""
        k = len(self.shares)
        ones = np.ones(len(tile_site))
        per_day = tally(self.tile_day + 1, tile_site, ones, (self.n_days + 1, k))
        cum = per_day.cumsum(axis=0)
        ends = np.minimum(self.starts + self.length, self.n_days)
        amount = cum[ends] - cum[self.starts]
        total = amount.sum(axis=1, keepdims=True)
        high = (self.shares + self.tolerance) * total
        low = (self.shares - self.tolerance) * total
        self.learnt += 1
        step = STEP / self.learnt**DECAY
        upper = np.maximum(self.multiplier, 0.0) + step * (amount - high)
        lower = np.maximum(-self.multiplier, 0.0) + step * (low - amount)
        self.multiplier = np.maximum(upper, 0.0) - np.maximum(lower, 0.0)

    def per_tile(self) -> FloatArray:
        """Price [tile, site] in GB: the mean multiplier of the windows containing its day."""
        n_windows = len(self.starts)
        cum = np.concatenate([np.zeros((1, len(self.shares))), self.multiplier.cumsum(axis=0)])
        day = np.arange(self.n_days)
        first = np.maximum(0, day - self.length + 1)
        last = np.minimum(day, n_windows - 1) + 1
        per_day = (cum[last] - cum[first]) / np.maximum(last - first, 1)[:, None]
        return np.asarray(per_day[self.tile_day], dtype=np.float64)
