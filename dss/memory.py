"""The in-memory backend: a real, thread-safe store for tests and the embedded demo."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

from dss.backend import (
    DeclaredChecksums,
    FileMissing,
    FileStat,
    PutOutcome,
    StorageFull,
    quarantine_name,
    same_content_or_conflict,
    verify_declared,
)
from dss.checksums import READ_CHUNK, ChecksumAccumulator, Checksums
from dss.paths import UnsafePath


class MemoryUpload:
    """Chunks held aside under a temporary id until commit."""

    def __init__(self, backend: MemoryBackend, path: str, upload_id: str) -> None:
        self._backend = backend
        self._path = path
        self._id = upload_id
        self._chunks: list[bytes] = []
        self._sums = ChecksumAccumulator()

    def write(self, chunk: bytes) -> None:
        """Checksum and keep the next chunk, within the backend's capacity."""
        if not self._backend.reserve(self._id, len(chunk)):
            self.abort()
            raise StorageFull(f"memory storage capacity {self._backend.capacity_bytes} B reached")
        self._sums.update(chunk)
        self._chunks.append(bytes(chunk))

    def commit(self, declared: DeclaredChecksums) -> tuple[PutOutcome, FileStat]:
        """Verify and publish; the first writer of a path wins."""
        computed = self._sums.result()
        try:
            verify_declared(computed, declared)
            return self._backend.publish(self._path, b"".join(self._chunks), computed)
        finally:
            self.abort()

    def abort(self) -> None:
        """Release the reserved space; idempotent."""
        self._chunks.clear()
        self._backend.release(self._id)


class MemoryBackend:
    """Files as bytes in a dict; `capacity_bytes` makes "disk full" reachable in tests."""

    def __init__(self, capacity_bytes: int | None = None) -> None:
        self.capacity_bytes = capacity_bytes
        self._lock = threading.Lock()
        self._files: dict[str, tuple[bytes, Checksums]] = {}
        self._pending: dict[str, int] = {}
        self.quarantined: dict[str, tuple[bytes, Checksums]] = {}

    def reserve(self, upload_id: str, size: int) -> bool:
        """Count `size` more bytes against the capacity; False when they do not fit."""
        with self._lock:
            used = sum(len(data) for data, _ in self._files.values()) + sum(self._pending.values())
            if self.capacity_bytes is not None and used + size > self.capacity_bytes:
                return False
            self._pending[upload_id] = self._pending.get(upload_id, 0) + size
            return True

    def release(self, upload_id: str) -> None:
        """Forget an upload's reservation."""
        with self._lock:
            self._pending.pop(upload_id, None)

    def publish(self, path: str, data: bytes, checksums: Checksums) -> tuple[PutOutcome, FileStat]:
        """Make `data` visible at `path` unless something else is already there."""
        with self._lock:
            if any(other.startswith(f"{path}/") for other in self._files):
                raise UnsafePath(f"{path} is a directory")
            parents = [path[:i] for i, char in enumerate(path) if char == "/"]
            if any(parent in self._files for parent in parents):
                raise UnsafePath(f"{path}: a parent is a file, not a directory")
            if path not in self._files:
                self._files[path] = (data, checksums)
                return PutOutcome.CREATED, FileStat(path, len(data), **vars(checksums))
        existing = self.stat(path)
        return same_content_or_conflict(existing, checksums, len(data)), existing

    def begin_upload(self, path: str) -> MemoryUpload:
        """Start writing `path`."""
        return MemoryUpload(self, path, uuid.uuid4().hex)

    def stat(self, path: str) -> FileStat:
        """Size and checksums of `path`."""
        data, checksums = self._get(path)
        return FileStat(path, len(data), checksums.adler32, checksums.md5)

    def local_file(self, path: str) -> Path | None:
        """No local files: the server streams `read` instead."""
        self._get(path)
        return None

    def read(self, path: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        """Slices of the stored bytes."""
        data, _ = self._get(path)
        stop = len(data) if end is None else min(end, len(data))
        for offset in range(start, stop, READ_CHUNK):
            yield data[offset : min(offset + READ_CHUNK, stop)]

    def delete(self, path: str) -> None:
        """Forget `path`."""
        with self._lock:
            if self._files.pop(path, None) is None:
                raise FileMissing(f"no file at {path}")

    def quarantine(self, path: str) -> str:
        """Move the bytes aside, out of every listing."""
        name = quarantine_name(path)
        with self._lock:
            found = self._files.pop(path, None)
            if found is None:
                raise FileMissing(f"no file at {path}")
            self.quarantined[name] = found
        return name

    def list(self, prefix: str) -> Iterator[FileStat]:
        """Stored paths starting with `prefix`, sorted."""
        with self._lock:
            paths = sorted(p for p in self._files if p.startswith(prefix))
        for path in paths:
            yield self.stat(path)

    def sweep_temporaries(self) -> int:
        """Nothing survives a restart of a memory store; drop stale reservations."""
        with self._lock:
            count = len(self._pending)
            self._pending.clear()
            return count

    def _get(self, path: str) -> tuple[bytes, Checksums]:
        with self._lock:
            found = self._files.get(path)
        if found is None:
            raise FileMissing(f"no file at {path}")
        return found
