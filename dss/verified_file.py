"""A local file filled from a stream and verified before it appears under its name."""

from __future__ import annotations

import os
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

from dss.backend import FileStat
from dss.checksums import ChecksumAccumulator
from dss.client_errors import ChecksumMismatch


class VerifiedFile:
    """Bytes accumulate in `.<name>.part` beside `destination`; `finish` verifies and renames.

    Checksumming and writing chunk N run in a worker thread (hashlib, zlib-ng and file writes
    release the GIL) while the caller receives chunk N+1; one chunk in flight at most.
    """

    def __init__(
        self, destination: Path, expected: FileStat, *, verify_md5: bool, durable: bool
    ) -> None:
        self._destination = destination
        self._expected = expected
        self._verify_md5 = verify_md5
        self._durable = durable
        self.partial = destination.with_name(f".{destination.name}.part")
        self._out = self.partial.open("wb")
        self._sums = ChecksumAccumulator(with_md5=verify_md5)
        self._worker = ThreadPoolExecutor(1, thread_name_prefix="dss-get")
        self._writing: Future[None] | None = None

    def write(self, chunk: bytes | memoryview) -> None:
        """Queue the next chunk; raises an earlier chunk's write error (e.g. disk full).

        The chunk is read by the worker until the following `write` (or `finish`) returns:
        its buffer may be refilled only after that.
        """
        self._wait()
        self._writing = self._worker.submit(self._absorb, chunk)

    def finish(self) -> FileStat:
        """Verify everything written, then move it to the destination."""
        self._wait()
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
        self._out.flush()
        if self._durable:
            os.fsync(self._out.fileno())
        self._out.close()
        os.replace(self.partial, self._destination)
        return expected

    def discard(self) -> None:
        """Stop the worker and drop the partial file (after `finish` nothing is left)."""
        self._worker.shutdown(wait=True)
        self._out.close()
        self.partial.unlink(missing_ok=True)

    def _wait(self) -> None:
        if self._writing is not None:
            writing, self._writing = self._writing, None
            writing.result()

    def _absorb(self, chunk: bytes | memoryview) -> None:
        self._out.write(chunk)
        self._sums.update(chunk)
