"""Load sites.yaml and maintenance.yaml: every problem reported at once, all or nothing."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from eas.core.sites import add_windows, upsert_sites
from eas.errors import BadRequest
from eas.models import Site
from eas.problems import problem_text
from eas.schemas import MaintenanceWindowIn, SiteIn

Entry = TypeVar("Entry", bound=BaseModel)


class LoadError(BadRequest):
    """A configuration file cannot be loaded; `problems` lists every one found."""

    def __init__(self, path: Path, problems: list[str]) -> None:
        lines = "\n".join(f"  {problem}" for problem in problems)
        super().__init__(f"{path}: {len(problems)} problem(s), nothing loaded:\n{lines}")
        self.problems = problems


def _entries(path: Path, key: str) -> list[tuple[int, Any]]:
    """The list under `key` with each entry's line number."""
    try:
        text = path.read_text()
    except OSError as exc:
        raise LoadError(path, [f"cannot read: {exc.strerror}"]) from exc
    try:
        data = yaml.safe_load(text)
        root = yaml.compose(text)
    except yaml.YAMLError as exc:
        raise LoadError(path, [f"malformed YAML: {exc}"]) from exc
    if not isinstance(data, dict) or not isinstance(data.get(key), list):
        raise LoadError(path, [f"expected a top-level mapping with a list under {key!r}"])
    assert isinstance(root, yaml.MappingNode)
    items = next(value for name, value in root.value if name.value == key)
    return [
        (node.start_mark.line + 1, entry)
        for node, entry in zip(items.value, data[key], strict=True)
    ]


def _validate(
    path: Path, key: str, schema: type[Entry]
) -> tuple[list[tuple[int, Entry]], list[str]]:
    parsed: list[tuple[int, Entry]] = []
    problems: list[str] = []
    for index, (line, entry) in enumerate(_entries(path, key)):
        where = f"line {line}, {key}[{index}]"
        if isinstance(entry, dict) and "name" in entry:
            where += f" ({entry['name']})"
        try:
            parsed.append((line, schema.model_validate(entry)))
        except ValidationError as exc:
            for error in exc.errors():
                field = ".".join(str(part) for part in error["loc"]) or "entry"
                problems.append(f"{where}: {field}: {problem_text(error)}")
    return parsed, problems


def parse_sites(path: Path) -> list[SiteIn]:
    """Validate sites.yaml; LoadError listing every bad entry and repeated name."""
    parsed, problems = _validate(path, "sites", SiteIn)
    seen: dict[str, int] = {}
    for line, site in parsed:
        if site.name in seen:
            problems.append(f"line {line}: site {site.name} repeats line {seen[site.name]}")
        seen.setdefault(site.name, line)
    if problems:
        raise LoadError(path, problems)
    return [site for _, site in parsed]


def load_sites(session: Session, path: Path) -> tuple[int, int]:
    """Create or update every site in sites.yaml; returns (created, updated)."""
    return upsert_sites(session, parse_sites(path))


def load_maintenance(session: Session, path: Path) -> int:
    """Store every window of maintenance.yaml (sites must be known); returns how many."""
    parsed, problems = _validate(path, "maintenance", MaintenanceWindowIn)
    known = set(session.scalars(select(Site.name)))
    for line, window in parsed:
        if window.site not in known:
            problems.append(f"line {line}: unknown site {window.site!r}")
    if problems:
        raise LoadError(path, problems)
    return len(add_windows(session, [window for _, window in parsed]))
