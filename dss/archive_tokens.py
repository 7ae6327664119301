"""Tokens checked against the archive (`GET /api/v1/auth/whoami`), cached briefly.

A DSS must keep serving reads when the archive is briefly down: an identity the archive
confirmed less than `ttl` ago is used as is; past that the archive is asked again, and if it
cannot be reached the old answer still allows *reads* for `outage_grace` more seconds. Writes
always need an answer younger than `ttl`, so a revoked agent token stops writing within `ttl`.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

import requests

from dss.tokens import Access, Identity, VerifierUnavailable, identity_from_mapping, token_digest

MAX_CACHED_TOKENS = 10_000


@dataclass(frozen=True)
class CachedAnswer:
    """What the archive said about one token (None: unknown token) and when."""

    identity: Identity | None
    fetched_at: float


def usable_answer(
    cached: CachedAnswer | None, now: float, ttl: float, outage_grace: float, access: Access
) -> bool:
    """Whether a cached answer may stand in for the archive while the archive is unreachable."""
    if cached is None or cached.identity is None or access is not Access.READ:
        return False
    return now - cached.fetched_at < ttl + outage_grace


class ArchiveTokenVerifier:
    """Asks the archive who holds a token; remembers the answer for `ttl` seconds."""

    def __init__(
        self,
        archive_url: str,
        *,
        ttl: float = 30.0,
        outage_grace: float = 600.0,
        timeout: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._whoami = f"{archive_url.rstrip('/')}/api/v1/auth/whoami"
        self._ttl = ttl
        self._grace = outage_grace
        self._timeout = timeout
        self._clock = clock
        self._session = requests.Session()
        self._lock = threading.Lock()
        self._cache: OrderedDict[str, CachedAnswer] = OrderedDict()

    def identify(self, token: str, access: Access) -> Identity | None:
        """The identity behind `token`, from the cache or the archive."""
        key = token_digest(token)
        now = self._clock()
        with self._lock:
            cached = self._cache.get(key)
        if cached is not None and now - cached.fetched_at < self._ttl:
            return cached.identity
        try:
            identity = self._ask_archive(token)
        except VerifierUnavailable:
            if cached is not None and usable_answer(cached, now, self._ttl, self._grace, access):
                return cached.identity
            raise
        self._remember(key, CachedAnswer(identity, now))
        return identity

    def _remember(self, key: str, answer: CachedAnswer) -> None:
        with self._lock:
            self._cache[key] = answer
            self._cache.move_to_end(key)
            while len(self._cache) > MAX_CACHED_TOKENS:
                self._cache.popitem(last=False)

    def _ask_archive(self, token: str) -> Identity | None:
        try:
            response = self._session.get(
                self._whoami, headers={"Authorization": f"Bearer {token}"}, timeout=self._timeout
            )
        except requests.RequestException as exc:
            raise VerifierUnavailable(f"archive unreachable at {self._whoami}: {exc}") from exc
        if response.status_code in (401, 403):
            return None
        if response.status_code != 200:
            raise VerifierUnavailable(f"archive answered {response.status_code} at {self._whoami}")
        try:
            return identity_from_mapping(response.json(), self._whoami)
        except ValueError as exc:
            raise VerifierUnavailable(f"archive gave an unusable identity: {exc}") from exc
