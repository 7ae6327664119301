"""Publish a placement plan to Rucio: the rules it wants (pure, from the plan), what Rucio
holds (read), and the change applied in bulk calls. Decisions: `metascheduler.rucio_rules`."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC
from typing import Any

from dss.rucio_client import RucioSetupError
from dss.rucio_rse import quota_problem
from eas.rucio_mirror.lanes import Call, in_lanes
from eas.rucio_mirror.naming import obs_dataset, tile_inputs_container
from eas.rucio_mirror.sync import batched
from metascheduler.plan_import import archive_id
from metascheduler.rucio_rules import (
    ExistingRule,
    RuleChanges,
    WantedRule,
    add_groups,
    observation_rules,
    tile_rules,
)
from placement.model import Plan, Survey

Did = tuple[str, str]
Advance = Callable[[int], None]
BATCH = 1000
# Rucio applies a new rule in about twenty statements (3 when its judge applies it later):
# 100 (1,000) DIDs a call keep one call well within the client's timeout on a loaded
# server, and the calls stay O(rules / 100).
RULE_BATCH = 100
INJECTED_RULE_BATCH = 1000
SECONDS_PER_DAY = 86400.0


@dataclass(frozen=True)
class PlanRules:
    """The rules a plan wants and the Rucio collections they are set on."""

    wanted: list[WantedRule]
    datasets: list[Did]  # one per observation
    containers: dict[Did, list[Did]]  # a tile's inputs container -> its observations' datasets


def plan_rules(
    survey: Survey,
    plan: Plan,
    site_rses: list[str],
    obs_scopes: Mapping[int, str],
    latency_days: float,
    now: float,
) -> PlanRules:
    """The plan's rules: `site_rses[i]` is site i's RSE, `obs_scopes` the scope of each
    observation (archive id); a tile's scope is its lowest-id input's."""
    obs_numbers = [archive_id(o) for o in survey.obs_ids]
    datasets = [(obs_scopes[n], obs_dataset(n)) for n in obs_numbers]
    wanted = observation_rules(
        (scope, name, number, site_rses[int(plan.primary[i])], site_rses[int(plan.secondary[i])])
        for i, ((scope, name), number) in enumerate(zip(datasets, obs_numbers, strict=True))
    )
    containers: dict[Did, list[Did]] = {}
    tiles = []
    for t, tile_id in enumerate(survey.tile_ids):
        inputs = [int(i) for i in survey.tile_inputs(t)]
        number = archive_id(tile_id, "tile")
        scope = obs_scopes[min(obs_numbers[i] for i in inputs)]
        container = (scope, tile_inputs_container(number))
        containers[container] = [datasets[i] for i in inputs]
        window_end = float(survey.obs_start[inputs].max()) + latency_days * SECONDS_PER_DAY
        tiles.append((scope, container[1], number, site_rses[int(plan.tile_site[t])], window_end))
    wanted += tile_rules(tiles, now)
    return PlanRules(wanted, datasets, containers)


def read_rules(client: Any, dids: Iterable[Did]) -> list[ExistingRule]:
    """Every rule Rucio holds on `dids`, whoever made it: one listing per scope."""
    wanted = set(dids)
    found = []
    for scope in sorted({scope for scope, _ in wanted}):
        for rule in client.list_replication_rules({"scope": scope}):
            if (rule["scope"], rule["name"]) in wanted:
                found.append(
                    ExistingRule(
                        rule["id"],
                        rule["scope"],
                        rule["name"],
                        rule["rse_expression"],
                        rule["account"],
                        rule.get("comments"),
                        _unix(rule.get("expires_at")),
                    )
                )
    return found


def _unix(moment: Any) -> float | None:
    """rucio-clients gives naive UTC datetimes."""
    if moment is None:
        return None
    return float(moment.replace(tzinfo=UTC).timestamp())


def missing_collections(client: Any, rules: PlanRules) -> tuple[list[Did], list[Did]]:
    """The observation datasets and tile containers Rucio does not have yet."""
    scopes = sorted({s for s, _ in rules.datasets} | {s for s, _ in rules.containers})
    have: set[Did] = set()
    for scope in scopes:
        for kind in ("dataset", "container"):
            have.update((scope, name) for name in client.list_dids(scope, {}, did_type=kind))
    datasets = sorted(set(rules.datasets) - have)
    containers = sorted(set(rules.containers) - have)
    return datasets, containers


def create_collections(
    lanes: Sequence[Any], rules: PlanRules, datasets: list[Did], containers: list[Did]
) -> None:
    """Create the missing datasets and containers, then fill the new containers with their
    observations' datasets, in bulk calls spread over the clients in `lanes`. (Creating a
    container with its content in one `add_dids` costs Rucio more: ~15 statements a
    container, against ~14 when the attachments come in one bulk call; profiled.)"""
    kinds = [(d, "DATASET") for d in datasets] + [(c, "CONTAINER") for c in containers]
    in_lanes(
        lanes,
        [
            functools.partial(
                _add_dids, dids=[{"scope": s, "name": n, "type": kind} for (s, n), kind in chunk]
            )
            for chunk in batched(kinds, BATCH)
        ],
    )
    calls: list[Call] = []
    batch: list[dict[str, Any]] = []
    size = 0
    for scope, name in containers:
        members = [{"scope": s, "name": n} for s, n in rules.containers[(scope, name)]]
        batch.append({"scope": scope, "name": name, "dids": members})
        size += len(members)
        if size >= BATCH:
            calls.append(functools.partial(_attach, attachments=batch))
            batch, size = [], 0
    if batch:
        calls.append(functools.partial(_attach, attachments=batch))
    in_lanes(lanes, calls)


def _attach(client: Any, attachments: list[dict[str, Any]]) -> None:
    client.attach_dids_to_dids(attachments, ignore_duplicate=True)


def _add_dids(client: Any, dids: list[dict[str, Any]]) -> None:
    client.add_dids(dids)


def apply_changes(
    lanes: Sequence[Any],
    changes: RuleChanges,
    comment: str,
    advance: Advance,
    *,
    asynchronous: bool = False,
) -> None:
    """Add the rules (one bulk call per RSE and lifetime, at most `RULE_BATCH` DIDs each),
    revive the planner's rules deleted within the hour that the plan wants back, then delete
    the planner's rules that moved; refused rules are never touched. `asynchronous`:
    Rucio's judge-injector applies the new rules (Rucio still checks the RSE expression,
    the quota and duplicates now).

    Each step's calls are spread over the clients in `lanes` **one RSE per lane at a time**:
    applying a rule writes the collection's replica row at its RSE, and a tile's container
    holds observation datasets that have rules of their own at the same RSE, so two rules
    at one RSE applied at once collide on that row (tried: Rucio refuses one with
    "duplicate key ... COLLECTION_REPLICAS_PK"). Rules at different RSEs share no row."""
    size = INJECTED_RULE_BATCH if asynchronous else RULE_BATCH
    adds: dict[str, list[Call]] = {}
    for (rse, lifetime), rules in sorted(
        add_groups(changes.add).items(), key=lambda g: (g[0][0], g[0][1] or 0)
    ):
        for chunk in batched(rules, size):
            dids = [{"scope": r.scope, "name": r.name} for r in chunk]
            adds.setdefault(rse, []).append(
                functools.partial(
                    _add_rules,
                    dids=dids,
                    rse=rse,
                    lifetime=lifetime,
                    comment=comment,
                    asynchronous=asynchronous,
                    advance=advance,
                )
            )
    revives: dict[str, list[Call]] = {}
    for old, again in changes.revive:
        change = {"lifetime": again.lifetime, "comment": comment}
        revives.setdefault(old.rse_expression, []).append(
            functools.partial(_revive, rule_id=old.rule_id, change=change, advance=advance)
        )
    deletes: dict[str, list[Call]] = {}
    for gone in changes.delete:
        deletes.setdefault(gone.rse_expression, []).append(
            functools.partial(_delete, rule_id=gone.rule_id, advance=advance)
        )
    for step in (adds, revives, deletes):
        in_lanes(lanes, [functools.partial(_in_turn, calls=step[rse]) for rse in sorted(step)])


def _in_turn(client: Any, calls: list[Call]) -> None:
    for call in calls:
        call(client)


def _add_rules(
    client: Any,
    dids: list[dict[str, str]],
    rse: str,
    lifetime: int | None,
    comment: str,
    asynchronous: bool,
    advance: Advance,
) -> None:
    from rucio.common.exception import InsufficientAccountLimit

    try:
        client.add_replication_rule(
            dids,
            copies=1,
            rse_expression=rse,
            lifetime=lifetime,
            comment=comment,
            asynchronous=asynchronous,
        )
    except InsufficientAccountLimit:
        # Rucio's words ("insufficient quota on any of the target RSE's") name no RSE
        raise RucioSetupError(
            f"rules at {rse} refused: {quota_problem(client.account, rse, 0, False)}"
        ) from None
    advance(len(dids))


def _revive(client: Any, rule_id: str, change: dict[str, Any], advance: Advance) -> None:
    client.update_replication_rule(rule_id, change)
    advance(1)


def _delete(client: Any, rule_id: str, advance: Advance) -> None:
    client.delete_replication_rule(rule_id, purge_replicas=False)
    advance(1)
