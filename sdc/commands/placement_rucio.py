"""`sdc placement publish --to-rucio`: the plan stored in the archive and held by Rucio as
replication rules, in one go: if Rucio fails, the archive keeps the previous plan."""

from __future__ import annotations

import json
import time
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from metascheduler.rucio_rules import RuleChanges, plan_comment
from placement.model import Plan, Problem
from sdc.commands.common import archive_session, err_console, fail
from sdc.commands.rucio_common import connect, rse_for, rucio_errors, write_progress
from sdc.settings import Settings

console = Console()


def publish_to_rucio(
    settings: Settings,
    problem: Problem,
    plan: Plan,
    plan_file: Path,
    solver: str,
    dry_run: bool,
    as_json: bool,
) -> None:
    """Store the plan (unless `dry_run`) and make Rucio's rules match it; print the change."""
    from sqlalchemy import func, select

    from eas.models import Plan as PlanRow
    from eas.rucio_mirror.archive_side import observation_surveys
    from eas.schemas import ObservationIn
    from metascheduler.plan_import import archive_id, publish_plan
    from metascheduler.rucio_publish import (
        apply_changes,
        create_collections,
        missing_collections,
        plan_rules,
        read_rules,
    )
    from metascheduler.rucio_rules import diff_rules

    config = settings.rucio
    site_rses = [rse_for(config, site) for site in problem.site_names]
    client = connect(config, f"publish {plan_file} to Rucio")
    default_survey = ObservationIn.model_fields["survey"].default
    with archive_session(settings, what=str(plan_file)) as session:
        if dry_run:
            latest = session.scalar(select(func.max(PlanRow.version)))
            version = (latest or 0) + 1
        else:
            version = publish_plan(
                session, problem.survey, plan, problem.site_names, solver
            ).version
        numbers = [archive_id(o) for o in problem.survey.obs_ids]
        surveys = observation_surveys(session, numbers)
        try:
            scopes = {n: config.scope_of(surveys.get(n, default_survey)) for n in numbers}
        except ValueError as exc:
            fail(str(exc))
        now = time.time()
        rules = plan_rules(problem.survey, plan, site_rses, scopes, problem.rules.latency_days, now)
        with rucio_errors(config, f"publish {plan_file} to Rucio at {config.url}"):
            dids = set(rules.datasets) | set(rules.containers)
            existing = read_rules(client, dids)
            changes = diff_rules(rules.wanted, existing, config.account or "", site_rses, now)
            if not dry_run:
                datasets, containers = missing_collections(client, rules)
                busy = changes.churn or datasets or containers
                extra = config.write_lanes - 1 if busy else 0
                lanes = [client] + [connect(config, "publish") for _ in range(extra)]
                create_collections(lanes, rules, datasets, containers)
                with write_progress(console, as_json) as bar:
                    task = bar.add_task("changing rules", total=changes.churn)
                    apply_changes(
                        lanes,
                        changes,
                        plan_comment(version),
                        lambda n: bar.advance(task, n),
                        asynchronous=config.rule_injection == "judge",
                    )
    _report(changes, version, dry_run, as_json)


def _rows(changes: RuleChanges) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = [
        {
            "change": "add",
            "did": f"{r.scope}:{r.name}",
            "rse": r.rse,
            "lifetime": r.lifetime,
            "why": r.why,
        }
        for r in changes.add
    ]
    rows += [
        {
            "change": "revive",
            "did": f"{r.scope}:{r.name}",
            "rse": r.rse,
            "lifetime": r.lifetime,
            "rule": old.rule_id,
            "why": f"{r.why} (wanted back within the hour of its deletion)",
        }
        for old, r in changes.revive
    ]
    rows += [
        {
            "change": "delete",
            "did": f"{r.scope}:{r.name}",
            "rse": r.rse_expression,
            "rule": r.rule_id,
            "why": f"moved ({r.comment})",
        }
        for r in changes.delete
    ]
    rows += [
        {
            "change": "refused",
            "did": f"{r.scope}:{r.name}",
            "rse": r.rse_expression,
            "rule": r.rule_id,
            "why": f"not created by the planner (account {r.account}, comment {r.comment!r}): "
            "left in place",
        }
        for r in changes.refused
    ]
    return rows


def _report(changes: RuleChanges, version: int, dry_run: bool, as_json: bool) -> None:
    rows = _rows(changes)
    verb = "would add" if dry_run else "added"
    summary = (
        f"plan version {version}: {verb} {len(changes.add) + len(changes.revive)} rule(s), "
        f"{'would delete' if dry_run else 'deleted'} {len(changes.delete)}, "
        f"kept {changes.kept}, refused to delete {len(changes.refused)}"
    )
    if as_json:
        typer.echo(
            json.dumps(
                {
                    "version": version,
                    "dry_run": dry_run,
                    "added": len(changes.add) + len(changes.revive),
                    "deleted": len(changes.delete),
                    "kept": changes.kept,
                    "refused": len(changes.refused),
                    "changes": rows,
                },
                indent=1,
            )
        )
        return
    shown = rows if dry_run else [r for r in rows if r["change"] == "refused"]
    if shown:
        table = Table(
            "change",
            "DID",
            "RSE",
            "lifetime s",
            "rule",
            "why",
            title="rule changes" if dry_run else "refused",
        )
        for r in shown:
            lifetime = r.get("lifetime")
            table.add_row(
                str(r["change"]),
                str(r["did"]),
                str(r["rse"]),
                "-" if lifetime is None else str(lifetime),
                str(r.get("rule", "-")),
                str(r["why"]),
            )
        console.print(table)
    typer.echo(summary)
    if changes.refused:
        err_console.print(
            f"warning: {len(changes.refused)} rule(s) the plan no longer wants were made by "
            "someone else and were not deleted (listed above)",
            highlight=False,
        )
