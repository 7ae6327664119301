"""Backends by name (like Rucio's RSE protocols) and the token verifier a config names."""

from __future__ import annotations

from collections.abc import Callable

from dss.archive_tokens import ArchiveTokenVerifier
from dss.backend import StorageBackend
from dss.config import DssConfig
from dss.memory import MemoryBackend
from dss.posix import PosixBackend
from dss.static_tokens import StaticTokenVerifier
from dss.tokens import TokenVerifier


class BackendUnavailable(ValueError):
    """The configuration names a backend that does not exist or lacks what it needs."""


def _posix(config: DssConfig) -> StorageBackend:
    if config.root is None:
        raise BackendUnavailable("the posix backend needs a root directory (--root / dss.root)")
    return PosixBackend(config.root)


def _memory(config: DssConfig) -> StorageBackend:
    return MemoryBackend(capacity_bytes=config.memory_capacity_bytes)


# A Rucio/RSE backend (rucio-clients' upload/download clients) goes here as "rucio".
BACKENDS: dict[str, Callable[[DssConfig], StorageBackend]] = {
    "posix": _posix,
    "memory": _memory,
}


def open_backend(config: DssConfig) -> StorageBackend:
    """The backend `config.backend` names, built from `config`."""
    factory = BACKENDS.get(config.backend)
    if factory is None:
        known = ", ".join(sorted(BACKENDS))
        raise BackendUnavailable(f"unknown storage backend {config.backend!r} (known: {known})")
    return factory(config)


def open_verifier(config: DssConfig) -> TokenVerifier:
    """The archive verifier when an archive URL is set, else the static token file."""
    if config.archive_url:
        return ArchiveTokenVerifier(
            config.archive_url,
            ttl=config.token_cache_seconds,
            outage_grace=config.archive_outage_grace_seconds,
            timeout=config.archive_timeout_seconds,
        )
    if config.tokens_file is not None:
        return StaticTokenVerifier.from_file(config.tokens_file)
    raise BackendUnavailable("the DSS needs --archive-url or --tokens FILE to check tokens")
