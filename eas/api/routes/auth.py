"""Who am I: the storage services verify tokens with this route (keep it stable)."""

from __future__ import annotations

from fastapi import APIRouter

from eas.api.deps import Reader
from eas.schemas import WhoAmI

router = APIRouter(tags=["auth"])


@router.get("/auth/whoami")
def whoami(principal: Reader) -> WhoAmI:
    """The caller's token name, role and site (null unless an agent)."""
    return WhoAmI(name=principal.name, role=principal.role, site=principal.site)  # type: ignore[arg-type]
