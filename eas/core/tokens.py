"""Bearer tokens: minted once, stored as a SHA-256 hash, looked up by hash."""

from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from eas.errors import BadRequest, NotFound
from eas.models import ROLES, Site, Token

PREFIX = "sdc_"


def hash_token(secret: str) -> str:
    """The stored form of a token.

    Tokens are 256 random bits, so a plain SHA-256 cannot be brute-forced and a lookup stays
    one indexed query (a slow password hash would cost every request).
    """
    return hashlib.sha256(secret.encode()).hexdigest()


def create_token(
    session: Session, role: str, name: str, site: str | None = None
) -> tuple[Token, str]:
    """Mint a token; returns (row, secret). The secret is never stored."""
    if role not in ROLES:
        raise BadRequest(f"unknown role {role!r}; choose one of {', '.join(ROLES)}")
    if role == "agent" and site is None:
        raise BadRequest("an agent token needs --site (the one site it acts for)")
    if role != "agent" and site is not None:
        raise BadRequest(f"only agent tokens are bound to a site, not {role} tokens")
    if site is not None and session.get(Site, site) is None:
        raise BadRequest(f"unknown site {site!r}; load sites first")
    secret = PREFIX + secrets.token_urlsafe(32)
    row = Token(name=name, role=role, site_name=site, token_hash=hash_token(secret))
    session.add(row)
    session.flush()
    return row, secret


def list_tokens(session: Session) -> list[Token]:
    """Every token, oldest first (their hashes, never a secret)."""
    return list(session.scalars(select(Token).order_by(Token.id)))


def revoke_token(session: Session, token_id: int) -> Token:
    """Revoke the token with this id (again is a no-op); NotFound when there is none."""
    row = session.get(Token, token_id)
    if row is None:
        raise NotFound(f"no token {token_id} (`sdc archive token list` shows them)")
    row.revoked = True
    session.flush()
    return row


def authenticate(session: Session, secret: str) -> Token | None:
    """The live token with this secret, or None."""
    return session.scalar(
        select(Token).where(Token.token_hash == hash_token(secret), Token.revoked.is_(False))
    )
