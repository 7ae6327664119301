"""The operations dashboard: read-only pages over the archive, served by `sdc server` at `/`."""

from sdc.dashboard.app import install_dashboard

__all__ = ["install_dashboard"]
