"""The storage backend protocol every site storage implements, and the errors it speaks."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Protocol

from dss.checksums import Checksums
from dss.paths import RESERVED


@dataclass(frozen=True)
class FileStat:
    """A stored file: where, how big, and its checksums (computed once and kept)."""

    path: str
    size: int
    adler32: str
    md5: str

    @property
    def checksums(self) -> Checksums:
        """The two checksums as one value."""
        return Checksums(adler32=self.adler32, md5=self.md5)


@dataclass(frozen=True)
class DeclaredChecksums:
    """What the writer says the bytes are; None where it did not say."""

    adler32: str | None = None
    md5: str | None = None


class PutOutcome(Enum):
    """A successful PUT either made the file visible or found the same content already there."""

    CREATED = "created"
    ALREADY_PRESENT = "already_present"


class StorageError(Exception):
    """Base of everything a backend refuses; the server maps each kind to one HTTP status."""


class FileMissing(StorageError):
    """No file at that path."""


class ContentConflict(StorageError):
    """A different file already lives at that path."""


class ChecksumMismatch(StorageError):
    """The bytes received do not match the checksums the writer declared."""


class StorageFull(StorageError):
    """The storage ran out of space (or quota) while writing."""


class StorageUnavailable(StorageError):
    """The storage behind the DSS cannot be reached now (e.g. the Rucio server): retry later."""


class StorageMisconfigured(StorageError):
    """The storage refuses writes until its operator fixes its setup; the message says how."""


class Upload(Protocol):
    """One file being written: bytes go to a hidden temporary until `commit` publishes them."""

    def write(self, chunk: bytes) -> None:
        """Append the next chunk (StorageFull when space runs out; the upload is then aborted)."""
        ...

    def commit(self, declared: DeclaredChecksums) -> tuple[PutOutcome, FileStat]:
        """Verify against `declared`, make durable and publish atomically, or raise."""
        ...

    def abort(self) -> None:
        """Drop everything written; idempotent."""
        ...


class StorageBackend(Protocol):
    """A site's storage as the DSS sees it: paths are already validated storage paths."""

    def begin_upload(self, path: str) -> Upload:
        """Start writing `path`; nothing is visible until the upload commits."""
        ...

    def stat(self, path: str) -> FileStat:
        """Size and checksums of a stored file (FileMissing when absent)."""
        ...

    def local_file(self, path: str) -> Path | None:
        """The local file to send with sendfile, or None when the backend has no local files."""
        ...

    def read(self, path: str, start: int = 0, end: int | None = None) -> Iterator[bytes]:
        """The bytes of `path` from `start` up to (not including) `end`, in chunks."""
        ...

    def delete(self, path: str) -> None:
        """Remove a stored file (FileMissing when absent)."""
        ...

    def quarantine(self, path: str) -> str:
        """Move a stored file out of sight (never delete it); return where it went."""
        ...

    def list(self, prefix: str) -> Iterator[FileStat]:
        """Every stored file whose path starts with `prefix`, in path order."""
        ...

    def sweep_temporaries(self) -> int:
        """Remove leftovers of interrupted uploads; return how many were removed."""
        ...


def quarantine_name(path: str) -> str:
    """Where a quarantined file goes: under `.dss/quarantine/`, by UTC time, never reused."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    return f"{RESERVED}/quarantine/{stamp}-{uuid.uuid4().hex[:8]}/{path}"


def verify_declared(computed: Checksums, declared: DeclaredChecksums) -> None:
    """Raise ChecksumMismatch naming the checksum that differs from what was declared."""
    if declared.adler32 is not None and declared.adler32 != computed.adler32:
        raise ChecksumMismatch(
            f"adler32 of the received bytes is {computed.adler32}, declared {declared.adler32}"
        )
    if declared.md5 is not None and declared.md5 != computed.md5:
        raise ChecksumMismatch(
            f"md5 of the received bytes is {computed.md5}, declared {declared.md5}"
        )


def same_content_or_conflict(existing: FileStat, incoming: Checksums, size: int) -> PutOutcome:
    """A PUT onto an existing path: same bytes is idempotent, anything else is a conflict."""
    if existing.size == size and existing.checksums == incoming:
        return PutOutcome.ALREADY_PRESENT
    raise ContentConflict(
        f"{existing.path} already exists with other content "
        f"(adler32 {existing.adler32}, {existing.size} bytes)"
    )
