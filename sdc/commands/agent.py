"""`sdc agent`: The SDC site agent and the Pipeline Runner."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console

from sdc.commands import agent_daemon
from sdc.commands.common import EXIT_ERROR, EXIT_UNAVAILABLE, fail, settings_of

if TYPE_CHECKING:
    from rich.table import Table

    from sdc.settings import Settings
    from sdc_agents.drm.protocol import BatchSystem
    from sdc_agents.pipeline.records import RunReport

app = typer.Typer(no_args_is_help=True)  # its help: sdc.cli.AREAS
pipeline_app = typer.Typer(
    help="Run Euclid-style Pipeline Scripts on this machine.", no_args_is_help=True
)
app.add_typer(pipeline_app, name="pipeline")
console = Console()


app.command("run")(agent_daemon.run)
app.command("status")(agent_daemon.status)


@pipeline_app.command("run")
def pipeline_run(
    ctx: typer.Context,
    script: Path = typer.Argument(..., help="the Pipeline Script (a .py with one @pipeline)"),
    inputs: Path = typer.Option(..., "--inputs", help="YAML: pipeline input name -> path(s)"),
    workdir: Path = typer.Option(..., "--workdir", help="where nodes run and outputs go"),
    drm: str | None = typer.Option(None, "--drm", help="batch system: local or slurm"),
    max_parallel: int | None = typer.Option(None, "--max-parallel", min=1, help="jobs at once"),
    resume: bool = typer.Option(False, "--resume", help="re-run only what failed or did not run"),
    as_json: bool = typer.Option(False, "--json", help="print the run summary as JSON"),
) -> None:
    """Run a pipeline: every check first, then the nodes, then the manifest in WORKDIR."""
    from rich.progress import Progress

    from sdc_agents.drm import BATCH_SYSTEMS
    from sdc_agents.pipeline import PipelineError
    from sdc_agents.pipeline.records import NodeRecord, RunState
    from sdc_agents.pipeline.run import execute, prepare_run

    config = settings_of(ctx).pipeline_runner
    drm_name = drm or config.drm
    if drm_name not in BATCH_SYSTEMS:
        fail(
            f"--drm {drm_name!r}: unknown batch system (known: {sorted(BATCH_SYSTEMS)})",
            EXIT_UNAVAILABLE,
        )
    try:
        prepared = prepare_run(script, inputs)
    except PipelineError as exc:
        fail(str(exc))
    parallel = max_parallel or config.max_parallel or os.cpu_count() or 1
    batch, poll_s = _batch_system(drm_name, settings_of(ctx), parallel)
    with Progress(console=console, transient=True, disable=as_json) as progress:
        task = progress.add_task(f"running {prepared.graph.name}", total=None)

        def show(record: NodeRecord) -> None:
            progress.update(task, description=f"{record.node_id}: {record.state}")

        try:
            report = execute(prepared, workdir, batch, parallel, resume, poll_s, show)
        except OSError as exc:
            fail(f"--workdir {workdir}: {exc}")
        finally:
            batch.close()
    if as_json:
        console.print_json(json.dumps(_summary(report)))
    else:
        console.print(_node_table(report))
        console.print(f"run {report.state}; manifest: {report.manifest}")
    if report.state is RunState.FAILED:
        raise typer.Exit(EXIT_ERROR)


@pipeline_app.command("graph")
def pipeline_graph(
    script: Path = typer.Argument(..., help="the Pipeline Script"),
    out: Path | None = typer.Option(None, "--out", help="write the graph: .dot or .png"),
) -> None:
    """Print the static data-flow graph (a @parallel block stands for all its instances)."""
    from rich.table import Table

    from sdc_agents.pipeline import PipelineError, load_pipeline
    from sdc_agents.pipeline.render import graph_dot, write_png

    if out is not None and out.suffix not in (".dot", ".png"):
        fail(f"--out {out}: the file name must end in .dot or .png", 2)
    try:
        graph = load_pipeline(script)
    except PipelineError as exc:
        fail(str(exc))
    table = Table(title=f"pipeline {graph.name} ({script})")
    for column in ("node", "command", "inputs", "outputs", "cores/ram GB/walltime h"):
        table.add_column(column)
    for invocation in graph.all_invocations():
        res = invocation.executable.resources
        table.add_row(
            invocation.node_id,
            invocation.executable.command,
            ", ".join(f"{p}<-{r}" for p, r in invocation.inputs.items()),
            ", ".join(invocation.outputs),
            f"{res.cores}/{res.ram:g}/{res.walltime:g}",
        )
    console.print(table)
    if out is None:
        return
    try:
        if out.suffix == ".dot":
            out.write_text(graph_dot(graph))
        else:
            write_png(graph, out)
    except OSError as exc:  # a directory that is not there or not ours: no traceback
        fail(f"--out {out}: cannot write: {exc.strerror or exc}")
    console.print(f"wrote {out}")


@pipeline_app.command("example")
def pipeline_example(
    directory: Path = typer.Argument(..., help="where to write the example FITS inputs"),
    frames: int = typer.Option(4, "--frames", min=1, help="raw frames to split"),
) -> None:
    """Write synthetic FITS inputs and inputs.yaml for the example pipeline."""
    from sdc_agents.examples import EXAMPLE_PIPELINE, write_example_inputs

    try:
        inputs = write_example_inputs(directory, frames)
    except OSError as exc:  # under a file, or where we may not write: no traceback
        fail(f"{directory}: cannot write the example inputs there: {exc.strerror or exc}")
    console.print(
        f"wrote {inputs}; run it with:\n"
        f"  sdc agent pipeline run {EXAMPLE_PIPELINE} --inputs {inputs} --workdir WORKDIR"
    )


def _batch_system(name: str, settings: Settings, parallel: int) -> tuple[BatchSystem, float]:
    from sdc_agents.drm import LocalBatchSystem, SlurmBatchSystem

    config = settings.pipeline_runner
    if name == "slurm":
        return SlurmBatchSystem(config.slurm_partition), config.slurm_poll_s
    return LocalBatchSystem(settings.environment, max_jobs=parallel), config.local_poll_s


def _node_table(report: RunReport) -> Table:
    from rich.table import Table

    table = Table(title=f"pipeline {report.pipeline}: {report.state}")
    for column in ("node", "state", "error", "wall s", "max RSS MB", "message / log tail"):
        table.add_column(column)
    for node in sorted(report.nodes, key=lambda n: n.node_id):
        used = node.used or {}
        detail = "\n".join(filter(None, [node.message, node.log_tail, *node.flags]))
        table.add_row(
            node.node_id,
            node.state,
            node.error_class or "",
            str(used.get("wall_s", "")),
            str(used.get("max_rss_mb", "")),
            detail,
        )
    return table


def _summary(report: RunReport) -> dict[str, object]:
    return {
        "pipeline": report.pipeline,
        "state": report.state,
        "manifest": str(report.manifest),
        "counts": report.counts(),
        "outputs": report.outputs,
        "nodes": [
            {
                "node": n.node_id,
                "state": n.state,
                "error_class": n.error_class,
                "message": n.message,
            }
            for n in report.nodes
        ],
    }
