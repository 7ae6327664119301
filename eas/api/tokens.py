"""Recently verified tokens, kept for a few seconds so most requests skip the lookup."""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from sqlalchemy.orm import Session, sessionmaker

from eas.core.tokens import authenticate, hash_token


@dataclass(frozen=True)
class Principal:
    """Who is calling: the token's name, role and (for agents) site."""

    name: str
    role: str
    site: str | None


@dataclass
class TokenCache:
    """Principals by token hash, each trusted for `seconds` after it was looked up.

    Only known tokens are kept, so the cache holds at most one entry per issued token. A
    revoked token keeps working for at most `seconds` on a server that saw it recently.
    Used from the event loop only (no locking needed).
    """

    seconds: float
    _entries: dict[str, tuple[float, Principal]] = field(default_factory=dict)

    def get(self, secret: str, now: float | None = None) -> Principal | None:
        """The cached principal for `secret`, unless absent or expired."""
        entry = self._entries.get(hash_token(secret))
        if entry is None or entry[0] < (time.monotonic() if now is None else now):
            return None
        return entry[1]

    def put(self, secret: str, principal: Principal, now: float | None = None) -> None:
        """Remember a verified principal."""
        if self.seconds > 0:
            expiry = (time.monotonic() if now is None else now) + self.seconds
            self._entries[hash_token(secret)] = (expiry, principal)


def look_up(sessions: sessionmaker[Session], secret: str) -> Principal | None:
    """The principal of a live token, from the database (its own short transaction)."""
    with sessions() as session:
        token = authenticate(session, secret)
        if token is None:
            return None
        return Principal(name=token.name, role=token.role, site=token.site_name)
