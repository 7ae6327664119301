"""Exact per-window amounts per site for one kind of item, and their share bounds: what
every move in the local search and the re-plan is checked against."""

from __future__ import annotations

import numpy as np

from placement.calendar import window_starts
from placement.model import FloatArray, IntArray
from placement.tally import tally


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
        per_day = tally(days + 1, sites, weights, (n_days + 1, k))
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

    def _span(self, day: int) -> slice:
        """Rows of the rolling windows containing `day` (the horizon, row 0, is apart)."""
        return slice(max(0, day - self.length + 1) + 1, min(day, self.n_windows - 1) + 2)

    def try_move(self, day: int, weight: float, source: int, target: int) -> bool:
        """Move `weight` on `day` from `source` to `target` if no window leaves its bounds."""
        span = self._span(day)
        if self.amount[0, target] + weight > self.high[0, target] + 1e-9:
            return False
        if self.amount[0, source] - weight < self.low[0, source] - 1e-9:
            return False
        if (self.amount[span, target] + weight > self.high[span, target] + 1e-9).any():
            return False
        if (self.amount[span, source] - weight < self.low[span, source] - 1e-9).any():
            return False
        self.force(day, weight, source, target)
        return True

    def force(self, day: int, weight: float, source: int, target: int) -> None:
        """Move `weight` without checking the bounds (to undo a move)."""
        span = self._span(day)
        self.amount[0, target] += weight
        self.amount[0, source] -= weight
        self.amount[span, target] += weight
        self.amount[span, source] -= weight
