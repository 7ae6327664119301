"""Replica URLs: a replica's URL is its file's URL on its site's DSS."""

from __future__ import annotations

from urllib.parse import quote, unquote

FILES_ROUTE = "/api/v1/files/"


def file_url(base_url: str, path: str) -> str:
    """The URL of `path` on the DSS at `base_url`: what the archive records as a replica."""
    return f"{base_url.rstrip('/')}{FILES_ROUTE}{quote(path)}"


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


def replica_dss_path(url: str) -> str:
    """The DSS path of a replica recorded either as a file URL or as a bare path."""
    return replica_path(url) if FILES_ROUTE in url else url
