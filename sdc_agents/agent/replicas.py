"""Replica URLs: a replica's URL is its file's URL on its site's DSS."""

from __future__ import annotations

from urllib.parse import unquote

FILES_ROUTE = "/api/v1/files/"


def replica_path(url: str) -> str:
    """The DSS path inside a replica URL (`http://dss/api/v1/files/<path>`)."""
    _, found, path = url.partition(FILES_ROUTE)
    if not found:
        raise ValueError(f"not a DSS file URL: {url}")
    return unquote(path)


def dss_base(url: str) -> str:
    """The DSS base URL of a replica URL."""
    base, found, _ = url.partition(FILES_ROUTE)
    if not found:
        raise ValueError(f"not a DSS file URL: {url}")
    return base
