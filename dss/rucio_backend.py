"""The `rucio` storage backend: a site's files are file DIDs of one scope on the site's RSE.

DSS path -> DID: `dss.rucio_names` (a product's file is `scope:<product_id>`, the DID the
archive's mirror names it by, with the path as `dss_path` metadata; other paths are named
by the path). The scope comes from settings.
A local work directory (`dss.root`) holds what Rucio cannot: uploads being received
(`.dss/tmp/`), a read cache of verified downloads (`.dss/cache/`, served with sendfile) and
quarantined files (`.dss/quarantine/`). Every decision about Rucio's answers is here; every
call to Rucio is in `dss.rucio_store`.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import threading
import uuid
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import suppress
from pathlib import Path
from typing import BinaryIO

from dss.backend import (
    ContentConflict,
    DeclaredChecksums,
    FileMissing,
    FileStat,
    PutOutcome,
    StorageUnavailable,
    quarantine_name,
    same_content_or_conflict,
    verify_declared,
)
from dss.checksums import ChecksumAccumulator, Checksums, checksums_of_file, read_range
from dss.paths import RESERVED, UnsafePath
from dss.rucio_names import (
    did_name,
    is_product_name,
    may_hold_products,
    other_name_patterns,
    parent_paths,
    path_of_other,
)
from dss.rucio_store import Replica, RucioStore

log = logging.getLogger(__name__)

PATH_LOCKS = 64  # stripes of the per-path locks (downloads, uploads)
KNOWN_STATS = 100_000  # catalogue answers kept in memory (~200 B each)


class RucioUpload:
    """Bytes staged in the work directory, checksummed, then handed to Rucio's upload."""

    def __init__(self, backend: RucioBackend, path: str, staging: Path) -> None:
        self._backend = backend
        self._path = path
        self._staging = staging
        self._stream: BinaryIO = staging.open("wb")
        self._sums = ChecksumAccumulator()

    def write(self, chunk: bytes) -> None:
        """Stage and checksum the next chunk."""
        self._stream.write(chunk)
        self._sums.update(chunk)

    def commit(self, declared: DeclaredChecksums) -> tuple[PutOutcome, FileStat]:
        """Verify, refuse other bytes under a name Rucio knows, upload, keep as cached copy."""
        self._stream.close()
        computed = self._sums.result()
        size = self._sums.size
        try:
            verify_declared(computed, declared)
            return self._backend.publish(self._path, self._staging, computed, size)
        finally:
            self.abort()

    def abort(self) -> None:
        """Drop the staged bytes; idempotent."""
        self._stream.close()
        self._staging.unlink(missing_ok=True)


class RucioBackend:
    """Files on one RSE through rucio-clients, with a local work directory."""

    def __init__(self, store: RucioStore, workdir: Path, cache_bytes: int) -> None:
        self.store = store
        self.workdir = workdir.resolve()
        self.staging_dir = self.workdir / RESERVED / "tmp"
        self.cache_dir = self.workdir / RESERVED / "cache"
        self.cache_bytes = cache_bytes
        self.staging_dir.mkdir(parents=True, exist_ok=True)
        self.cache_dir.mkdir(parents=True, exist_ok=True)
        # the last catalogue answers, for reads while Rucio is down (least recent dropped)
        self._known: OrderedDict[str, FileStat] = OrderedDict()
        self._lock = threading.Lock()
        # striped (bounded) per-path locks; re-entrant because a PUT may stat its own path
        self._path_locks = [threading.RLock() for _ in range(PATH_LOCKS)]
        self._cache_used: int | None = None  # bytes in the read cache, counted when first needed

    def begin_upload(self, path: str) -> RucioUpload:
        """Refuse paths Rucio cannot name or that clash with a file/directory, then stage."""
        did_name(path)
        if any(True for _ in self._available_under(f"{path}/")):
            raise UnsafePath(f"{path} is a directory")
        parents = {did_name(parent): parent for parent in parent_paths(path)}
        for parent in sorted(self.store.replicas(list(parents))):
            raise UnsafePath(f"{path}: {parents[parent]} is a file, not a directory")
        staging = self.staging_dir / f"{uuid.uuid4().hex}.part"
        return RucioUpload(self, path, staging)

    def publish(
        self, path: str, staged: Path, computed: Checksums, size: int
    ) -> tuple[PutOutcome, FileStat]:
        """Upload verified bytes as `scope:path`, unless Rucio already holds them.

        Uploads of one path are serialised in this process: rucio-clients stages every upload
        of a name at the same `<pfn>.rucio.upload`, so two at once could mix their bytes.
        """
        with self._fetch_lock(f"put:{path}"):
            return self._publish(path, staged, computed, size)

    def _publish(
        self, path: str, staged: Path, computed: Checksums, size: int
    ) -> tuple[PutOutcome, FileStat]:
        name = did_name(path)
        incoming = FileStat(path, size, computed.adler32, computed.md5)
        # a product's DID remembers the path it was stored at: a product has one file
        stored = self.store.stored_path(name) if is_product_name(name) else path
        if stored is not None and stored != path:
            raise ContentConflict(
                f"product {name} is already stored as {stored} ({self.store.scope}:{name} "
                "in Rucio); a product has one file"
            )
        here = self.store.replicas([name]).get(name)
        if here is not None:
            existing = self._stat_of(path, here, computed)
            outcome = same_content_or_conflict(existing, computed, size)
            if stored is None:  # registered by the archive's mirror, not through a DSS
                self.store.keep_path(name, path)
            return outcome, existing
        known = self.store.catalogued(name)
        if known is not None and (known.size, known.adler32) != (size, computed.adler32):
            raise ContentConflict(
                f"Rucio already has {self.store.scope}:{name} with other content (adler32 "
                f"{known.adler32}, {known.size} bytes); a DID never changes content: "
                "store these bytes under another path"
            )
        released = known is not None and self.store.state_here(name) is not None
        self.store.upload(staged, name)
        if released:  # a replica row left UNAVAILABLE by an earlier delete: bring it back
            self.store.restore(name)
        if stored is None:
            self.store.keep_path(name, path)
        self._keep_in_cache(path, staged)
        self._remember(incoming)
        return PutOutcome.CREATED, incoming

    def stat(self, path: str) -> FileStat:
        """Size and checksums from Rucio's catalogue (the last answer while Rucio is down)."""
        name = did_name(path)
        try:
            replica = self.store.replicas([name]).get(name)
        except StorageUnavailable:
            known = self._known.get(path)
            if known is not None and self._cached_copy(path, known) is not None:
                log.warning("Rucio unreachable: serving %s from the local copy", path)
                return known
            raise
        if replica is None or self._stored_elsewhere(name, path):
            self._forget(path)
            raise FileMissing(f"no file at {path} (no AVAILABLE replica on {self.store.rse})")
        stat = self._stat_of(path, replica)
        self._remember(stat)
        return stat

    def local_file(self, path: str) -> Path:
        """A verified local copy (downloaded through Rucio once, then cached), for sendfile."""
        stat = self._known.get(path) or self.stat(path)
        cached = self._cached_copy(path, stat)
        if cached is not None:
            return cached
        with self._fetch_lock(path):
            cached = self._cached_copy(path, stat)
            if cached is None:
                base = self._cache_base(path)
                shutil.rmtree(base, ignore_errors=True)
                cached = self.store.download(did_name(path), base)
        self._evict(keep=cached)
        return cached

    def read(self, path: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        """Bytes of the local copy from `start` to `end`."""
        yield from read_range(self.local_file(path), start, end)

    def delete(self, path: str) -> None:
        """Take the DID off the RSE (`RucioStore.release`) and drop the local copy."""
        name = did_name(path)
        if name not in self.store.replicas([name]) or self._stored_elsewhere(name, path):
            raise FileMissing(f"no file at {path}")
        self.store.release(name)
        self._forget(path)
        shutil.rmtree(self._cache_base(path), ignore_errors=True)

    def quarantine(self, path: str) -> str:
        """Keep a verified copy under `.dss/quarantine/` in the work directory, then delete."""
        source = self.local_file(path)
        where = quarantine_name(path)
        target = self.workdir / where
        target.parent.mkdir(parents=True)
        shutil.copyfile(source, target)
        self.delete(path)
        return where

    def list(self, prefix: str) -> Iterator[FileStat]:
        """Files of the scope starting with `prefix` that have an AVAILABLE replica here."""
        stats = sorted(self._available_under(prefix), key=lambda s: s.path)
        yield from stats

    def sweep_temporaries(self) -> int:
        """Remove staged uploads left by a killed process."""
        removed = 0
        for leftover in self.staging_dir.iterdir():
            leftover.unlink(missing_ok=True)
            removed += 1
        return removed

    def _available_under(self, prefix: str) -> Iterator[FileStat]:
        paths = self._paths_under(prefix)
        for name, replica in self.store.replicas(list(paths)).items():
            path = paths[name]
            stat = FileStat(path, replica.size, replica.adler32, replica.md5 or "")
            known = self._known.get(path)
            if not replica.md5 and known is not None and known.adler32 == replica.adler32:
                stat = known
            yield stat

    def _paths_under(self, prefix: str) -> dict[str, str]:
        """DID name -> DSS path of every file DID of the scope whose path starts with
        `prefix`: named paths by their names, products by their `dss_path` metadata (a
        product DID without it was not stored through a DSS and has no path here)."""
        paths: dict[str, str] = {}
        for pattern in other_name_patterns(prefix):
            for name in self.store.names(pattern):
                path = path_of_other(name)
                if path is not None and path.startswith(prefix) and _named(path) == name:
                    paths[name] = path
        if may_hold_products(prefix):
            for name, path in self.store.stored_paths(prefix).items():
                if is_product_name(name) and _named(path) == name:
                    paths[name] = path
        return paths

    def _stored_elsewhere(self, name: str, path: str) -> bool:
        """Whether the product DID `name` was stored through a DSS under another path."""
        if not is_product_name(name):
            return False
        stored = self.store.stored_path(name)
        return stored is not None and stored != path

    def _stat_of(self, path: str, replica: Replica, computed: Checksums | None = None) -> FileStat:
        """A FileStat from the catalogue; md5 computed from a local copy if Rucio has none."""
        if replica.md5:
            return FileStat(path, replica.size, replica.adler32, replica.md5)
        known = self._known.get(path)
        if known is not None and known.adler32 == replica.adler32 and known.md5:
            return known
        if computed is not None and computed.adler32 == replica.adler32:
            return FileStat(path, replica.size, replica.adler32, computed.md5)
        without_md5 = FileStat(path, replica.size, replica.adler32, "")
        self._remember(without_md5)
        sums, _ = checksums_of_file(self.local_file(path))
        return FileStat(path, replica.size, replica.adler32, sums.md5)

    def _cache_base(self, path: str) -> Path:
        digest = hashlib.sha256(path.encode()).hexdigest()
        return self.cache_dir / digest[:2] / digest

    def _cached_copy(self, path: str, stat: FileStat) -> Path | None:
        local = self._cache_base(path) / did_name(path)  # where the download puts it
        try:
            if local.stat().st_size == stat.size:
                os.utime(local)  # least recently used goes first
                return local
        except FileNotFoundError:
            pass
        return None

    def _keep_in_cache(self, path: str, staged: Path) -> None:
        target = self._cache_base(path) / did_name(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(staged, target)
        self._evict(keep=target)

    def _evict(self, keep: Path) -> None:
        """Drop least recently used copies until the cache fits `cache_bytes`; the cache is
        walked only at the first call and when the running total says it is over."""
        with self._lock:
            if self._cache_used is not None:
                self._cache_used += keep.stat().st_size
                if self._cache_used <= self.cache_bytes:
                    return
        sizes: dict[Path, os.stat_result] = {}
        for found in self.cache_dir.rglob("*"):
            with suppress(FileNotFoundError):  # evicted or deleted meanwhile
                if found.is_file() and not found.name.endswith(".part"):
                    sizes[found] = found.stat()
        total = sum(status.st_size for status in sizes.values())
        for victim in sorted(sizes, key=lambda f: sizes[f].st_mtime_ns):
            if total <= self.cache_bytes:
                break
            if victim != keep:
                victim.unlink(missing_ok=True)
                total -= sizes[victim].st_size
        with self._lock:
            self._cache_used = total

    def _fetch_lock(self, key: str) -> threading.RLock:
        digest = hashlib.blake2b(key.encode(), digest_size=4).digest()
        return self._path_locks[int.from_bytes(digest) % PATH_LOCKS]

    def _remember(self, stat: FileStat) -> None:
        with self._lock:
            self._known[stat.path] = stat
            self._known.move_to_end(stat.path)
            while len(self._known) > KNOWN_STATS:
                self._known.popitem(last=False)

    def _forget(self, path: str) -> None:
        with self._lock:
            self._known.pop(path, None)


def _named(path: str) -> str | None:
    """`did_name(path)`, or None for a path Rucio cannot name."""
    try:
        return did_name(path)
    except UnsafePath:
        return None
