"""Rendering pages: the package's Jinja2 templates, their filters, and the 4xx pages."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

HERE = Path(__file__).resolve().parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"


def size(value: int | float | None) -> str:
    """Bytes for people: 1.5 GB, 12 kB (decimal units, as storage_tb is decimal)."""
    if value is None:
        return ""
    amount = float(value)
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if abs(amount) < 1000 or unit == "TB":
            return f"{amount:.0f} {unit}" if unit == "B" else f"{amount:.1f} {unit}"
        amount /= 1000
    return f"{amount:.1f} PB"  # pragma: no cover - the loop returns at TB


def when(value: datetime | None) -> str:
    """A timestamp to the minute, in UTC; empty when unset."""
    return value.strftime("%Y-%m-%d %H:%M UTC") if value is not None else ""


def make_templates() -> Jinja2Templates:
    """The dashboard's templates with its filters (autoescaped HTML)."""
    templates = Jinja2Templates(directory=str(TEMPLATES))
    templates.env.filters["size"] = size
    templates.env.filters["when"] = when
    return templates


def render(
    request: Request, template: str, context: dict[str, Any], status: int = 200
) -> HTMLResponse:
    """The page `template` filled with `context` (plus who is looking, for the header)."""
    templates: Jinja2Templates = request.app.state.dashboard.templates
    return templates.TemplateResponse(request, template, context, status_code=status)


def problem(request: Request, status: int, message: str) -> HTMLResponse:
    """A page saying what was not found or not understood, with its status (404, 400)."""
    return render(request, "problem.html", {"status": status, "message": message}, status)
