"""The solver's own, vectorised view of a plan: copies and balance deviations.

`placement.check` recomputes the same figures independently; the two must agree.
"""

from __future__ import annotations

import numpy as np

from placement.calendar import window_starts
from placement.model import FloatArray, IntArray, Plan, Survey
from placement.tally import tally


def copies(
    survey: Survey, primary: IntArray, secondary: IntArray, tile_site: IntArray
) -> tuple[float, float, float]:
    """Tile-input volume, copied volume (primary+secondary local), primary-only copied volume."""
    link_site = np.repeat(tile_site, np.diff(survey.tile_ptr))
    size = survey.obs_size_gb[survey.tile_obs]
    not_primary = primary[survey.tile_obs] != link_site
    copied = not_primary & (secondary[survey.tile_obs] != link_site)
    return float(size.sum()), float(size[copied].sum()), float(size[not_primary].sum())


def window_deviation(
    values: FloatArray,
    days: IntArray,
    sites: IntArray,
    shares: FloatArray,
    length: int,
    n_days: int,
) -> FloatArray:
    """Per-window (horizon first) share minus target, shape [windows, sites]; empty windows 0."""
    k = len(shares)
    per_day = tally(days + 1, sites, values, (n_days + 1, k))
    cum = per_day.cumsum(axis=0)
    lo = np.concatenate([[0], window_starts(n_days, length)])
    hi = np.concatenate([[n_days], np.minimum(window_starts(n_days, length) + length, n_days)])
    amounts = cum[hi] - cum[lo]
    totals = amounts.sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        deviation = np.where(totals > 0, amounts / totals - shares[None, :], 0.0)
    return np.asarray(deviation, dtype=np.float64)


def plan_stats(
    survey: Survey,
    plan: Plan,
    obs_day: IntArray,
    tile_day: IntArray,
    shares: FloatArray,
    windows: tuple[int, int],
) -> dict[str, float]:
    """The figures written into plan.json's `stats`."""
    total, copied, copied_primary = copies(survey, plan.primary, plan.secondary, plan.tile_site)
    size = survey.obs_size_gb
    n_days = int(obs_day.max()) + 1
    dev_p = window_deviation(size, obs_day, plan.primary, shares, windows[0], n_days)
    dev_s = window_deviation(size, obs_day, plan.secondary, shares, windows[0], n_days)
    dev_t = window_deviation(
        np.ones(survey.n_tiles), tile_day, plan.tile_site, shares, windows[1], n_days
    )
    return {
        "observations": float(survey.n_obs),
        "tiles": float(survey.n_tiles),
        "tile_input_gb": total,
        "copies_gb": copied,
        "copies_fraction": copied / total if total else 0.0,
        "primary_only_copies_fraction": copied_primary / total if total else 0.0,
        "max_primary_share_deviation": float(np.abs(dev_p).max()) if dev_p.size else 0.0,
        "max_secondary_share_deviation": float(np.abs(dev_s).max()) if dev_s.size else 0.0,
        "max_tile_share_deviation": float(np.abs(dev_t).max()) if dev_t.size else 0.0,
    }
