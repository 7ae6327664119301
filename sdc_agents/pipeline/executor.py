"""The loop that runs a traced pipeline on a batch system, expanding fan-outs as items appear.

Bookkeeping is by reference: each waiting consumer (a node, a fan-out, a gather) counts the
references it still needs; a produced value wakes its readers, a failure kills them, so a
node downstream of a failure is SKIPPED without ever being submitted.
"""

from __future__ import annotations

import gc
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sdc_agents.drm.protocol import BatchSystem, ErrorClass, JobPhase, SubmitError, log_tail
from sdc_agents.pipeline.fanout import FanOutError, expand, items_of
from sdc_agents.pipeline.graph import FanOut, Invocation, PipelineGraph
from sdc_agents.pipeline.jobprep import (
    PreparedNode,
    ResourceError,
    prepare,
    requested,
)
from sdc_agents.pipeline.provenance import MISSING, ChecksumCache, Value, provenance_hash
from sdc_agents.pipeline.records import DONE_STATES, NodeRecord, NodeState

Reader = tuple[str, str]  # ("node" | "fanout" | "gather", id)


class Executor:
    """Runs one pipeline once; `run()` returns every node's record."""

    def __init__(
        self,
        graph: PipelineGraph,
        inputs: dict[str, Value],
        workdir: Path,
        batch: BatchSystem,
        commands: dict[int, list[str]],
        max_parallel: int,
        previous: dict[str, dict[str, Any]] | None = None,
        poll_s: float = 0.05,
        on_change: Callable[[NodeRecord], None] | None = None,
    ) -> None:
        self.graph, self.workdir, self.batch = graph, workdir, batch
        self.commands = commands  # id(Executable) -> resolved argv prefix
        self.max_parallel, self.poll_s = max(1, max_parallel), poll_s
        self.previous = previous or {}
        self.on_change = on_change or (lambda record: None)
        self.checksums = ChecksumCache()
        self.values: dict[str, Value] = {f"in:{k}": v for k, v in inputs.items()}
        self.dead: set[str] = set()
        self.readers: dict[str, list[Reader]] = {}
        self.missing: dict[Reader, set[str]] = {}
        self.nodes: dict[str, Invocation] = {}
        self.records: dict[str, NodeRecord] = {}
        self.gathers: dict[str, list[str]] = {}
        self.fanouts = {f.block_id: f for f in graph.fanouts}
        self.ready: deque[str] = deque()
        self.running: dict[str, tuple[str, PreparedNode]] = {}

    def run(self) -> list[NodeRecord]:
        """Run until nothing is ready or running; cancel what runs if interrupted."""
        self.register()
        try:
            while self.ready or self.running:
                while self.ready and len(self.running) < self.max_parallel + self.batch.prefetch:
                    self._start(self.ready.popleft())
                finished = [
                    n
                    for n, (job_id, _) in self.running.items()
                    if self.batch.status(job_id) is JobPhase.FINISHED
                ]
                for node_id in finished:
                    self._finish(node_id)
                if self.running and not finished:
                    self.batch.wait(self.poll_s)
        finally:
            for job_id, _ in self.running.values():
                self.batch.cancel(job_id)
        for reader in list(self.missing):
            self._kill_reader(reader, "its inputs were never produced")
        return self.all_records()

    def all_records(self) -> list[NodeRecord]:
        """A record for every node known so far (WAITING for those that never started)."""
        return [self._record(node_id) for node_id in self.nodes] + [
            r for node_id, r in self.records.items() if node_id not in self.nodes
        ]

    def register(self) -> None:
        """Enter the static nodes, and the fan-outs whose items are known already (inputs)."""
        for invocation in self.graph.invocations:
            self._add_node(invocation)
        for fanout in self.graph.fanouts:
            self._wait(("fanout", fanout.block_id), [fanout.iterable_ref])

    def _add_node(self, invocation: Invocation) -> None:
        # no record yet: a fan-out can add 100,000 nodes, each gets one when it starts or skips
        self.nodes[invocation.node_id] = invocation
        self._wait(("node", invocation.node_id), invocation.inputs.values())

    def _record(self, node_id: str) -> NodeRecord:
        record = self.records.get(node_id)
        if record is None:
            executable = self.nodes[node_id].executable
            record = NodeRecord(
                node_id, executable.name or "", requested=requested(executable.resources)
            )
            self.records[node_id] = record
        return record

    def _wait(self, reader: Reader, refs: Iterable[str]) -> None:
        missing = {r for r in refs if r not in self.values}
        if not missing:
            self._on_ready(reader)
            return
        self.missing[reader] = missing
        dead = [r for r in missing if r in self.dead]
        if dead:
            self._kill_reader(reader, f"upstream {dead[0]} failed")
            return
        for ref in missing:
            self.readers.setdefault(ref, []).append(reader)

    def _produce(self, ref: str, value: Value) -> None:
        self.values[ref] = value
        for reader in self.readers.pop(ref, ()):
            missing = self.missing.get(reader)
            if missing is None:
                continue
            missing.discard(ref)
            if not missing:
                del self.missing[reader]
                self._on_ready(reader)

    def _on_ready(self, reader: Reader) -> None:
        kind, key = reader
        if kind == "node":
            self.ready.append(key)
        elif kind == "gather":
            self._produce(key, [v for r in self.gathers.pop(key) for v in _flat(self.values[r])])
        else:
            self._expand(self.fanouts[key])

    def _expand(self, fanout: FanOut) -> None:
        try:
            items = items_of(self.values[fanout.iterable_ref])
        except FanOutError as exc:
            self._fail_block(fanout, str(exc))
            return
        with _gc_paused():
            self._add_instances(fanout, items)

    def _add_instances(self, fanout: FanOut, items: list[str]) -> None:
        expansion = expand(fanout, items)
        values, nodes, ready = self.values, self.nodes, self.ready
        values.update(expansion.item_values)
        for invocation in expansion.invocations:
            # _add_node inlined: a fan-out can bring 100,000 nodes at once
            nodes[invocation.node_id] = invocation
            waits_for = [r for r in invocation.inputs.values() if r not in values]
            if waits_for:
                self._wait(("node", invocation.node_id), waits_for)
            else:
                ready.append(invocation.node_id)
        for gathered, members in expansion.gathered.items():
            self.gathers[gathered] = members
            self._wait(("gather", gathered), members)

    def _fail_block(self, fanout: FanOut, message: str) -> None:
        record = NodeRecord(f"{fanout.block_id}[*]", fanout.block_id)
        record.fail("FANOUT_FAILED", message)
        self.records[record.node_id] = record
        self.on_change(record)
        for _, gathered in fanout.results:
            self._kill(gathered, f"fan-out {fanout.block_id} failed")

    def _kill(self, ref: str, reason: str) -> None:
        self.dead.add(ref)
        for reader in self.readers.pop(ref, ()):
            self._kill_reader(reader, reason)

    def _kill_reader(self, reader: Reader, reason: str) -> None:
        if self.missing.pop(reader, None) is None:
            return  # already ready, done or killed
        kind, key = reader
        if kind == "node":
            record = self._record(key)
            record.state, record.message = NodeState.SKIPPED, reason
            self.on_change(record)
            for ref in self.nodes[key].outputs.values():
                self._kill(ref, f"upstream {key} did not succeed")
        elif kind == "gather":
            self._kill(key, reason)
        else:
            fanout = self.fanouts[key]
            record = NodeRecord(f"{key}[*]", key, NodeState.SKIPPED, message=reason)
            self.records[record.node_id] = record
            self.on_change(record)
            for _, gathered in fanout.results:
                self._kill(gathered, reason)

    def _start(self, node_id: str) -> None:
        invocation, record = self.nodes[node_id], self._record(node_id)
        try:
            prepared = prepare(
                invocation,
                self.values,
                self.workdir,
                self.commands[id(invocation.executable)],
                self.checksums,
            )
        except ResourceError as exc:
            record.fail(ErrorClass.BAD_RESOURCES, str(exc))
            return self._settle(invocation, record)
        job = prepared.job
        record.command, record.inputs = job.argv, prepared.inputs
        record.outputs, record.lineage = prepared.outputs, prepared.lineage
        record.requested = requested(job.resources)
        record.provenance = provenance_hash(
            invocation.executable.command,
            job.resources,
            prepared.input_files,
            list(prepared.outputs),
            self.checksums,
        )
        if self._reusable(record):
            record.state = NodeState.REUSED
            return self._settle(invocation, record)
        for path in record.outputs.values():
            self.checksums.forget(path)
        try:
            record.job_id = self.batch.submit(job)
        except SubmitError as exc:
            record.fail(ErrorClass.SUBMIT_FAILED, str(exc))
            return self._settle(invocation, record)
        record.state = NodeState.RUNNING
        self.running[node_id] = (record.job_id, prepared)
        self.on_change(record)

    def _reusable(self, record: NodeRecord) -> bool:
        before = self.previous.get(record.node_id)
        if not before or before.get("provenance") != record.provenance:
            return False
        if before.get("state") not in DONE_STATES or before.get("outputs") != record.outputs:
            return False
        now = _merged(self.checksums.sums(path) for path in record.outputs.values())
        if not now or now != before.get("output_checksums"):
            return False
        record.output_checksums = now
        return True

    def _finish(self, node_id: str) -> None:
        job_id, prepared = self.running.pop(node_id)
        record = self._record(node_id)
        outcome = self.batch.collect(job_id)
        if outcome.usage is not None:
            record.used = outcome.usage.as_dict()
        record.flags = outcome.flags
        if outcome.error_class is not None:
            record.fail(outcome.error_class, outcome.message, log_tail(prepared.job))
        else:
            # one open per output file tells both whether it exists and its checksum
            sums = {port: self.checksums.sums(path) for port, path in prepared.outputs.items()}
            if missing := [port for port, s in sums.items() if MISSING[0] in s.values()]:
                record.fail(
                    ErrorClass.MISSING_OUTPUT,
                    f"declared output(s) not written: {', '.join(missing)}",
                    log_tail(prepared.job),
                )
            else:
                record.state = NodeState.SUCCEEDED
                record.output_checksums = _merged(sums.values())
        self._settle(self.nodes[node_id], record)

    def _settle(self, invocation: Invocation, record: NodeRecord) -> None:
        self.on_change(record)
        if record.state in DONE_STATES:
            for port, ref in invocation.outputs.items():
                self._produce(ref, record.outputs[port])
        else:
            for ref in invocation.outputs.values():
                self._kill(ref, f"upstream {invocation.node_id} failed")


@contextmanager
def _gc_paused() -> Iterator[None]:
    """No cyclic GC while a fan-out is entered: its 100,000s of small objects live as long as
    the run, and the generational passes over them would double the time it takes."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _merged(mappings: Iterable[dict[str, str]]) -> dict[str, str]:
    return {key: value for mapping in mappings for key, value in mapping.items()}


def _flat(value: Value) -> list[str]:
    return value if isinstance(value, list) else [value]
