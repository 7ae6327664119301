"""`sdc agent run` and `sdc agent status`: the site agent daemon and what it holds."""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console

from sdc.commands.common import archive_failed, err_console, fail, settings_of

if TYPE_CHECKING:
    from sdc_agents.agent.config import AgentConfig

console = Console()


def run(
    ctx: typer.Context,
    site: str | None = typer.Option(None, help="the SDC this agent works for (agent.site)"),
    token: str | None = typer.Option(
        None, help="the site's agent token (agent.token, SDC_AGENT__TOKEN)"
    ),
    archive_url: str | None = typer.Option(None, help="archive + scheduler API base URL"),
    dss_url: str | None = typer.Option(None, help="local DSS URL (default: the site's)"),
    workroot: Path | None = typer.Option(None, help="where job working directories go"),
    drm: str | None = typer.Option(None, help="batch system: local or slurm"),
    transport: str | None = typer.Option(
        None, help="how jobs arrive: http (pull) or celery (the site's broker queue)"
    ),
    broker: str | None = typer.Option(None, help="Celery broker URL (agent.broker_url)"),
    concurrency: int | None = typer.Option(None, min=1, help="jobs at once (celery transport)"),
    once: bool = typer.Option(False, "--once", help="run at most one job, then exit"),
) -> None:
    """Pull this site's jobs, stage inputs, run pipelines, register outputs (SIGTERM drains)."""
    from eas.errors import ArchiveError
    from sdc_agents.agent.build import AgentSetupError, build_agent, build_consumer

    settings = settings_of(ctx)
    if transport not in (None, "http", "celery"):
        fail(f"unknown transport {transport!r}; use http or celery", 2)
    changes = {
        "site": site, "token": token, "archive_url": archive_url, "dss_url": dss_url,
        "workroot": workroot, "drm": drm, "transport": transport, "broker_url": broker,
        "concurrency": concurrency,
    }  # fmt: skip
    config = settings.agent.model_copy(update={k: v for k, v in changes.items() if v is not None})
    if once and config.transport == "celery":
        fail("--once runs one pulled job; it needs --transport http", 2)
    try:
        agent = build_agent(config, settings.environment)
    except AgentSetupError as exc:
        fail(str(exc))
    except (ArchiveError, OSError) as exc:
        archive_failed(config.archive_url, exc)
    for line in startup_notes(config):
        err_console.print(line, highlight=False, soft_wrap=True)
    if once:
        result = agent.run_once()
        if result is None:
            typer.echo(f"no job queued at {config.site}")
            return
        verdict = "SUCCEEDED" if result.succeeded else f"FAILED ({result.error_class})"
        typer.echo(
            f"job {result.job_id} ({result.pipeline}) {verdict}: {len(result.products)} "
            f"product(s), {result.copied_inputs} input(s) copied {result.message}".rstrip()
        )
        raise typer.Exit(0 if result.succeeded else 1)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    if config.transport == "celery":
        build_consumer(agent, config).serve(handle_signals=True)
    else:
        agent.run_forever()


def startup_notes(config: AgentConfig) -> list[str]:
    """What a site admin should see when the agent starts: what it serves, and each pipeline
    whose Pipeline Script or fixed input file is not there (its jobs would fail; the agent
    still starts, since the files may be mounted later)."""
    names = ", ".join(sorted(config.pipelines)) or "none (every job would fail)"
    notes = [f"agent for {config.site} at {config.archive_url}; pipelines: {names}"]
    if config.drm == "slurm" and shutil.which("sbatch") is None:
        notes.append("warning: drm slurm, but no sbatch on PATH: every job would fail")
    for name, spec in sorted(config.pipelines.items()):
        if not spec.script.is_file():
            notes.append(f"warning: pipeline {name!r}: no Pipeline Script at {spec.script}")
        for key, value in spec.inputs.items():
            for item in [value] if isinstance(value, str) else value:
                if not item.startswith("@") and not Path(item).exists():
                    notes.append(f"warning: pipeline {name!r}: input {key!r}: no file {item}")
    return notes


def status(
    ctx: typer.Context,
    site: str | None = typer.Option(None, help="the site (agent.site)"),
    token: str | None = typer.Option(None, help="a token that may read the archive"),
    archive_url: str | None = typer.Option(None, help="archive + scheduler API base URL"),
    as_json: bool = typer.Option(False, "--json", help="machine-readable output"),
) -> None:
    """The jobs this site's agents hold: owner, lease epoch and expiry, resources."""
    from rich.table import Table

    from eas.errors import ArchiveError
    from eas.job_client import JobClient

    config = settings_of(ctx).agent
    site, token = site or config.site, token or config.token
    if not site or not token:
        fail("give --site and --token (or agent.site / agent.token)", 2)
    url = archive_url or config.archive_url
    try:
        with JobClient(url, token) as jobs:
            held = [j for s in ("CLAIMED", "RUNNING") for j in jobs.jobs(state=s, site=site)]
    except (ArchiveError, OSError) as exc:
        archive_failed(url, exc)
    if as_json:
        typer.echo(json.dumps([j.model_dump(mode="json") for j in held], indent=2))
        return
    table = Table("job", "pipeline", "state", "owner", "epoch", "lease until", "requested")
    for j in held:
        expiry = j.lease_expiry.isoformat(timespec="seconds") if j.lease_expiry else "-"
        table.add_row(
            str(j.id), j.pipeline, j.state, j.lease_owner or "-", str(j.lease_epoch), expiry,
            json.dumps(j.requested_resources),
        )  # fmt: skip
    console.print(table if held else f"no job held at {site}")
