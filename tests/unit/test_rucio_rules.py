"""The plan as Rucio rules: what the plan wants and the change from what exists (pure)."""

from __future__ import annotations

import numpy as np

from metascheduler.rucio_publish import plan_rules
from metascheduler.rucio_rules import (
    ExistingRule,
    WantedRule,
    add_groups,
    diff_rules,
    plan_comment,
    tile_rules,
)
from placement.model import Plan, Survey

ME = "sdc"
NOW = 0.0


def _mine(rule: WantedRule, rid: str, version: int = 1) -> ExistingRule:
    return ExistingRule(rid, rule.scope, rule.name, rule.rse, ME, plan_comment(version))


def _survey() -> Survey:
    day = 86400.0
    return Survey(
        obs_ids=["OBS-1", "OBS-2", "OBS-3"],
        obs_start=np.array([0.0, day, 2 * day]),
        obs_ra=np.zeros(3),
        obs_dec=np.zeros(3),
        obs_size_gb=np.ones(3),
        tile_ids=["T-10"],
        tile_ra=np.zeros(1),
        tile_dec=np.zeros(1),
        tile_ptr=np.array([0, 2]),
        tile_obs=np.array([1, 2]),
    )


def _plan(primary: list[int], secondary: list[int], tile: int) -> Plan:
    return Plan(np.array(primary), np.array(secondary), np.array([tile]))


RSES = ["A_DISK", "B_DISK", "C_DISK"]
SCOPES = {1: "wide", 2: "wide", 3: "deep"}


def test_plan_wants_primary_secondary_and_tile_input_rules() -> None:
    rules = plan_rules(_survey(), _plan([0, 1, 2], [1, 2, 0], 2), RSES, SCOPES, 3.0, now=0.0)
    keys = {(r.scope, r.name, r.rse, r.lifetime) for r in rules.wanted}
    assert ("wide", "obs-1", "A_DISK", None) in keys and ("wide", "obs-1", "B_DISK", None) in keys
    assert ("deep", "obs-3", "C_DISK", None) in keys and ("deep", "obs-3", "A_DISK", None) in keys
    # tile T-10: inputs obs 2 and 3, scope of obs 2; window ends day 2 + 3 days = day 5
    assert ("wide", "tile-10-inputs", "C_DISK", 5 * 86400) in keys
    assert len(rules.wanted) == 7
    assert rules.containers == {("wide", "tile-10-inputs"): [("wide", "obs-2"), ("deep", "obs-3")]}


def test_tile_lifetime_ends_with_the_day_of_the_window_and_lapses_after_it() -> None:
    day = 86400
    (rule,) = tile_rules([("s", "tile-1-inputs", 1, "A", 2.5 * day)], now=day + 100)
    assert rule.lifetime == 3 * day - (day + 100) and not rule.lapsed
    (gone,) = tile_rules([("s", "tile-1-inputs", 1, "A", 2.5 * day)], now=2.6 * day)
    assert gone.lapsed
    existing = [_mine(gone, "r1")]
    changes = diff_rules([gone], existing, ME, RSES, NOW)
    assert changes.add == [] and changes.delete == [] and changes.kept == 1
    assert diff_rules([gone], [], ME, RSES, NOW).add == []  # no new rule for a window that is over


def test_first_publish_adds_everything_and_a_second_changes_nothing() -> None:
    wanted = plan_rules(_survey(), _plan([0, 1, 2], [1, 2, 0], 2), RSES, SCOPES, 3.0, 0.0).wanted
    first = diff_rules(wanted, [], ME, RSES, NOW)
    assert len(first.add) == 7 and first.churn == 7
    existing = [_mine(r, f"r{i}") for i, r in enumerate(first.add)]
    again = diff_rules(wanted, existing, ME, RSES, NOW)
    assert again.churn == 0 and again.kept == 7 and again.refused == []


def test_replan_changes_only_what_moved_and_a_role_swap_changes_nothing() -> None:
    before = plan_rules(_survey(), _plan([0, 1, 2], [1, 2, 0], 2), RSES, SCOPES, 3.0, 0.0)
    existing = [_mine(r, f"r{i}") for i, r in enumerate(before.wanted)]
    # obs 1 moves its primary A -> C; obs 2 swaps roles (B, C) -> (C, B); the tile stays
    after = plan_rules(_survey(), _plan([2, 2, 2], [1, 1, 0], 2), RSES, SCOPES, 3.0, 0.0)
    changes = diff_rules(after.wanted, existing, ME, RSES, NOW)
    assert [(r.name, r.rse) for r in changes.add] == [("obs-1", "C_DISK")]
    assert [(r.name, r.rse_expression) for r in changes.delete] == [("obs-1", "A_DISK")]
    assert changes.refused == [] and changes.kept == 6


def test_a_rule_someone_else_made_is_refused_never_deleted() -> None:
    wanted = [WantedRule("wide", "obs-1", "C_DISK", "primary")]
    theirs = ExistingRule("x1", "wide", "obs-1", "A_DISK", "alice", "keep my copy")
    mine_other_comment = ExistingRule("x2", "wide", "obs-1", "B_DISK", ME, "by hand")
    elsewhere = ExistingRule(
        "x3", "wide", "obs-1", "TAPE", "alice", None
    )  # RSE the plan never uses
    unrelated = ExistingRule("x4", "wide", "other", "C_DISK", "alice", None)
    mine = ExistingRule("x5", "wide", "obs-1", "C_DISK", ME, plan_comment(3))
    changes = diff_rules(
        wanted, [theirs, mine_other_comment, elsewhere, unrelated, mine], ME, RSES, NOW
    )
    assert {r.rule_id for r in changes.refused} == {"x1", "x2"}
    assert changes.delete == [] and changes.add == [] and changes.kept == 1


def test_a_wanted_rule_held_by_another_account_is_not_added_again() -> None:
    wanted = [WantedRule("wide", "obs-1", "A_DISK", "primary")]
    theirs = ExistingRule("x1", "wide", "obs-1", "A_DISK", "alice", None)
    assert diff_rules(wanted, [theirs], ME, RSES, NOW).add == []


def test_adds_are_grouped_by_rse_and_lifetime_for_bulk_calls() -> None:
    rules = [
        WantedRule("s", "obs-1", "A", "p"),
        WantedRule("s", "obs-2", "A", "p"),
        WantedRule("s", "tile-1-inputs", "A", "t", 86400),
        WantedRule("s", "tile-2-inputs", "A", "t", 86400),
        WantedRule("s", "obs-1", "B", "s"),
    ]
    groups = add_groups(rules)
    assert {k: len(v) for k, v in groups.items()} == {
        ("A", None): 2,
        ("A", 86400): 2,
        ("B", None): 1,
    }


def test_a_softly_deleted_rule_is_neither_kept_nor_deleted_again_but_revived() -> None:
    wanted = [WantedRule("wide", "obs-1", "A_DISK", "primary")]
    deleted = ExistingRule("d1", "wide", "obs-1", "A_DISK", ME, plan_comment(1), NOW + 3000)
    going_elsewhere = ExistingRule("d2", "wide", "obs-1", "B_DISK", ME, plan_comment(1), NOW + 60)
    changes = diff_rules(wanted, [deleted, going_elsewhere], ME, RSES, NOW)
    assert changes.add == [] and changes.delete == [] and changes.kept == 0
    assert [(old.rule_id, new.rse) for old, new in changes.revive] == [("d1", "A_DISK")]
    assert changes.churn == 1
    tile = WantedRule("wide", "tile-1-inputs", "A_DISK", "tile", 30 * 86400)
    lasting = ExistingRule("t1", "wide", "tile-1-inputs", "A_DISK", ME, plan_comment(1), 86400.0)
    assert diff_rules([tile], [lasting], ME, RSES, NOW).kept == 1
