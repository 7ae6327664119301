"""The pipeline runs page: each known Pipeline Script's data-flow graph, drawn by the runner."""

from __future__ import annotations

import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

import sdc_agents.examples
from sdc.dashboard.auth import Viewer
from sdc.dashboard.pages import render
from sdc_agents.pipeline import PipelineError, PipelineGraph, load_pipeline
from sdc_agents.pipeline.render import write_png

router = APIRouter()


def example_scripts() -> dict[str, Path]:
    """The Pipeline Scripts shipped with the runner's examples, by file stem."""
    folder = Path(sdc_agents.examples.__file__).resolve().parent
    return {path.stem: path for path in sorted(folder.glob("*_pipeline.py"))}


@dataclass
class PipelineDrawings:
    """Traced graphs and their pictures, redone only when a script file changes.

    Tracing imports the script (it touches sys.path) and the runner draws with pyplot;
    neither is safe in two threads at once, hence the lock.
    """

    scripts: dict[str, Path]
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _done: dict[tuple[Path, int], tuple[PipelineGraph | str, bytes | None]] = field(
        default_factory=dict
    )

    def drawing(self, name: str) -> tuple[PipelineGraph | str, bytes | None]:
        """(graph, PNG) of script `name`, or (error message, None) when it does not load."""
        script = self.scripts[name]
        try:
            key = (script, script.stat().st_mtime_ns)
        except OSError as exc:
            return f"{script}: {exc.strerror}", None
        with self._lock:
            if key not in self._done:
                self._done[key] = _trace_and_draw(script)
            return self._done[key]


def _trace_and_draw(script: Path) -> tuple[PipelineGraph | str, bytes | None]:
    try:
        graph = load_pipeline(script)
    except PipelineError as exc:
        return str(exc), None
    with tempfile.TemporaryDirectory() as folder:
        picture = Path(folder) / "graph.png"
        write_png(graph, picture)
        return graph, picture.read_bytes()


def _drawings(request: Request) -> PipelineDrawings:
    drawings: PipelineDrawings = request.app.state.dashboard.pipelines
    return drawings


@router.get("/pipelines", response_class=HTMLResponse, include_in_schema=False)
def pipelines_page(request: Request, viewer: Viewer) -> HTMLResponse:
    """Every known Pipeline Script with its steps and its data-flow graph."""
    drawings = _drawings(request)
    scripts = [
        (name, path, drawings.drawing(name)[0]) for name, path in sorted(drawings.scripts.items())
    ]
    return render(request, "pipelines.html", {"viewer": viewer, "scripts": scripts})


@router.get("/pipelines/{name}.png", include_in_schema=False)
def pipeline_png(request: Request, _viewer: Viewer, name: str) -> Response:
    """The data-flow graph of Pipeline Script `name` as a PNG."""
    drawings = _drawings(request)
    if name not in drawings.scripts:
        return Response(f"no pipeline script {name}", status_code=404, media_type="text/plain")
    graph, png = drawings.drawing(name)
    if png is None:
        return Response(str(graph), status_code=422, media_type="text/plain")
    return Response(png, media_type="image/png")
