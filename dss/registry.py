"""Backends by name (like Rucio's RSE protocols) and the token verifier a config names."""

from __future__ import annotations

import logging
from collections.abc import Callable

from dss.archive_tokens import ArchiveTokenVerifier
from dss.backend import StorageBackend, StorageMisconfigured, StorageUnavailable
from dss.config import DssConfig
from dss.memory import MemoryBackend
from dss.posix import PosixBackend
from dss.rucio_config import RucioConfig
from dss.static_tokens import StaticTokenVerifier
from dss.tokens import TokenVerifier

log = logging.getLogger(__name__)


class BackendUnavailable(ValueError):
    """The configuration names a backend that does not exist or lacks what it needs."""


def _posix(config: DssConfig, rucio: RucioConfig) -> StorageBackend:
    if config.root is None:
        raise BackendUnavailable("the posix backend needs a root directory (--root / dss.root)")
    return PosixBackend(config.root)


def _memory(config: DssConfig, rucio: RucioConfig) -> StorageBackend:
    return MemoryBackend(capacity_bytes=config.memory_capacity_bytes)


def _rucio(config: DssConfig, rucio: RucioConfig) -> StorageBackend:
    """Checks the RSE at once: a setup that cannot store is refused with the fix; an
    unreachable Rucio only warns (the DSS serves its local copies until Rucio answers)."""
    from dss.rucio_backend import RucioBackend  # rucio-clients is imported only when used
    from dss.rucio_store import RucioStore

    if config.root is None:
        raise BackendUnavailable(
            "the rucio backend needs a local work directory for uploads in progress, its read "
            "cache and quarantine (--root / dss.root)"
        )
    rse = config.rse or (rucio.site_rses.get(config.site) if config.site else None)
    if not rse:
        raise BackendUnavailable(
            f"the rucio backend needs an RSE: --rse / dss.rse, or rucio.site_rses[{config.site}]"
        )
    scope = config.rucio_scope or rucio.default_scope
    if not scope:
        raise BackendUnavailable(
            "the rucio backend needs a scope: dss.rucio_scope or rucio.default_scope"
        )
    if not rucio.url:
        raise BackendUnavailable("the rucio backend needs rucio.url (SDC_RUCIO__URL)")
    store = RucioStore(rucio, rse, scope)
    try:
        store.check_rse(force=True)
    except StorageMisconfigured as exc:
        raise BackendUnavailable(str(exc)) from exc
    except StorageUnavailable as exc:
        log.warning("%s; serving local copies until Rucio answers", exc)
    return RucioBackend(store, config.root, config.rucio_cache_bytes)


BACKENDS: dict[str, Callable[[DssConfig, RucioConfig], StorageBackend]] = {
    "posix": _posix,
    "memory": _memory,
    "rucio": _rucio,
}


def open_backend(config: DssConfig, rucio: RucioConfig | None = None) -> StorageBackend:
    """The backend `config.backend` names, built from `config` (and `rucio` for Rucio)."""
    factory = BACKENDS.get(config.backend)
    if factory is None:
        known = ", ".join(sorted(BACKENDS))
        raise BackendUnavailable(f"unknown storage backend {config.backend!r} (known: {known})")
    return factory(config, rucio if rucio is not None else RucioConfig())


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
