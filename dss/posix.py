"""The POSIX backend: files under a root directory, uploads staged in the same filesystem."""

from __future__ import annotations

import errno
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import BinaryIO

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
from dss.checksums import ChecksumAccumulator, read_range
from dss.paths import RESERVED, UnsafePath, inside_root
from dss.sidecars import ChecksumSidecars
from dss.upload_feeder import ChunkFeeder
from dss.writeback import start_writeback

_FULL = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}


def fsync_directory(directory: Path) -> None:
    """Make a rename or link inside `directory` durable."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class PosixUpload:
    """Bytes streamed into `.dss/tmp/<uuid>.part`, then hard-linked into place.

    Chunks are hashed on the caller's thread and written, in order, by a thread of their own
    (a `ChunkFeeder`: hashlib, zlib-ng and write(2) release the GIL), so only md5, not md5 +
    write, bounds the upload's speed; the caller waits for the writer only when it is
    WRITER_BACKLOG bytes behind. Every WRITEBACK_EVERY bytes the writer asks the kernel to
    start putting them on disk, so the fsync before publishing has little left to do.
    """

    WRITEBACK_EVERY = 16 * 1024 * 1024
    # The writer is fast (the page-cache copy: ~0.2 CPU-s per GiB against md5's 1.3): one
    # chunk of slack is enough, and keeps 10 concurrent uploads well under 200 MB.
    WRITER_BACKLOG = 1024 * 1024

    def __init__(self, backend: PosixBackend, path: str, staging: Path, stream: BinaryIO) -> None:
        self._backend = backend
        self._path = path
        self._staging = staging
        self._stream = stream
        self._sums = ChecksumAccumulator()
        self._writer = ChunkFeeder(
            self._write_chunk, max_backlog=self.WRITER_BACKLOG, name="dss-put"
        )
        self._written = self._writeback_from = 0  # both touched by the writer thread only

    def write(self, chunk: bytes) -> None:
        """Queue the next chunk for the writer thread and checksum it here."""
        with self._space_guard():  # the writer's ENOSPC on an earlier chunk surfaces here
            self._writer.put(chunk)
        self._sums.update(chunk)

    def commit(self, declared: DeclaredChecksums) -> tuple[PutOutcome, FileStat]:
        """fsync, verify, then publish with link(2): atomic and never replaces another file."""
        with self._space_guard():
            self._writer.close()
            self._stream.flush()
            os.fsync(self._stream.fileno())
        self._stream.close()
        computed = self._sums.result()
        try:
            verify_declared(computed, declared)
            local = self._backend.local_target(self._path)
            try:
                local.parent.mkdir(parents=True, exist_ok=True)
            except (FileExistsError, NotADirectoryError) as exc:
                raise UnsafePath(f"{self._path}: a parent is a file, not a directory") from exc
            try:
                # link(2) fails with EEXIST instead of replacing: the first writer wins and a
                # concurrent writer of other bytes gets a conflict, never a torn overwrite.
                os.link(self._staging, local)
            except FileExistsError:
                existing = self._backend.stat(self._path)
                return same_content_or_conflict(existing, computed, self._sums.size), existing
            fsync_directory(local.parent)
            with suppress(OSError):  # the sidecar is a cache: recomputed when missing
                self._backend.sidecars.keep(self._path, local, computed)
        finally:
            self.abort()
        return PutOutcome.CREATED, FileStat(self._path, self._sums.size, **vars(computed))

    def abort(self) -> None:
        """Close and remove the temporary; idempotent."""
        self._writer.abandon()
        self._writer.join()  # a write in flight finishes before the close
        self._stream.close()
        self._staging.unlink(missing_ok=True)

    def _write_chunk(self, chunk: bytes) -> None:
        """In the writer thread: write the chunk whole, start writeback now and then."""
        view = memoryview(chunk)
        while view:  # write(2) may write less than asked (e.g. just before ENOSPC)
            view = view[self._stream.write(view) :]
        self._written += len(chunk)
        pending = self._written - self._writeback_from
        if pending >= self.WRITEBACK_EVERY:
            start_writeback(self._stream.fileno(), self._writeback_from, pending)
            self._writeback_from = self._written

    @contextmanager
    def _space_guard(self) -> Iterator[None]:
        """Turn ENOSPC/EDQUOT/EFBIG into StorageFull after dropping the temporary."""
        try:
            yield
        except OSError as exc:
            if exc.errno not in _FULL:
                raise
            self.abort()
            raise StorageFull(f"storage full while writing: {exc.strerror}") from exc


class PosixBackend:
    """Stored files are plain files under `root`; bookkeeping lives under `root/.dss/`."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.staging_dir = self.root / RESERVED / "tmp"
        self.sidecars = ChecksumSidecars(self.root / RESERVED / "checksums")
        self.staging_dir.mkdir(parents=True, exist_ok=True)

    def local_target(self, path: str) -> Path:
        """Where `path` lives on disk, refusing symbolic links that lead out of the root."""
        return inside_root(self.root, path)

    def open_staging(self) -> tuple[Path, BinaryIO]:
        """A fresh temporary in the same filesystem as the root (so link/rename is atomic)."""
        staging = self.staging_dir / f"{uuid.uuid4().hex}.part"
        fd = os.open(staging, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
        return staging, os.fdopen(fd, "wb", buffering=0)

    def begin_upload(self, path: str) -> PosixUpload:
        """Start writing `path` into a hidden temporary."""
        local = self.local_target(path)
        if local.is_dir():
            raise UnsafePath(f"{path} is a directory")
        for parent in local.relative_to(self.root).parents:
            if (self.root / parent).is_file():
                raise UnsafePath(f"{path}: {parent.as_posix()} is a file, not a directory")
        staging, stream = self.open_staging()
        return PosixUpload(self, path, staging, stream)

    def stat(self, path: str) -> FileStat:
        """Size and kept checksums of `path`."""
        local = self._existing(path)
        checksums, size = self.sidecars.checksums(path, local)
        return FileStat(path, size, checksums.adler32, checksums.md5)

    def local_file(self, path: str) -> Path:
        """The file on disk, for sendfile."""
        return self._existing(path)

    def read(self, path: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        """Read `path` from `start` to `end` in 1 MiB chunks."""
        yield from read_range(self._existing(path), start, end)

    def delete(self, path: str) -> None:
        """Unlink the file and its sidecar."""
        local = self._existing(path)
        local.unlink()
        self.sidecars.forget(path)
        fsync_directory(local.parent)

    def quarantine(self, path: str) -> str:
        """Rename the file under `.dss/quarantine/` (same filesystem: atomic, no copy)."""
        local = self._existing(path)
        name = quarantine_name(path)
        target = self.root / name
        target.parent.mkdir(parents=True)
        os.rename(local, target)
        self.sidecars.forget(path)
        fsync_directory(local.parent)
        fsync_directory(target.parent)
        return name

    def list(self, prefix: str) -> Iterator[FileStat]:
        """Walk only the directory the prefix names, skipping `.dss/` and escaping links."""
        start = self.root / prefix.rpartition("/")[0]
        found: list[str] = []
        for directory, subdirs, files in os.walk(start):
            here = Path(directory)
            if here == self.root:
                subdirs[:] = [d for d in subdirs if d != RESERVED]
            for name in files:
                path = (here / name).relative_to(self.root).as_posix()
                if path.startswith(prefix):
                    found.append(path)
        for path in sorted(found):
            try:
                yield self.stat(path)
            except (UnsafePath, FileMissing):
                continue  # a link leading out of the root, or deleted while listing

    def sweep_temporaries(self) -> int:
        """Remove every staged upload left behind by a killed process."""
        removed = 0
        for leftover in self.staging_dir.iterdir():
            leftover.unlink(missing_ok=True)
            removed += 1
        return removed

    def _existing(self, path: str) -> Path:
        local = self.local_target(path)
        if not local.is_file():
            raise FileMissing(f"no file at {path}")
        return local
