"""Footprint moves: an observation takes another pair while its tiles re-choose sites."""

from __future__ import annotations

import numpy as np

from placement.evaluate import copies
from placement.footprint import footprint_moves
from placement.ledger import WindowLedger
from placement.model import IntArray, Survey
from tests.unit.placement_instances import T0

SHARES = np.full(4, 0.25)


def _three_site_footprint() -> tuple[Survey, tuple[IntArray, IntArray, IntArray]]:
    """X (10 GB, sites 0+1) has tiles on sites 0, 1 and 2; T2 also holds Y (20 GB, sites
    2+3), whose secondary keeps T3 local. T2 copies X, and no single move helps: X's
    secondary to 2 loses T1, T2 to 0 copies Y, Y's secondary to 0 loses T3."""
    survey = Survey(
        obs_ids=["X", "Y"],
        obs_start=np.full(2, T0),
        obs_ra=np.zeros(2),
        obs_dec=np.zeros(2),
        obs_size_gb=np.array([10.0, 20.0]),
        tile_ids=["T0", "T1", "T2", "T3"],
        tile_ra=np.zeros(4),
        tile_dec=np.zeros(4),
        tile_ptr=np.array([0, 1, 2, 4, 5], dtype=np.int64),
        tile_obs=np.array([0, 0, 0, 1, 1], dtype=np.int64),
    )
    plan = (np.array([0, 2]), np.array([1, 3]), np.array([0, 1, 2, 3]))
    return survey, plan


def _moves(
    survey: Survey,
    plan: tuple[IntArray, IntArray, IntArray],
    tolerance: float,
    room: float,
    tiles_ok: tuple[bool, ...] = (True,) * 4,
) -> int:
    days = np.zeros(2, dtype=np.int64), np.zeros(4, dtype=np.int64)
    primary, secondary, tile_site = plan
    size = survey.obs_size_gb
    ledgers = (
        WindowLedger(size, days[0], primary, SHARES, tolerance, 1, 1),
        WindowLedger(size, days[0], secondary, SHARES, tolerance, 1, 1),
        WindowLedger(np.ones(4), days[1], tile_site, SHARES, 1.0, 1, 1),
    )
    before = [ledger.amount.copy() for ledger in ledgers]
    moved = footprint_moves(
        survey, plan, ledgers, days, (np.ones((2, 4), bool), np.ones((4, 4), bool)),
        np.array([100.0, 100.0, room, room]), (np.ones(2, bool), np.array(tiles_ok)),
    )  # fmt: skip
    if moved == 0:  # nothing moved: every window keeps its amounts
        for ledger, amount in zip(ledgers, before, strict=True):
            np.testing.assert_array_equal(ledger.amount, amount)
    return moved


def test_an_observation_on_three_sites_moves_its_role_and_the_tile_it_leaves() -> None:
    survey, plan = _three_site_footprint()
    assert copies(survey, *plan)[1] == 10.0
    assert _moves(survey, plan, 1.0, 100.0) == 1
    primary, secondary, tile_site = plan
    assert (primary[0], secondary[0]) in {(0, 2), (2, 0)}  # X now covers T2's site
    assert tile_site[1] in {primary[0], secondary[0]}  # T1 followed X
    assert copies(survey, *plan)[1] == 0.0


def test_a_footprint_move_the_windows_storage_or_a_frozen_tile_refuse_is_not_made() -> None:
    # X's improving pairs put one of its roles on Y's sites (2 or 3, with T2 there): with
    # 5 GB of storage left on both, windows that allow no role to move (tolerance 0), or
    # T0 and T1 frozen at sites 0 and 1 (X would then lose one of them for T2), nothing moves
    cases = ((1.0, 5.0, True), (0.0, 100.0, True), (1.0, 100.0, False))
    for tolerance, room, movable in cases:
        survey, plan = _three_site_footprint()
        assert _moves(survey, plan, tolerance, room, (movable, movable, True, True)) == 0
        np.testing.assert_array_equal(plan[0], [0, 2])
        np.testing.assert_array_equal(plan[1], [1, 3])
        assert copies(survey, *plan)[1] == 10.0
