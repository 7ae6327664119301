"""Who may do what on a site's DSS: identities behind bearer tokens and the access rules."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from enum import Enum
from typing import Protocol


class Role(Enum):
    """The archive's roles; only agents and admins ever write to a DSS."""

    READER = "reader"
    PLANNER = "planner"
    AGENT = "agent"
    ADMIN = "admin"


class Access(Enum):
    """What a request does to the storage."""

    READ = "read"  # GET, HEAD, list
    WRITE = "write"  # PUT, DELETE


@dataclass(frozen=True)
class Identity:
    """The holder of a token, as the archive knows it."""

    name: str
    role: Role
    site: str | None = None


class VerifierUnavailable(Exception):
    """The token could not be checked now (archive unreachable and nothing usable cached)."""


class TokenVerifier(Protocol):
    """Turns a bearer token into an identity; None means the token is unknown."""

    def identify(self, token: str, access: Access) -> Identity | None:
        """The identity behind `token` (raise VerifierUnavailable when it cannot be told).

        `access` lets a verifier relax freshness for reads during an archive outage.
        """
        ...


class Verdict(Enum):
    """The outcome of an access check, as the HTTP status it becomes."""

    ALLOWED = 200
    UNAUTHENTICATED = 401
    FORBIDDEN = 403


@dataclass(frozen=True)
class Decision:
    """A verdict and the reason given to the client."""

    verdict: Verdict
    reason: str = ""


def authorize(identity: Identity | None, access: Access, dss_site: str) -> Decision:
    """Readers read anywhere; an agent of site A writes only on A's DSS; admins do anything."""
    if identity is None:
        return Decision(Verdict.UNAUTHENTICATED, "missing or unknown bearer token")
    if access is Access.READ or identity.role is Role.ADMIN:
        return Decision(Verdict.ALLOWED)
    if identity.role is not Role.AGENT:
        return Decision(Verdict.FORBIDDEN, f"role {identity.role.value} may not write")
    if identity.site != dss_site:
        return Decision(
            Verdict.FORBIDDEN,
            f"agent {identity.name} of {identity.site} may not write to the DSS of {dss_site}",
        )
    return Decision(Verdict.ALLOWED)


def token_digest(token: str) -> str:
    """The sha256 hex of a token: what token files and caches keep instead of the token."""
    return hashlib.sha256(token.encode()).hexdigest()


def identity_from_mapping(raw: object, where: str) -> Identity:
    """An Identity from `{"name", "role", "site"}`; ValueError naming `where` otherwise."""
    if not isinstance(raw, dict):
        raise ValueError(f"{where}: expected a mapping with name, role and site")
    name, role, site = raw.get("name"), raw.get("role"), raw.get("site")
    if not isinstance(name, str) or not name:
        raise ValueError(f"{where}: 'name' must be a non-empty string")
    try:
        parsed_role = Role(role)
    except ValueError:
        known = ", ".join(r.value for r in Role)
        raise ValueError(f"{where}: role {role!r} is not one of {known}") from None
    if site is not None and not isinstance(site, str):
        raise ValueError(f"{where}: 'site' must be a site name or null")
    return Identity(name=name, role=parsed_role, site=site)
