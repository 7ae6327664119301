"""Turn a ready invocation into a JobSpec: its directories, list files, outputs and resources."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from sdc_agents.drm.protocol import JobSpec
from sdc_agents.pipeline.commandline import command_line
from sdc_agents.pipeline.dsl import ComputingResources
from sdc_agents.pipeline.graph import Invocation
from sdc_agents.pipeline.provenance import ChecksumCache, Value


@dataclass(frozen=True)
class PreparedNode:
    """Everything needed to run (or reuse) one node."""

    job: JobSpec
    inputs: dict[str, Value]
    input_files: dict[str, list[Path]]
    outputs: dict[str, str]
    lineage: dict[str, list[str]]


class ResourceError(ValueError):
    """Dynamic resources could not be read from the file the previous step wrote."""


def node_dir(workdir: Path, node_id: str) -> Path:
    """Where a node's work, tmp, logs and outputs live: `WORKDIR/nodes/<node id>`."""
    return workdir / "nodes" / node_id


def prepare(
    invocation: Invocation,
    values: dict[str, Value],
    workdir: Path,
    prefix: list[str],
    checksums: ChecksumCache,
) -> PreparedNode:
    """Lay out the node's directory and build its command line (list inputs -> list files).

    The input files are checksummed on the way (`checksums`), as the provenance hash needs.
    """
    exe = invocation.executable
    home = node_dir(workdir, invocation.node_id)
    inputs = {port: values[ref] for port, ref in invocation.inputs.items()}
    ports: dict[str, str] = {}
    for port, value in inputs.items():
        if isinstance(value, list):
            list_file = home / "inputs" / f"{port}.json"
            list_file.parent.mkdir(parents=True, exist_ok=True)
            list_file.write_text(json.dumps(value))
            ports[port] = str(list_file)
        else:
            ports[port] = value
    outputs = {o.name: str(home / "out" / f"{o.name}{o.suffix}") for o in exe.outputs}
    input_files = {port: checksums.files(value) for port, value in inputs.items()}
    lineage = {
        o.name: [str(f) for port in (o.lineage or exe.input_names) for f in input_files[port]]
        for o in exe.outputs
    }
    resources = dynamic_resources(exe.resources, inputs)
    # the node's directory is both its working and its log directory: two fewer mkdirs per
    # node, which is most of the runner's cost on a fan-out of short jobs
    argv = command_line(prefix, ports | outputs, home, home)
    job = JobSpec(invocation.node_id, argv, home, home, home / "tmp", resources, (home / "out",))
    return PreparedNode(job, inputs, input_files, outputs, lineage)


def dynamic_resources(
    resources: ComputingResources, inputs: dict[str, Value]
) -> ComputingResources:
    """Resources overridden by the JSON object in the input named by `from_input`, if any."""
    if resources.from_input is None:
        return resources
    source = inputs[resources.from_input]
    if isinstance(source, list):
        raise ResourceError(f"resources input {resources.from_input!r} is a list, not a file")
    try:
        overrides = json.loads(Path(source).read_text())
        if not isinstance(overrides, dict):
            raise ValueError("expected a JSON object")
        return resources.with_overrides(overrides)
    except (OSError, ValueError, TypeError) as exc:
        raise ResourceError(f"resources from {source}: {exc}") from None


def requested(resources: ComputingResources) -> dict[str, object]:
    """The resources as plain values for the manifest."""
    return {
        "cores": resources.cores,
        "ram": resources.ram,
        "walltime": resources.walltime,
        "vms": resources.vms,
        "gpus": resources.gpus,
        "tmpdir": resources.tmpdir,
    }
