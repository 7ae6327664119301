"""Run a Pipeline Script end to end: check everything first, then execute, then the manifest."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sdc_agents.drm.protocol import BatchSystem
from sdc_agents.pipeline.commandline import resolve_command
from sdc_agents.pipeline.executor import Executor
from sdc_agents.pipeline.graph import PipelineGraph
from sdc_agents.pipeline.inputs import load_inputs
from sdc_agents.pipeline.manifest import manifest_document, previous_nodes, write_manifest
from sdc_agents.pipeline.provenance import Value
from sdc_agents.pipeline.records import DONE_STATES, NodeRecord, RunReport, RunState
from sdc_agents.pipeline.trace import load_pipeline


@dataclass(frozen=True)
class PreparedRun:
    """A pipeline that passed every check: its graph, inputs and resolved commands."""

    graph: PipelineGraph
    inputs: dict[str, Value]
    commands: dict[int, list[str]]


def prepare_run(script: Path, inputs_file: Path) -> PreparedRun:
    """Trace the script, read the inputs and find every command; raise PipelineError if wrong."""
    graph = load_pipeline(script)
    inputs = load_inputs(inputs_file, graph.inputs)
    commands = {id(inv.executable): resolve_command(inv) for inv in graph.all_invocations()}
    return PreparedRun(graph, inputs, commands)


def execute(
    prepared: PreparedRun,
    workdir: Path,
    batch: BatchSystem,
    max_parallel: int,
    resume: bool = False,
    poll_s: float = 0.05,
    on_change: Callable[[NodeRecord], None] | None = None,
) -> RunReport:
    """Run the checked pipeline in `workdir`; with `resume`, reuse unchanged successful nodes."""
    workdir = workdir.resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    started = datetime.now(UTC)
    executor = Executor(
        prepared.graph,
        prepared.inputs,
        workdir,
        batch,
        prepared.commands,
        max_parallel,
        previous_nodes(workdir) if resume else None,
        poll_s,
        on_change,
    )
    try:
        records = executor.run()
    except BaseException:
        # interrupted (Ctrl-C, a crash): still leave a manifest, so --resume keeps what finished
        _report(prepared, executor, batch.name, executor.all_records(), started)
        raise
    return _report(prepared, executor, batch.name, records, started)


def _report(
    prepared: PreparedRun,
    executor: Executor,
    drm: str,
    records: list[NodeRecord],
    started: datetime,
) -> RunReport:
    failed = any(r.state not in DONE_STATES for r in records)
    state = RunState.FAILED if failed else RunState.SUCCEEDED
    outputs = {name: executor.values.get(ref) for name, ref in prepared.graph.outputs.items()}
    document = manifest_document(
        prepared.graph.name,
        prepared.graph.script,
        state,
        drm,
        prepared.inputs,
        records,
        outputs,
        executor.checksums,
        started,
    )
    manifest = write_manifest(executor.workdir, document)
    return RunReport(prepared.graph.name, state, records, outputs, manifest)
