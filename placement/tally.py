"""Sums per (row, site): `np.add.at` over (row, site) pairs cost a fifth of a greedy pass on
the full survey (818 calls, 3.4 of 18 s profiled); one `np.bincount` over flat indices
gives the same sums in a fraction of the time."""

from __future__ import annotations

import numpy as np

from placement.model import FloatArray, IntArray


def tally(
    rows: IntArray, sites: IntArray, weights: FloatArray, shape: tuple[int, int]
) -> FloatArray:
    """A [rows, sites] table of `shape` holding the sum of `weights` at each (row, site)."""
    n_rows, k = shape
    flat = np.bincount(rows * k + sites, weights=weights, minlength=n_rows * k)
    return np.asarray(flat.reshape(n_rows, k), dtype=np.float64)
