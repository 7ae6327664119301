"""Pulling a file from another site's DSS straight into this site's storage."""

from __future__ import annotations

from collections.abc import Callable

from dss.backend import DeclaredChecksums, FileStat, PutOutcome, StorageBackend
from dss.client import StorageClient


def pull(
    source: StorageClient,
    path: str,
    destination: StorageBackend,
    *,
    declared: DeclaredChecksums | None = None,
    to: str | None = None,
    progress: Callable[[], None] = lambda: None,
) -> tuple[PutOutcome, FileStat]:
    """Copy `path` from the DSS behind `source` into `destination`, verified like any PUT.

    The bytes stream into the destination's upload without a local copy, resuming with
    `Range` if the connection breaks. They are checked against `declared` (the archive's
    checksums, when the caller has them) or else the source's own, so a transfer that went
    wrong never becomes visible (ChecksumMismatch), and pulling a file that is already there
    with the same bytes is a no-op (ALREADY_PRESENT). `to`: the destination path, when not
    `path`; `progress` is called after every chunk (an exception from it aborts the pull).
    """
    expected = source.stat(path)
    upload = destination.begin_upload(to or path)
    try:
        for chunk in source.chunks(expected):
            upload.write(chunk)
            progress()
        return upload.commit(declared or DeclaredChecksums(expected.adler32, expected.md5))
    except BaseException:
        upload.abort()
        raise
