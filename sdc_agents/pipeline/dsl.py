"""The pipeline developer's vocabulary: Package Definitions and Pipeline Scripts.

Names and signatures follow the Euclid workflow DSL so existing scripts run unchanged.
Calling an Executable or a @parallel function only records what would run: it returns
graph references, never results (see `sdc_agents.pipeline.trace`).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sdc_agents.pipeline.errors import CallSite, PipelineDefinitionError, caller_site


@dataclass(frozen=True, slots=True)
class Input:
    """An input port of an Executable; the command receives it as `--name=path`."""

    name: str
    content_type: str | None = None


@dataclass(frozen=True, slots=True)
class Output:
    """An output port; `lineage` names the inputs it derives from (default: all of them).

    `mime_type` picks the file name's extension (`fits` -> `name.fits`); `dir` means the
    command creates a directory at the path, `listfile` a JSON list of paths.
    """

    name: str
    mime_type: str | None = None
    content_type: str | None = None
    lineage: Sequence[str] | None = None

    @property
    def suffix(self) -> str:
        """File-name extension the runner gives this port's path."""
        if self.mime_type in (None, "dir"):
            return ""
        return ".json" if self.mime_type == "listfile" else f".{self.mime_type}"


@dataclass(frozen=True, slots=True)
class ComputingResources:
    """What one invocation asks of the batch system: ram/vms/tmpdir in GB, walltime in hours.

    `from_input` names an input port holding a JSON object (written by the previous step)
    whose keys override these values at run time.
    """

    cores: int = 1
    ram: float = 1.0
    walltime: float = 1.0
    vms: float | None = None
    gpus: int = 0
    tmpdir: float | None = None
    from_input: str | None = None

    def with_overrides(self, overrides: dict[str, Any]) -> ComputingResources:
        """These resources with the known keys of `overrides` replaced; unknown keys refused."""
        known = {"cores", "ram", "walltime", "vms", "gpus", "tmpdir"}
        unknown = sorted(set(overrides) - known)
        if unknown:
            raise ValueError(f"unknown resource keys {unknown} (known: {sorted(known)})")
        values = {name: getattr(self, name) for name in known} | overrides
        return ComputingResources(**values)


@dataclass(eq=False)
class Executable:
    """A command of a Package Definition with its ports and resources."""

    command: str
    inputs: Sequence[Input] = ()
    outputs: Sequence[Output] = ()
    resources: ComputingResources = field(default_factory=ComputingResources)
    name: str | None = None
    defined_at: CallSite = field(default_factory=lambda: caller_site(3))

    def __post_init__(self) -> None:
        if self.name is None:
            self.name = Path(self.command.split()[0]).stem if self.command.strip() else "?"
        if not self.command.strip():
            raise PipelineDefinitionError("Executable has an empty command", self.defined_at)
        self._check_ports()

    def _check_ports(self) -> None:
        names = [p.name for p in self.inputs] + [p.name for p in self.outputs]
        for name in names:
            if names.count(name) > 1:
                raise PipelineDefinitionError(
                    f"{self.name}: port {name!r} is declared twice", self.defined_at, name
                )
        input_names = {p.name for p in self.inputs}
        for output in self.outputs:
            for source in output.lineage or ():
                if source not in input_names:
                    raise PipelineDefinitionError(
                        f"{self.name}: lineage of output {output.name!r} names {source!r}, "
                        f"which is not an input (inputs: {sorted(input_names)})",
                        self.defined_at,
                        output.name,
                    )
        dynamic = self.resources.from_input
        if dynamic is not None and dynamic not in input_names:
            raise PipelineDefinitionError(
                f"{self.name}: resources from_input={dynamic!r} is not an input port",
                self.defined_at,
                dynamic,
            )

    @property
    def input_names(self) -> list[str]:
        """Input port names in declaration order."""
        return [p.name for p in self.inputs]

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        from sdc_agents.pipeline.trace import active_tracer

        return active_tracer(self.name or "").invoke(self, args, kwargs, caller_site(2))


@dataclass(eq=False)
class PipelineFunction:
    """The one `@pipeline` function of a Pipeline Script."""

    function: Callable[..., Any]
    outputs: tuple[str, ...]
    defined_at: CallSite

    @property
    def name(self) -> str:
        """The function's name, used as the pipeline's name."""
        return self.function.__name__

    @property
    def parameters(self) -> list[str]:
        """The pipeline's inputs, in order."""
        return list(inspect.signature(self.function).parameters)


@dataclass(eq=False)
class ParallelFunction:
    """A `@parallel(iterable=...)` function: its body runs once per item at run time."""

    function: Callable[..., Any]
    iterable: str
    defined_at: CallSite

    @property
    def name(self) -> str:
        """The function's name, used in node ids (`name[3]/step`)."""
        return self.function.__name__

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        from sdc_agents.pipeline.trace import active_tracer

        return active_tracer(self.name).fan_out(self, args, kwargs, caller_site(2))


def _definition_site(function: Callable[..., Any]) -> CallSite:
    code = function.__code__
    return CallSite(code.co_filename, code.co_firstlineno)


def pipeline(outputs: Sequence[str] = ()) -> Callable[[Callable[..., Any]], PipelineFunction]:
    """Mark the Pipeline Script's entry function; `outputs` names what it returns."""
    names = (outputs,) if isinstance(outputs, str) else tuple(outputs)

    def mark(function: Callable[..., Any]) -> PipelineFunction:
        return PipelineFunction(function, names, _definition_site(function))

    return mark


def parallel(iterable: str) -> Callable[[Callable[..., Any]], ParallelFunction]:
    """Mark a function whose body fans out over the items of its parameter `iterable`."""

    def mark(function: Callable[..., Any]) -> ParallelFunction:
        site = _definition_site(function)
        parameters = list(inspect.signature(function).parameters)
        if iterable not in parameters:
            raise PipelineDefinitionError(
                f"@parallel(iterable={iterable!r}) on {function.__name__}() names no "
                f"parameter (parameters: {parameters})",
                site,
                iterable,
            )
        return ParallelFunction(function, iterable, site)

    return mark
