"""The archive's REST API (FastAPI), versioned under /api/v1."""

from eas.api.app import API_PREFIX, create_app

__all__ = ["API_PREFIX", "create_app"]
