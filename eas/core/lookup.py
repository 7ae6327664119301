"""Fetching one row by primary key, or NotFound naming it."""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy.orm import Session

from eas.errors import NotFound

Row = TypeVar("Row")


def fetch(session: Session, model: type[Row], key: Any, what: str) -> Row:
    """The `model` row with primary key `key`; NotFound("no <what> <key>") otherwise."""
    row = session.get(model, key)
    if row is None:
        raise NotFound(f"no {what} {key}")
    return row
