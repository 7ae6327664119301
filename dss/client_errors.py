"""The client's typed errors, mirroring the server's statuses one to one."""

from __future__ import annotations

import json

import requests


class DssError(Exception):
    """Anything the DSS refused or could not do; `status` is the HTTP status (0: no answer)."""

    status = 0


class BadRequest(DssError):
    """400: an unsafe path, a malformed header or a truncated body."""

    status = 400


class Unauthorized(DssError):
    """401: no token or an unknown token."""

    status = 401


class Forbidden(DssError):
    """403: the token's holder may not do this here (e.g. another site's agent writing)."""

    status = 403


class NotFound(DssError):
    """404: no file at that path."""

    status = 404


class Conflict(DssError):
    """409: a different file already lives at that path."""

    status = 409


class ChecksumMismatch(DssError):
    """422 on PUT, or the bytes a GET delivered did not match the file's checksums."""

    status = 422


class StorageFull(DssError):
    """507: the site's storage is full."""

    status = 507


class Unavailable(DssError):
    """The DSS (or the archive behind it) could not be reached, even after retries."""

    status = 503


ERROR_OF_STATUS: dict[int, type[DssError]] = {
    kind.status: kind
    for kind in (BadRequest, Unauthorized, Forbidden, NotFound, Conflict, ChecksumMismatch)
}
ERROR_OF_STATUS[StorageFull.status] = StorageFull
TRANSIENT_STATUSES = frozenset({502, 503, 504})
REASON_HEADER = "X-DSS-Error"


def error_for(response: requests.Response) -> DssError:
    """The typed error for a failed response, carrying the server's explanation."""
    method = response.request.method or "?"
    reason = response.headers.get(REASON_HEADER)
    return error_of(method, response.url, response.status_code, response.content, reason)


def error_of(method: str, url: str, status: int, body: bytes, reason: str | None) -> DssError:
    """The typed error for a failed answer given as its parts (any HTTP library).

    `reason`: the X-DSS-Error header, which repeats the explanation for bodiless answers.
    """
    try:
        detail = json.loads(body).get("detail", "")
    except (ValueError, AttributeError):
        detail = reason or body[:200].decode("utf-8", "replace")
    message = f"{method} {url}: {status} {detail}".strip()
    if status in TRANSIENT_STATUSES:
        return Unavailable(message)
    return ERROR_OF_STATUS.get(status, DssError)(message)
