"""Path safety: a storage path is relative, normalised and stays inside the site's root."""

from __future__ import annotations

from pathlib import Path

# The service keeps its own bookkeeping (temporary uploads, checksum sidecars, quarantine)
# under this first component; clients can neither read nor write it.
RESERVED = ".dss"
MAX_PATH_LENGTH = 1024


class UnsafePath(ValueError):
    """A path that is absolute, climbs out with `..`, or otherwise escapes the root."""


def storage_path(raw: str) -> str:
    """The validated storage path (`a/b/c`); UnsafePath naming the problem otherwise."""
    if not raw:
        raise UnsafePath("empty path")
    _check_text(raw)
    if raw.startswith("/"):
        raise UnsafePath(f"absolute path {raw!r}: paths are relative to the site's root")
    parts = raw.split("/")
    for part in parts:
        if part in ("", "."):
            raise UnsafePath(f"path {raw!r} has an empty or '.' component")
        if part == "..":
            raise UnsafePath(f"path {raw!r} climbs out with '..'")
    if parts[0] == RESERVED:
        raise UnsafePath(f"path {raw!r} is inside the service's reserved {RESERVED}/ area")
    return raw


def storage_prefix(raw: str) -> str:
    """A validated listing prefix: empty (everything) or a path, optionally ending in '/'."""
    if raw == "":
        return raw
    storage_path(raw.removesuffix("/"))
    return raw


def inside_root(root: Path, path: str) -> Path:
    """The local file for a validated storage path; UnsafePath when a symlink leads out."""
    real_root = root.resolve()
    local = (real_root / path).resolve()
    if not local.is_relative_to(real_root):
        raise UnsafePath(f"path {path!r} leads outside the root through a symbolic link")
    if local.is_relative_to(real_root / RESERVED):
        raise UnsafePath(f"path {path!r} leads into the reserved {RESERVED}/ area")
    return local


def _check_text(raw: str) -> None:
    if len(raw) > MAX_PATH_LENGTH:
        raise UnsafePath(f"path longer than {MAX_PATH_LENGTH} characters")
    if "\x00" in raw or "\\" in raw:
        raise UnsafePath(f"path {raw!r} contains a NUL byte or a backslash")
