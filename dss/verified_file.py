"""A local file filled from a stream and verified before it appears under its name."""

from __future__ import annotations

import os
from pathlib import Path

from dss.backend import FileStat
from dss.checksums import ChecksumAccumulator
from dss.client_errors import ChecksumMismatch


class VerifiedFile:
    """Bytes accumulate in `.<name>.part` beside `destination`; `finish` verifies and renames.

    Each chunk is checksummed and written on the caller's thread before `write` returns, so
    the caller may refill its buffer at once. Decision: no worker thread. adler32 (zlib-ng)
    costs ~0.04 s per GiB, so a worker would overlap only the page-cache copy of the write,
    and on a shared machine every hand-over to it waits for the scheduler: the socket's own
    buffer already lets the sender run ahead while this thread writes.
    """

    def __init__(
        self, destination: Path, expected: FileStat, *, verify_md5: bool, durable: bool
    ) -> None:
        self._destination = destination
        self._expected = expected
        self._verify_md5 = verify_md5
        self._durable = durable
        self.partial = destination.with_name(f".{destination.name}.part")
        self._out = self.partial.open("wb", buffering=0)
        self._sums = ChecksumAccumulator(with_md5=verify_md5)

    def write(self, chunk: bytes | memoryview) -> None:
        """Checksum and append the next chunk (OSError, e.g. disk full, as it happens)."""
        self._sums.update(chunk)
        view = memoryview(chunk)
        while view:  # write(2) may write less than asked
            view = view[self._out.write(view) :]

    def finish(self) -> FileStat:
        """Verify everything written, then move it to the destination."""
        expected = self._expected
        if self._sums.size != expected.size or self._sums.adler32 != expected.adler32:
            raise ChecksumMismatch(
                f"{expected.path}: received {self._sums.size} bytes with adler32 "
                f"{self._sums.adler32}, the file has {expected.size} bytes, {expected.adler32}"
            )
        if self._verify_md5 and self._sums.result().md5 != expected.md5:
            raise ChecksumMismatch(
                f"{expected.path}: received bytes do not match md5 {expected.md5}"
            )
        if self._durable:
            os.fsync(self._out.fileno())
        self._out.close()
        os.replace(self.partial, self._destination)
        return expected

    def discard(self) -> None:
        """Drop the partial file (after `finish` nothing is left)."""
        self._out.close()
        self.partial.unlink(missing_ok=True)
