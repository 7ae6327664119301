"""Mounting the dashboard on the archive application."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

from sdc.dashboard import auth, jobs, pipelines, placement, products, sites
from sdc.dashboard.pages import STATIC, make_templates
from sdc.dashboard.pipelines import PipelineDrawings, example_scripts


@dataclass(frozen=True)
class DashboardState:
    """What the dashboard's routes share, kept on `app.state.dashboard`."""

    templates: Jinja2Templates
    pipelines: PipelineDrawings


def install_dashboard(app: FastAPI, pipeline_scripts: Mapping[str, Path] | None = None) -> None:
    """Serve the read-only dashboard at `/` of an archive app made by `eas.api.create_app`.

    `pipeline_scripts` (name -> Pipeline Script) are shown beside the runner's examples.
    """
    scripts = {**example_scripts(), **(pipeline_scripts or {})}
    app.state.dashboard = DashboardState(make_templates(), PipelineDrawings(scripts))
    app.mount("/static", StaticFiles(directory=STATIC), name="dashboard-static")
    for module in (auth, sites, placement, jobs, products, pipelines):
        app.include_router(module.router)
    app.add_exception_handler(auth.LoginRequired, auth.login_redirect)
