"""The planner's settings (one field of `sdc.settings.Settings`): files and model rules."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field

from placement.model import Rules


class PlacementConfig(BaseModel):
    """Where the site and maintenance files are, the hard constraints' parameters, the budget."""

    sites_file: Path = Path("config/sites.yaml")
    maintenance_file: Path = Path("config/maintenance.yaml")
    latency_days: float = Field(default=3.0, gt=0)
    tolerance: float = Field(default=0.02, gt=0, lt=1)
    window_days: int = Field(default=30, ge=1)
    tile_window_days: int = Field(default=90, ge=1)
    time_limit: float = Field(default=50.0, gt=0, description="solver wall-clock budget, seconds")
    workers: int = Field(default=2, ge=1)

    def rules(self) -> Rules:
        """The hard-constraint parameters as the solver's plain value."""
        return Rules(self.latency_days, self.tolerance, self.window_days, self.tile_window_days)
