"""How a pydantic validation error reads to a person (settings, YAML files)."""

from __future__ import annotations

from pydantic_core import ErrorDetails


def problem_text(error: ErrorDetails) -> str:
    """One pydantic validation error as a person should read it: without pydantic's
    "Value error," wrapping, an unknown key called one."""
    if error["type"] == "extra_forbidden":
        return "unknown key (misspelt?)"
    return error["msg"].removeprefix("Value error, ")
