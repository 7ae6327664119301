"""Same-day exchanges of two items between sites: the fine step of a window repair.

Two observations of one day swap sites, one of them at the site whose window is out of
bounds, so that site's amount changes by the difference of their sizes (a few GB) where a
whole move (tens of GB) overshoots a neighbouring window that is at its bound too.
"""

from __future__ import annotations

import numpy as np

from placement.ledger import WindowLedger
from placement.model import BoolArray, FloatArray, IntArray
from placement.rebalance import FORBIDDEN

MAX_TRIES = 144  # exchanges tried, smallest step first
MOVED_AGAIN = 1e6  # preference for items that already moved (in value units)


def size_swap(
    value: FloatArray,
    sites: IntArray,
    ledger: WindowLedger,
    weights: FloatArray,
    days: IntArray,
    pool: IntArray,
    target: tuple[int, float],
    moved: BoolArray,
) -> bool:
    """Two items of one day exchange sites, one of them at `s`: s's amount changes by the
    difference of their weights, a fine step where whole moves overshoot a neighbouring
    window. target: (s, need): s has `need` too much (need > 0) or too little (need < 0)."""
    s, need = target
    at_s = pool[sites[pool] == s]
    others = pool[sites[pool] != s]
    same = days[at_s][:, None] == days[others][None, :]
    # i (at s) goes to j's site t, j comes to s: s changes by w_j - w_i
    change = weights[others][None, :] - weights[at_s][:, None]
    enough = change <= -need if need > 0 else change >= -need
    t = sites[others]
    allowed = (value[others, s] > FORBIDDEN)[None, :] & (
        value[at_s[:, None], t[None, :]] > FORBIDDEN
    )
    rows, cols = np.nonzero(same & enough & allowed)
    if not len(rows):
        return False
    step = np.abs(change[rows, cols])
    loss = (
        value[at_s[rows], s] + value[others[cols], t[cols]]
        - value[at_s[rows], t[cols]] - value[others[cols], s]
        - MOVED_AGAIN * (moved[at_s[rows]] + moved[others[cols]])
    )  # fmt: skip
    for r in np.lexsort((loss, step))[:MAX_TRIES].tolist():
        i, j = int(at_s[rows[r]]), int(others[cols[r]])
        d, b, net = int(days[i]), int(sites[j]), float(change[rows[r], cols[r]])
        if _fits(ledger, d, s, b, net):
            ledger.force(d, net, b, s)
            sites[i], sites[j] = b, s
            moved[i] = moved[j] = True
            return True
    return False


def _fits(ledger: WindowLedger, day: int, s: int, b: int, net: float) -> bool:
    """Whether `net` more at s and `net` less at b on `day` breaks no window that holds."""
    rows = ledger.rows(day)
    gain, lose = (s, b) if net > 0 else (b, s)
    amount = abs(net)
    high, low = ledger.high[rows, gain], ledger.low[rows, lose]
    up = ledger.amount[rows, gain] + amount
    down = ledger.amount[rows, lose] - amount
    broke_up = (up > high + 1e-9) & (ledger.amount[rows, gain] <= high + 1e-9)
    broke_down = (down < low - 1e-9) & (ledger.amount[rows, lose] >= low - 1e-9)
    worse_up = (up > high + 1e-9) & (ledger.amount[rows, gain] > high + 1e-9)
    worse_down = (down < low - 1e-9) & (ledger.amount[rows, lose] < low - 1e-9)
    return not (broke_up.any() or broke_down.any() or worse_up.any() or worse_down.any())
