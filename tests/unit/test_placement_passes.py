"""What the greedy passes add around the stream: tile-window prices, tied tiles spread by
share, refused moves that land by ejecting an item of the destination, and the mending of
a plan left just out of bounds."""

from __future__ import annotations

import numpy as np

from placement.check import check_plan
from placement.greedy import balanced_tile_sites
from placement.ledger import WindowLedger
from placement.local_search import _apply_best
from placement.mend import mend
from placement.model import Plan
from placement.prices import WindowPrices
from placement.rebalance import FORBIDDEN
from placement.solve import SolveOptions, solve
from tests.unit.placement_instances import random_problem


def test_tile_prices_rise_where_a_stream_overfills_and_relax_once_it_stays_inside() -> None:
    tile_day = np.repeat(np.arange(4), 2)
    prices = WindowPrices(tile_day, np.ones(8), np.array([0.5, 0.5]), (0.1, 2, 4), 0.3)
    np.testing.assert_array_equal(prices.per_item(), np.zeros((8, 2)))
    prices.learn(np.zeros(8, dtype=np.int64))  # every tile on site 0: far above its 60%
    first = prices.per_item()
    assert first.shape == (8, 2)
    assert (first[:, 0] > 0).all() and (first[:, 1] < 0).all()
    for _ in range(5):
        prices.learn(np.tile([0, 1], 4))  # exactly the shares
    assert (np.abs(prices.per_item()) < np.abs(first)).all()


def test_tied_tiles_go_to_the_site_behind_its_share_and_others_to_their_most_local() -> None:
    local = np.zeros((12, 2))
    local[10:] = [[5.0, 0.0], [0.0, 5.0]]  # two tiles with a clear best site
    sites = balanced_tile_sites(local, np.repeat(np.arange(6), 2), np.array([0.75, 0.25]))
    assert sites[10] == 0 and sites[11] == 1
    assert np.bincount(sites[:10], minlength=2).tolist() == [7, 3]  # argmax alone: 10 and 0


def test_a_refused_move_lands_when_an_item_of_the_destination_moves_on_for_free() -> None:
    sites = np.array([0, 0, 0, 0, 1, 1, 1, 1, 1, 2])
    weights, days = np.ones(10), np.zeros(10, dtype=np.int64)
    ledger = WindowLedger(weights, days, sites, np.array([0.4, 0.4, 0.2]), 0.1, 1, 1)
    value = np.zeros((10, 3))
    value[0] = [0.0, 10.0, 0.0]  # wants site 1, which holds its 50% already
    value[1:4] = [5.0, 0.0, 0.0]
    value[4:9] = [FORBIDDEN, 5.0, 0.0]  # none can take item 0's place on site 0
    value[8] = [FORBIDDEN, 5.0, 5.0]  # but this one keeps as much on site 2
    value[9] = [0.0, 0.0, 5.0]
    moved = _apply_best(value, sites, ledger, weights, days, np.ones(10, dtype=np.bool_))
    assert moved == 2
    assert sites[0] == 1 and sites[8] == 2
    assert not ledger.out_of_bounds()
    assert np.bincount(sites, minlength=3).tolist() == [3, 5, 2]


def test_mend_brings_a_plan_with_a_window_out_of_bounds_back_or_says_it_cannot() -> None:
    problem = random_problem(3, 40, 8, 3, outage=False)
    plan = solve(problem, SolveOptions(time_limit=2.0, workers=1, polish=False))
    assert check_plan(problem, plan).ok
    assert mend(problem, plan) is not None  # nothing to mend: the same plan
    broken = None
    for o in range(problem.survey.n_obs):  # one primary moved so that a window breaks
        for s in range(len(problem.sites)):
            primary = plan.primary.copy()
            if s in (plan.primary[o], plan.secondary[o]):
                continue
            primary[o] = s
            candidate = Plan(primary, plan.secondary, plan.tile_site)
            if not check_plan(problem, candidate).ok:
                broken = candidate
                break
        if broken is not None:
            break
    assert broken is not None
    mended = mend(problem, broken)
    assert mended is not None
    assert check_plan(problem, mended).ok
