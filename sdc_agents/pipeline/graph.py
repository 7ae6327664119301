"""The data-flow graph a Pipeline Script traces into: invocations joined by references.

A reference id names one value flowing along an edge: a pipeline input (`in:name`), an
output port of a node (`node_id:port`), one item of a fan-out (`block[i]/item`) or the
list gathered from a fan-out (`block:result0`). Node ids inside a @parallel template
start with the block id (`correct/correct_dark`); instance i renames them
`correct[i]/correct_dark` at run time.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from sdc_agents.pipeline.dsl import Executable
from sdc_agents.pipeline.errors import CallSite, PipelineDefinitionError


@dataclass(frozen=True, slots=True)
class Ref:
    """A graph reference returned by tracing instead of a result."""

    ref_id: str

    def __repr__(self) -> str:
        return f"Ref({self.ref_id})"


@dataclass(slots=True)
class Invocation:
    """One run of an Executable: its input port -> reference, output port -> reference."""

    node_id: str
    executable: Executable
    inputs: dict[str, str]
    outputs: dict[str, str]
    site: CallSite


@dataclass(slots=True)
class FanOut:
    """A @parallel call: a template of invocations repeated once per item at run time."""

    block_id: str
    iterable_ref: str
    template: list[Invocation]
    results: list[tuple[str, str]]  # (template reference, gathered reference)
    site: CallSite

    @property
    def item_ref(self) -> str:
        """The template's placeholder for one item."""
        return f"{self.block_id}/item"


@dataclass
class PipelineGraph:
    """A traced Pipeline Script, before any fan-out is expanded."""

    name: str
    script: Path
    inputs: list[str]
    outputs: dict[str, str]
    invocations: list[Invocation] = field(default_factory=list)
    fanouts: list[FanOut] = field(default_factory=list)

    def all_invocations(self) -> Iterator[Invocation]:
        """Static invocations and every fan-out's template invocations."""
        yield from self.invocations
        for fanout in self.fanouts:
            yield from fanout.template

    def dependencies(self) -> dict[str, set[str]]:
        """Unit id (node or block) -> ids of the units it reads from."""
        producer: dict[str, str] = {}
        for invocation in self.invocations:
            for ref in invocation.outputs.values():
                producer[ref] = invocation.node_id
        for fanout in self.fanouts:
            for _, gathered in fanout.results:
                producer[gathered] = fanout.block_id
        needs: dict[str, set[str]] = {}
        for invocation in self.invocations:
            needs[invocation.node_id] = {
                producer[r] for r in invocation.inputs.values() if r in producer
            }
        for fanout in self.fanouts:
            reads = {fanout.iterable_ref}
            for template in fanout.template:
                reads.update(template.inputs.values())
            needs[fanout.block_id] = {producer[r] for r in reads if r in producer}
        return needs


def check_acyclic(graph: PipelineGraph) -> list[str]:
    """Unit ids in an order where producers come first; raise naming a cycle if there is one."""
    needs = graph.dependencies()
    order: list[str] = []
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    for start in needs:
        if state.get(start):
            continue
        stack: list[tuple[str, Iterator[str]]] = [(start, iter(sorted(needs[start])))]
        state[start] = 1
        while stack:
            unit, pending = stack[-1]
            step = next(pending, None)
            if step is None:
                stack.pop()
                state[unit] = 2
                order.append(unit)
            elif state.get(step) == 1:
                path = [u for u, _ in stack]
                cycle = path[path.index(step) :] + [step]
                raise PipelineDefinitionError(
                    f"pipeline {graph.name!r} has a cycle: {' -> '.join(cycle)}",
                    _site_of(graph, step),
                )
            elif not state.get(step):
                state[step] = 1
                stack.append((step, iter(sorted(needs.get(step, ())))))
    return order


def _site_of(graph: PipelineGraph, unit: str) -> CallSite | None:
    for invocation in graph.invocations:
        if invocation.node_id == unit:
            return invocation.site
    for fanout in graph.fanouts:
        if fanout.block_id == unit:
            return fanout.site
    return None
