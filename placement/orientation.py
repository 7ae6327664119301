"""Which of an observation's two sites is the primary: the primary-only figure.

Copies count an input as local when the tile's site is its primary or its secondary, so
swapping the two roles never changes them; it changes the primary-only figure, and the
rolling windows of both roles. A swap the windows refuse may still land together with a
partner of the same day holding the same two sites the other way round: the pair swaps
together and the day's amounts per site move only by the difference of their sizes.
"""

from __future__ import annotations

import numpy as np

from placement.ledger import WindowLedger
from placement.model import BoolArray, FloatArray, IntArray, Survey
from placement.tally import tally

PARTNER_TRIES = 8  # partners tried per refused swap, cheapest first


def role_volumes(
    survey: Survey, primary: IntArray, secondary: IntArray, tile_site: IntArray
) -> tuple[FloatArray, FloatArray]:
    """Per observation, the input volume local at its primary and at its secondary."""
    link_site = np.repeat(tile_site, np.diff(survey.tile_ptr))
    obs, size = survey.tile_obs, survey.obs_size_gb
    n = len(size)
    at_p = np.bincount(obs, weights=size[obs] * (primary[obs] == link_site), minlength=n)
    at_s = np.bincount(obs, weights=size[obs] * (secondary[obs] == link_site), minlength=n)
    return at_p.astype(np.float64), at_s.astype(np.float64)


def primary_volume(survey: Survey, primary: IntArray, n_sites: int) -> FloatArray:
    """Per tile and site, the input volume whose primary is that site."""
    size = survey.obs_size_gb[survey.tile_obs]
    return tally(survey.link_tiles(), primary[survey.tile_obs], size, (survey.n_tiles, n_sites))


def swap_roles(
    survey: Survey,
    roles: tuple[IntArray, IntArray],
    tile_site: IntArray,
    ledgers: tuple[WindowLedger, WindowLedger],
    obs_day: IntArray,
    movable: BoolArray,
) -> int:
    """Swap primary and secondary where the secondary holds more of the links local, best
    first, alone or with a same-day partner; returns how many observations swapped."""
    primary, secondary = roles
    at_p, at_s = role_volumes(survey, primary, secondary, tile_site)
    gain = at_s - at_p
    size = survey.obs_size_gb
    order = np.argsort(obs_day, kind="stable")
    ptr = np.searchsorted(obs_day[order], np.arange(int(obs_day.max()) + 2))
    done = ~movable.copy()
    swapped = 0
    candidates = np.flatnonzero((gain > 1e-6) & movable)
    for i in candidates[np.argsort(-gain[candidates], kind="stable")].tolist():
        if done[i]:
            continue
        a, b, d = int(primary[i]), int(secondary[i]), int(obs_day[i])
        net, partner = float(size[i]), -1
        if not _swap_fits(ledgers, d, net, a, b):
            same = order[ptr[d] : ptr[d + 1]]
            pool = same[(primary[same] == b) & (secondary[same] == a) & ~done[same]]
            pool = pool[gain[pool] + gain[i] > 1e-6]
            for j in pool[np.argsort(-gain[pool], kind="stable")][:PARTNER_TRIES].tolist():
                net = float(size[i]) - float(size[j])
                if _swap_fits(ledgers, d, net, a, b):
                    partner = j
                    break
            if partner < 0:
                continue
            primary[partner], secondary[partner] = a, b
            done[partner] = True
            swapped += 1
        primary[i], secondary[i] = b, a
        done[i] = True
        swapped += 1
    return swapped


def _swap_fits(
    ledgers: tuple[WindowLedger, WindowLedger], day: int, net: float, a: int, b: int
) -> bool:
    """Move `net` primary volume a -> b and secondary volume b -> a on `day` if both roles'
    windows allow it (negative `net` moves the other way); nothing changes otherwise."""
    ledger_p, ledger_s = ledgers
    if net < 0:
        return _swap_fits(ledgers, day, -net, b, a)
    if not ledger_p.try_move(day, net, a, b):
        return False
    if not ledger_s.try_move(day, net, b, a):
        ledger_p.force(day, net, b, a)  # undo
        return False
    return True
