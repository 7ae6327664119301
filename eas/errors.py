"""Errors shared by the archive server and its client: one class per HTTP status."""

from __future__ import annotations

from typing import ClassVar


class ArchiveError(Exception):
    """Base of every archive error; `status` is the HTTP status the server answers with."""

    status: ClassVar[int] = 500

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class BadRequest(ArchiveError):
    """The request names something inconsistent (an unknown site, a bad range, ...)."""

    status = 400


class Unauthorized(ArchiveError):
    """No bearer token, or one the archive does not know."""

    status = 401


class Forbidden(ArchiveError):
    """The token's role (or site) does not allow this."""

    status = 403


class NotFound(ArchiveError):
    """The named object does not exist."""

    status = 404


class Conflict(ArchiveError):
    """The write contradicts what is stored (same id, different content)."""

    status = 409


class Invalid(BadRequest):
    """The request body or parameters fail validation (HTTP 422)."""

    status = 422


ERRORS_BY_STATUS: dict[int, type[ArchiveError]] = {
    cls.status: cls for cls in (BadRequest, Unauthorized, Forbidden, NotFound, Conflict, Invalid)
}
