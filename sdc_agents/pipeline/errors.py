"""What goes wrong before a pipeline runs, said with the file, line and port at fault."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class CallSite:
    """Where in a pipeline developer's file something was written."""

    file: str
    line: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"


def caller_site(depth: int = 2) -> CallSite:
    """The file and line `depth` frames up the stack (the developer's code calling the DSL)."""
    frame = sys._getframe(depth)
    return CallSite(str(Path(frame.f_code.co_filename)), frame.f_lineno)


class PipelineError(Exception):
    """A pipeline cannot run as written; raised before anything runs."""

    def __init__(self, message: str, site: CallSite | None = None, port: str | None = None):
        self.message = message
        self.site = site
        self.port = port
        where = f"{site}: " if site else ""
        super().__init__(f"{where}{message}")


class PipelineDefinitionError(PipelineError):
    """A Package Definition or Pipeline Script breaks a rule of the DSL."""


class PipelineInputError(PipelineError):
    """The inputs file does not give the pipeline what it needs."""
