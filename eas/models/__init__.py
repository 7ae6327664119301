"""The archive's tables (DESIGN.md §4) as SQLAlchemy 2 typed models."""

from eas.models.auth import ROLES, Token
from eas.models.base import Base
from eas.models.jobs import JOB_STATES, Generation, Job, Usage
from eas.models.plans import ASSIGNMENT_ROLES, PLAN_STATUSES, Assignment, Plan
from eas.models.products import REPLICA_STATES, DataProduct, Replica
from eas.models.sites import MaintenanceWindow, Site
from eas.models.survey import Observation, Tile, TileObservation

__all__ = [
    "ASSIGNMENT_ROLES",
    "JOB_STATES",
    "PLAN_STATUSES",
    "REPLICA_STATES",
    "ROLES",
    "Assignment",
    "Base",
    "DataProduct",
    "Generation",
    "Job",
    "MaintenanceWindow",
    "Observation",
    "Plan",
    "Replica",
    "Site",
    "Tile",
    "TileObservation",
    "Token",
    "Usage",
]
