"""The run manifest (JSON): every output with checksum, producing node, lineage, resources.

It is what the agent registers in the archive, and what `--resume` reads back.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sdc_agents.pipeline.provenance import ChecksumCache, Value
from sdc_agents.pipeline.records import DONE_STATES, NodeRecord, RunState

MANIFEST_NAME = "manifest.json"
FORMAT_VERSION = 1


def manifest_document(
    pipeline: str,
    script: Path,
    state: RunState,
    drm: str,
    inputs: dict[str, Value],
    nodes: list[NodeRecord],
    outputs: dict[str, Value | None],
    checksums: ChecksumCache,
    started: datetime,
) -> dict[str, Any]:
    """The manifest as a JSON-ready mapping."""
    files = []
    for node in nodes:
        if node.state not in DONE_STATES:
            continue
        for port, value in node.outputs.items():
            for path in checksums.files(value):
                adler32, size = checksums.of(path)
                files.append(
                    {
                        "path": str(path),
                        "port": port,
                        "node": node.node_id,
                        "adler32": adler32,
                        "size": size,
                        "lineage": node.lineage.get(port, []),
                    }
                )
    return {
        "format": FORMAT_VERSION,
        "pipeline": pipeline,
        "script": str(script),
        "state": str(state),
        "drm": drm,
        "started": started.isoformat(),
        "finished": datetime.now(UTC).isoformat(),
        "inputs": inputs,
        "pipeline_outputs": outputs,
        "outputs": files,
        "nodes": [dict(vars(node)) for node in nodes],
    }


def write_manifest(workdir: Path, document: dict[str, Any]) -> Path:
    """Write the manifest atomically (a reader never sees half a file)."""
    path = workdir / MANIFEST_NAME
    partial = path.with_suffix(".json.partial")
    # compact: json's C encoder only runs without indent, and manifests get large
    partial.write_text(json.dumps(document))
    os.replace(partial, path)
    return path


def previous_nodes(workdir: Path) -> dict[str, dict[str, Any]]:
    """The node entries of an earlier run's manifest, by node id; empty when there is none."""
    try:
        document = json.loads((workdir / MANIFEST_NAME).read_text())
    except (OSError, json.JSONDecodeError):
        return {}
    return {node["node_id"]: node for node in document.get("nodes", [])}
