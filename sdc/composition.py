"""Server composition: the archive API, the scheduler routes beside it, the dashboard at `/`."""

from __future__ import annotations

from fastapi import FastAPI

from eas.api import API_PREFIX, create_app
from metascheduler.api import router as scheduler_router
from sdc.dashboard import install_dashboard
from sdc.settings import Settings


def server_app(settings: Settings) -> FastAPI:
    """The one HTTP application `sdc server` serves: archive + scheduler routes + dashboard."""
    app = create_app(settings.resolved_database_url, settings.archive)
    app.include_router(scheduler_router, prefix=API_PREFIX)
    app.state.scheduler_config = settings.scheduler
    install_dashboard(app, {name: spec.script for name, spec in settings.agent.pipelines.items()})
    return app
