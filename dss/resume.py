"""One verified download that survives broken connections by resuming with `Range`."""

from __future__ import annotations

import os
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import requests

from dss.backend import FileStat
from dss.checksums import READ_CHUNK, ChecksumAccumulator
from dss.client_errors import ChecksumMismatch, error_for


class Download:
    """Bytes of one file accumulating in `.<name>.part` beside the destination."""

    def __init__(
        self,
        session: requests.Session,
        url: str,
        destination: Path,
        timeout: tuple[float, float],
        verify_md5: bool,
        durable: bool,
    ) -> None:
        self._session = session
        self._url = url
        self._destination = destination
        self._timeout = timeout
        self._verify_md5 = verify_md5
        self._durable = durable
        self.partial = destination.with_name(f".{destination.name}.part")
        self._out = self.partial.open("wb")
        self._sums = ChecksumAccumulator(with_md5=verify_md5)
        self.received = 0
        self._expected: tuple[str, str] | None = None

    def run(self) -> None:
        """Fetch what is still missing; raises on a broken connection (bytes so far are kept)."""
        headers = {"Range": f"bytes={self.received}-"} if self.received else {}
        with self._session.get(
            self._url, headers=headers, stream=True, timeout=self._timeout
        ) as response:
            if response.status_code >= 400:
                raise error_for(response)
            identity = (response.headers["X-Checksum-Adler32"], response.headers["X-Checksum-MD5"])
            # Start over when the server ignored the Range or the file changed in between.
            if response.status_code == 200 or identity != self._expected:
                self._restart()
            self._expected = identity
            # Checksumming and writing chunk N (in a worker; zlib and file writes release the
            # GIL) overlaps with receiving chunk N+1: one chunk in flight at most.
            with ThreadPoolExecutor(1, thread_name_prefix="dss-get") as worker:
                in_flight: Future[None] | None = None
                try:
                    for chunk in response.iter_content(READ_CHUNK):
                        if in_flight is not None:
                            in_flight.result()
                        in_flight = worker.submit(self._absorb, chunk)
                        self.received += len(chunk)
                finally:
                    if in_flight is not None:
                        in_flight.result()

    def _absorb(self, chunk: bytes) -> None:
        self._out.write(chunk)
        self._sums.update(chunk)

    def finish(self, path: str) -> FileStat:
        """Verify the received bytes and move them to the destination."""
        if self._expected is None:
            raise RuntimeError("finish() before a successful run()")
        adler32, md5 = self._expected
        if self._sums.adler32 != adler32:
            raise ChecksumMismatch(
                f"GET {self._url}: received adler32 {self._sums.adler32}, file has {adler32}"
            )
        if self._verify_md5 and self._sums.result().md5 != md5:
            raise ChecksumMismatch(f"GET {self._url}: received bytes do not match md5 {md5}")
        self._out.flush()
        if self._durable:
            os.fsync(self._out.fileno())
        self._out.close()
        os.replace(self.partial, self._destination)
        return FileStat(path=path, size=self.received, adler32=adler32, md5=md5)

    def discard(self) -> None:
        """Drop the partial file (after success there is nothing left to drop)."""
        self._out.close()
        self.partial.unlink(missing_ok=True)

    def _restart(self) -> None:
        self._out.seek(0)
        self._out.truncate()
        self._sums = ChecksumAccumulator(with_md5=self._verify_md5)
        self.received = 0
