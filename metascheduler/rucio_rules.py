"""The placement plan as Rucio replication rules: which rules the plan wants, and the change
from the rules that exist. Pure: `metascheduler.rucio_publish` reads Rucio and applies.

Decisions (docs/rucio.md):
- An observation's dataset gets one rule (copies=1) at its primary's RSE and one at its
  secondary's; a tile's inputs (the container `tile-<id>-inputs`) one at its processing
  site's RSE, expiring at the end of the UTC day in which its processing window ends.
- A rule is the planner's when its account is the planner's account and its comment starts
  with `COMMENT_PREFIX`; the comment carries the plan version that created it. A kept rule
  keeps its comment: rewriting every comment would make each re-plan O(plan), not O(churn).
- Rules are compared as (scope, name, RSE expression): a role swap between primary and
  secondary changes nothing in Rucio. Any existing rule with the key satisfies it.
- A rule on a DID the plan manages, at an RSE the plan uses, that the plan no longer wants is
  deleted when it is the planner's and refused (left, listed) when it is anyone else's.
- A tile whose window has ended wants no new rule; an existing one is left to expire.
- Rucio deletes a rule softly: it expires within the hour (`SOFT_DELETE_SECONDS`) and is
  listed until then. A rule that expires that soon is on its way out: it satisfies nothing
  and is not deleted again; when the plan wants it back, the planner's is revived (its
  lifetime and comment updated), since Rucio refuses a second rule of one account on the
  same DID and RSE.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field

COMMENT_PREFIX = "sdc placement plan v"
SECONDS_PER_DAY = 86400
SOFT_DELETE_SECONDS = 3600 + 300  # rucio's soft deletion (1 h) and some clock skew

Key = tuple[str, str, str]  # (scope, name, rse expression)


@dataclass(frozen=True)
class WantedRule:
    """A rule the plan wants: copies=1 of a DID at one RSE, forever (lifetime None) or for
    `lifetime` seconds from now (0 or less: the window has passed, nothing to add)."""

    scope: str
    name: str
    rse: str
    why: str
    lifetime: int | None = None

    @property
    def key(self) -> Key:
        """What identifies the rule across runs."""
        return self.scope, self.name, self.rse

    @property
    def lapsed(self) -> bool:
        """True when the processing window is over: no rule is added, none is deleted."""
        return self.lifetime is not None and self.lifetime <= 0


@dataclass(frozen=True)
class ExistingRule:
    """A replication rule Rucio holds."""

    rule_id: str
    scope: str
    name: str
    rse_expression: str
    account: str
    comment: str | None
    expires_at: float | None = None  # Unix seconds

    @property
    def key(self) -> Key:
        """What identifies the rule across runs."""
        return self.scope, self.name, self.rse_expression

    def expiring(self, now: float) -> bool:
        """True when the rule goes within the soft-deletion delay (deleted, or nearly over)."""
        return self.expires_at is not None and self.expires_at <= now + SOFT_DELETE_SECONDS


@dataclass(frozen=True)
class RuleChanges:
    """What publishing a plan changes in Rucio."""

    add: list[WantedRule] = field(default_factory=list)
    delete: list[ExistingRule] = field(default_factory=list)
    refused: list[ExistingRule] = field(default_factory=list)
    revive: list[tuple[ExistingRule, WantedRule]] = field(default_factory=list)
    kept: int = 0

    @property
    def churn(self) -> int:
        """Rules added, revived and deleted."""
        return len(self.add) + len(self.revive) + len(self.delete)


def plan_comment(version: int) -> str:
    """The comment of a rule created for plan `version`."""
    return f"{COMMENT_PREFIX}{version}"


def created_by_planner(rule: ExistingRule, account: str) -> bool:
    """True when the planner (this account, this comment) made the rule."""
    return rule.account == account and (rule.comment or "").startswith(COMMENT_PREFIX)


def observation_rules(
    observations: Iterable[tuple[str, str, int, str, str]],
) -> list[WantedRule]:
    """Rules of (scope, dataset, obs id, primary RSE, secondary RSE) rows."""
    wanted = []
    for scope, dataset, obs_id, primary, secondary in observations:
        wanted.append(WantedRule(scope, dataset, primary, f"primary of observation {obs_id}"))
        wanted.append(WantedRule(scope, dataset, secondary, f"secondary of observation {obs_id}"))
    return wanted


def tile_rules(tiles: Iterable[tuple[str, str, int, str, float]], now: float) -> list[WantedRule]:
    """Rules of (scope, inputs container, tile id, RSE, window end in Unix seconds) rows; each
    expires at the end of the UTC day of its window's end, so tiles ending on one day share
    one lifetime (and one bulk call)."""
    wanted = []
    for scope, container, tile_id, rse, window_end in tiles:
        expires = math.ceil(window_end / SECONDS_PER_DAY) * SECONDS_PER_DAY
        lifetime = int(expires - now) if window_end > now else 0
        wanted.append(WantedRule(scope, container, rse, f"inputs of tile {tile_id}", lifetime))
    return wanted


def diff_rules(
    wanted: Iterable[WantedRule],
    existing: Iterable[ExistingRule],
    account: str,
    site_rses: Iterable[str],
    now: float,
) -> RuleChanges:
    """The rules to add and delete so that Rucio holds what the plan wants, never deleting a
    rule the planner did not create (those are refused); rules at RSEs other than the plan's
    sites' (`site_rses`) are none of the plan's business."""
    wanted_by_key = {rule.key: rule for rule in wanted}
    managed_dids = {(scope, name) for scope, name, _ in wanted_by_key}
    managed_rses = set(site_rses) | {rse for _, _, rse in wanted_by_key}
    present: set[Key] = set()
    going: dict[Key, ExistingRule] = {}
    delete: list[ExistingRule] = []
    refused: list[ExistingRule] = []
    for rule in existing:
        if rule.expiring(now):
            if created_by_planner(rule, account):
                going[rule.key] = rule
            continue
        present.add(rule.key)
        if rule.key in wanted_by_key:
            continue
        if (rule.scope, rule.name) not in managed_dids or rule.rse_expression not in managed_rses:
            continue  # not about anything the plan places
        (delete if created_by_planner(rule, account) else refused).append(rule)
    missing = [r for k, r in wanted_by_key.items() if k not in present and not r.lapsed]
    return RuleChanges(
        add=[r for r in missing if r.key not in going],
        delete=delete,
        refused=refused,
        revive=[(going[r.key], r) for r in missing if r.key in going],
        kept=sum(1 for k in wanted_by_key if k in present),
    )


def add_groups(rules: Iterable[WantedRule]) -> dict[tuple[str, int | None], list[WantedRule]]:
    """Rules to add grouped by (RSE, lifetime): one bulk `add_replication_rule` per group."""
    groups: dict[tuple[str, int | None], list[WantedRule]] = {}
    for rule in rules:
        groups.setdefault((rule.rse, rule.lifetime), []).append(rule)
    return groups
