"""How an Executable's command becomes argv: `command --port=path ... --workdir=D --logdir=D`."""

from __future__ import annotations

import shlex
import shutil
import sys
from pathlib import Path

from sdc_agents.pipeline.errors import PipelineDefinitionError
from sdc_agents.pipeline.graph import Invocation


def resolve_command(invocation: Invocation) -> list[str]:
    """argv prefix of the command: a name on PATH, or a path relative to its Package Definition.

    A `.py` command runs with this runner's own Python, so its imports (astropy, numpy) are
    those of the environment the runner is installed in, whatever its shebang says.
    """
    exe = invocation.executable
    words = shlex.split(exe.command)
    program, rest = words[0], words[1:]
    beside = Path(exe.defined_at.file).parent / program
    if "/" in program and not Path(program).is_absolute():
        candidate: str | None = str(beside) if beside.is_file() else None
    elif Path(program).is_absolute():
        candidate = program if Path(program).is_file() else None
    else:
        candidate = shutil.which(program)
    if candidate is None:
        raise PipelineDefinitionError(
            f"executable not found for {exe.name}: {program!r} (defined at {exe.defined_at}; "
            "looked on PATH and beside the Package Definition)",
            invocation.site,
        )
    if candidate.endswith(".py"):
        return [sys.executable, candidate, *rest]
    return [candidate, *rest]


def command_line(
    prefix: list[str], ports: dict[str, str], workdir: Path, logdir: Path
) -> list[str]:
    """The full argv: every port as `--port=path`, then the node's working and log directories."""
    return [
        *prefix,
        *(f"--{port}={path}" for port, path in ports.items()),
        f"--workdir={workdir}",
        f"--logdir={logdir}",
    ]
