"""Import a Pipeline Script and trace its @pipeline function into a PipelineGraph.

Tracing calls the developer's functions once with references in place of files; each
Executable call appends an Invocation, each @parallel call records its body as a template.
The active tracer lives in a context variable because the DSL's call syntax leaves no other
way for `correct_dark(image=...)` to find the graph being built.
"""

from __future__ import annotations

import importlib.util
import inspect
import sys
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from types import ModuleType
from typing import Any

from sdc_agents.pipeline.dsl import Executable, ParallelFunction, PipelineFunction
from sdc_agents.pipeline.errors import CallSite, PipelineDefinitionError, caller_site
from sdc_agents.pipeline.graph import FanOut, Invocation, PipelineGraph, Ref, check_acyclic

_ACTIVE: ContextVar[Tracer | None] = ContextVar("sdc_pipeline_tracer", default=None)


def active_tracer(what: str) -> Tracer:
    """The tracer of the pipeline being traced; a clear error when there is none."""
    tracer = _ACTIVE.get()
    if tracer is None:
        raise PipelineDefinitionError(
            f"{what}() was called outside a @pipeline being traced", caller_site(3)
        )
    return tracer


class Tracer:
    """Collects invocations and fan-outs while a @pipeline function runs on references."""

    def __init__(self) -> None:
        self.invocations: list[Invocation] = []
        self.fanouts: list[FanOut] = []
        self._scope = self.invocations
        self._prefix = ""
        self._taken: set[str] = set()

    def _new_id(self, name: str) -> str:
        base = f"{self._prefix}{name}"
        node_id, n = base, 1
        while node_id in self._taken:
            n += 1
            node_id = f"{base}_{n}"
        self._taken.add(node_id)
        return node_id

    def invoke(
        self, exe: Executable, args: tuple[Any, ...], kwargs: dict[str, Any], site: CallSite
    ) -> Any:
        """Record one Executable call; return a reference per output port."""
        names = exe.input_names
        if len(args) > len(names):
            raise PipelineDefinitionError(
                f"{exe.name}() takes {len(names)} input ports {names}, got {len(args)} "
                "positional values",
                site,
            )
        bound = dict(zip(names, args, strict=False))
        for port, value in kwargs.items():
            if port not in names:
                raise PipelineDefinitionError(
                    f"{exe.name}() has no input port {port!r} (ports: {names})", site, port
                )
            if port in bound:
                raise PipelineDefinitionError(
                    f"{exe.name}() got input port {port!r} twice", site, port
                )
            bound[port] = value
        for port in names:
            if port not in bound:
                raise PipelineDefinitionError(
                    f"{exe.name}() was given no value for input port {port!r}", site, port
                )
        inputs = {
            port: _ref_id(value, f"{exe.name}() input port {port!r}", site, port)
            for port, value in bound.items()
        }
        node_id = self._new_id(exe.name or "step")
        outputs = {o.name: f"{node_id}:{o.name}" for o in exe.outputs}
        self._scope.append(Invocation(node_id, exe, inputs, outputs, site))
        return _as_result([Ref(r) for r in outputs.values()])

    def fan_out(
        self, fn: ParallelFunction, args: tuple[Any, ...], kwargs: dict[str, Any], site: CallSite
    ) -> Any:
        """Trace a @parallel body once as a template; return references to the gathered lists."""
        if self._prefix:
            raise PipelineDefinitionError(
                f"{fn.name}(): @parallel inside @parallel is not supported", site
            )
        try:
            bound = inspect.signature(fn.function).bind(*args, **kwargs)
        except TypeError as exc:
            raise PipelineDefinitionError(f"{fn.name}(): {exc}", site) from None
        iterable = bound.arguments.get(fn.iterable)
        iterable_ref = _ref_id(iterable, f"{fn.name}() iterable {fn.iterable!r}", site, fn.iterable)
        block_id = self._new_id(fn.name)
        fanout = FanOut(block_id, iterable_ref, [], [], site)
        bound.arguments[fn.iterable] = Ref(fanout.item_ref)
        self._scope, self._prefix = fanout.template, f"{block_id}/"
        try:
            returned = fn.function(*bound.args, **bound.kwargs)
        finally:
            self._scope, self._prefix = self.invocations, ""
        if not fanout.template:
            raise PipelineDefinitionError(f"@parallel {fn.name}() calls no Executable", site)
        values = returned if isinstance(returned, tuple | list) else (returned,)
        for k, value in enumerate(values):
            ref = _ref_id(value, f"{fn.name}() result {k}", fn.defined_at, None)
            if not ref.startswith(f"{block_id}/") or ref == fanout.item_ref:
                raise PipelineDefinitionError(
                    f"@parallel {fn.name}() must return outputs of steps it calls", fn.defined_at
                )
            fanout.results.append((ref, f"{block_id}:result{k}"))
        self.fanouts.append(fanout)
        return _as_result([Ref(gathered) for _, gathered in fanout.results])


def _ref_id(value: Any, what: str, site: CallSite, port: str | None) -> str:
    if isinstance(value, Ref):
        return value.ref_id
    raise PipelineDefinitionError(
        f"{what} got {type(value).__name__} {value!r}; expected a pipeline input or a step's "
        "output",
        site,
        port,
    )


def _as_result(refs: list[Ref]) -> Any:
    if not refs:
        return None
    return refs[0] if len(refs) == 1 else tuple(refs)


def trace(entry: PipelineFunction, script: Path) -> PipelineGraph:
    """Run `entry` on references and return the checked data-flow graph."""
    tracer = Tracer()
    token = _ACTIVE.set(tracer)
    try:
        returned = entry.function(*(Ref(f"in:{p}") for p in entry.parameters))
    finally:
        _ACTIVE.reset(token)
    values = list(returned) if isinstance(returned, tuple | list) else [returned]
    if returned is None:
        values = []
    if len(values) != len(entry.outputs):
        raise PipelineDefinitionError(
            f"@pipeline {entry.name}() declares outputs {list(entry.outputs)} but returns "
            f"{len(values)} value(s)",
            entry.defined_at,
        )
    outputs = {
        name: _ref_id(value, f"@pipeline output {name!r}", entry.defined_at, name)
        for name, value in zip(entry.outputs, values, strict=True)
    }
    graph = PipelineGraph(
        entry.name, script, entry.parameters, outputs, tracer.invocations, tracer.fanouts
    )
    check_acyclic(graph)
    return graph


def load_pipeline(script: Path) -> PipelineGraph:
    """Import the Pipeline Script at `script` and trace its one @pipeline function."""
    script = script.resolve()
    if not script.is_file():
        raise PipelineDefinitionError(f"{script}: no such pipeline script")
    with _importable_from(script.parent):
        module = _import_script(script)
        entries = [
            v
            for v in vars(module).values()
            if isinstance(v, PipelineFunction) and Path(v.defined_at.file).resolve() == script
        ]
        if not entries:
            raise PipelineDefinitionError(
                "no @pipeline function in this Pipeline Script", CallSite(str(script), 1)
            )
        if len(entries) > 1:
            raise PipelineDefinitionError(
                f"more than one @pipeline function ({', '.join(e.name for e in entries)})",
                entries[1].defined_at,
            )
        return trace(entries[0], script)


def _import_script(script: Path) -> ModuleType:
    name = f"sdc_pipeline_script_{abs(hash(script))}"
    spec = importlib.util.spec_from_file_location(name, script)
    if spec is None or spec.loader is None:
        raise PipelineDefinitionError(f"{script}: cannot be imported as Python")
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except PipelineDefinitionError:
        raise
    except SyntaxError as exc:
        site = CallSite(str(exc.filename or script), exc.lineno or 1)
        raise PipelineDefinitionError(f"syntax error: {exc.msg}", site) from None
    except Exception as exc:
        frames = traceback.extract_tb(exc.__traceback__)
        last = frames[-1] if frames else None
        site = CallSite(last.filename, last.lineno or 1) if last else CallSite(str(script), 1)
        raise PipelineDefinitionError(
            f"importing the script failed: {type(exc).__name__}: {exc}", site
        ) from None
    return module


@contextmanager
def _importable_from(directory: Path) -> Iterator[None]:
    """Let the script import its Package Definitions beside it, then forget them again."""
    before = set(sys.modules)
    sys.path.insert(0, str(directory))
    try:
        yield
    finally:
        sys.path.remove(str(directory))
        for name in set(sys.modules) - before:
            origin = getattr(sys.modules[name], "__file__", None) or ""
            if origin.startswith(str(directory)):
                del sys.modules[name]
