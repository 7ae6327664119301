"""What the runner knows about each node and about the whole run, as plain values."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from sdc_agents.pipeline.provenance import Value


class NodeState(StrEnum):
    """A node's state; REUSED means `--resume` kept outputs whose provenance is unchanged."""

    WAITING = "WAITING"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    REUSED = "REUSED"
    FAILED = "FAILED"
    SKIPPED = "SKIPPED"


DONE_STATES = {NodeState.SUCCEEDED, NodeState.REUSED}


class RunState(StrEnum):
    """How the whole run ended."""

    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"


@dataclass
class NodeRecord:
    """One node: what it ran with, how it ended, what it asked for and used."""

    node_id: str
    executable: str
    state: NodeState = NodeState.WAITING
    command: list[str] = field(default_factory=list)
    inputs: dict[str, Value] = field(default_factory=dict)
    outputs: dict[str, str] = field(default_factory=dict)
    lineage: dict[str, list[str]] = field(default_factory=dict)
    error_class: str | None = None
    message: str = ""
    log_tail: str = ""
    job_id: str | None = None
    provenance: str | None = None
    requested: dict[str, Any] = field(default_factory=dict)
    used: dict[str, Any] | None = None
    flags: list[str] = field(default_factory=list)
    output_checksums: dict[str, str] = field(default_factory=dict)

    def fail(self, error_class: str, message: str, log_tail: str = "") -> None:
        """Mark the node FAILED with why."""
        self.state = NodeState.FAILED
        self.error_class, self.message, self.log_tail = error_class, message, log_tail


@dataclass
class RunReport:
    """The end of a run: its state, every node, the pipeline's outputs and the manifest."""

    pipeline: str
    state: RunState
    nodes: list[NodeRecord]
    outputs: dict[str, Value | None]
    manifest: Path

    def counts(self) -> dict[str, int]:
        """Number of nodes per state."""
        counts: dict[str, int] = {}
        for node in self.nodes:
            counts[node.state] = counts.get(node.state, 0) + 1
        return counts
