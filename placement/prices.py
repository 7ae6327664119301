"""Prices on rolling windows, learnt from pass to pass (used for the tile-count windows).

The greedy streams the roles and sends each tile to its most local site; it knows nothing
of the tile-count windows, and its plan overfilled them (full survey: 1,463 of 2,101
windows out of bounds, the largest site 1.4 points above its share on average). The repair
then moved ~1,200 tiles away from where their inputs were and copies rose from 0.68% to
1.05%; the local search won back only part of it.

A Lagrangian answer: each window and site holds a multiplier that grows by the step per
tile the last stream put beyond the window's bound (narrowed to `AIM` of the tolerance)
and shrinks when the stream stays inside; the step shrinks as 1/sqrt(passes) (constant,
the prices oscillated). A tile's price at a site is the mean multiplier of the windows
containing the tile's day; the next stream takes it off the tile's local volume there, so
the pairs steer away from sites whose tile windows are full. Which of several equally
local sites a tile takes is left to the running counts (placement.greedy
.balanced_tile_sites): prices on those ties moved thousands of tiles at once and the
stream swung from one bound to the other (7% copied after five passes).
"""

from __future__ import annotations

import numpy as np

from placement.calendar import window_starts
from placement.model import FloatArray, IntArray
from placement.tally import tally

STEP = 0.3  # GB of price per tile beyond a bound, at the first pass
DECAY = 0.5  # the step shrinks as 1 / passes**DECAY (no decay: the prices oscillated)
AIM = 0.8  # share of the tolerance the stream's tile windows aim within


class WindowPrices:
    """Multipliers of every rolling window's upper and lower bound, per site, for items of
    the given days and weights; `step` is the price per unit of weight beyond a bound."""

    def __init__(
        self,
        days: IntArray,
        weights: FloatArray,
        shares: FloatArray,
        rule: tuple[float, int, int],
        step: float,
    ) -> None:
        tolerance, length, n_days = rule
        self.days, self.weights, self.shares, self.step = days, weights, shares, step
        self.tolerance = tolerance * AIM
        self.starts = window_starts(n_days, length)
        self.length = min(length, n_days)
        self.n_days = n_days
        self.multiplier = np.zeros((len(self.starts), len(shares)))  # upper minus lower
        self.learnt = 0

    def learn(self, sites: IntArray) -> None:
        """Raise the price of the windows `sites` overfills (lower it where it underfills),
        relax it where the stream stayed inside."""
        k = len(self.shares)
        per_day = tally(self.days + 1, sites, self.weights, (self.n_days + 1, k))
        cum = per_day.cumsum(axis=0)
        ends = np.minimum(self.starts + self.length, self.n_days)
        amount = cum[ends] - cum[self.starts]
        total = amount.sum(axis=1, keepdims=True)
        high = (self.shares + self.tolerance) * total
        low = (self.shares - self.tolerance) * total
        self.learnt += 1
        step = self.step / self.learnt**DECAY
        upper = np.maximum(self.multiplier, 0.0) + step * (amount - high)
        lower = np.maximum(-self.multiplier, 0.0) + step * (low - amount)
        self.multiplier = np.maximum(upper, 0.0) - np.maximum(lower, 0.0)

    def per_day(self) -> FloatArray:
        """Price [day, site]: the mean multiplier of the windows containing the day."""
        n_windows = len(self.starts)
        cum = np.concatenate([np.zeros((1, len(self.shares))), self.multiplier.cumsum(axis=0)])
        day = np.arange(self.n_days)
        first = np.maximum(0, day - self.length + 1)
        last = np.minimum(day, n_windows - 1) + 1
        return np.asarray((cum[last] - cum[first]) / np.maximum(last - first, 1)[:, None])

    def per_item(self) -> FloatArray:
        """Price [item, site]: that of the item's day."""
        return np.asarray(self.per_day()[self.days], dtype=np.float64)
