"""`StorageClient`: what agents and other DSSs use to talk to a site's storage service.

Plain `requests` for small requests, `http.client` for file bodies (`dss.raw_get`,
`dss.raw_put`); no server-side imports: the site agents import this module.
"""

from __future__ import annotations

import http.client
import json
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO, TypeVar
from urllib.parse import quote

import requests

from dss.backend import FileStat
from dss.checksums import (
    READ_CHUNK,
    ChecksumAccumulator,
    Checksums,
    checksums_of_file,
)
from dss.client_errors import (
    REASON_HEADER,
    ChecksumMismatch,
    DssError,
    NotFound,
    Unavailable,
    error_for,
    error_of,
)
from dss.raw_get import CONNECTION_ERRORS, raw_get
from dss.raw_put import SourceShrank, raw_put
from dss.replica_urls import file_url
from dss.transfer import TransferResult
from dss.verified_file import VerifiedFile

T = TypeVar("T")
P = TypeVar("P", bytes, memoryview)
GET_BUFFER = 1024 * 1024  # filled per readinto; larger buffers fall out of the CPU cache
TRANSIENT_ERRORS = (requests.ConnectionError, requests.Timeout, Unavailable)


def backoff_delays(retries: int, base: float, cap: float) -> list[float]:
    """Seconds to wait before each retry: doubling from `base`, never above `cap`."""
    return [min(cap, base * 2**attempt) for attempt in range(retries)]


class StorageClient:
    """A site's DSS at `base_url`, used with one bearer token; retries transient failures."""

    def __init__(
        self,
        base_url: str,
        token: str,
        *,
        retries: int = 5,
        backoff_seconds: float = 0.5,
        max_backoff_seconds: float = 30.0,
        timeout: tuple[float, float] = (5.0, 120.0),
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self._delays = backoff_delays(retries, backoff_seconds, max_backoff_seconds)
        self._timeout = timeout
        self._sleep = sleep
        self._auth = {"Authorization": f"Bearer {token}"}
        self._session = requests.Session()
        self._session.headers.update(self._auth)

    def close(self) -> None:
        """Release pooled connections."""
        self._session.close()

    def __enter__(self) -> StorageClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def url(self, path: str) -> str:
        """The URL of a stored file."""
        return file_url(self.base_url, path)

    def put(
        self, path: str, source: Path | BinaryIO, *, checksums: Checksums | None = None
    ) -> FileStat:
        """Store `source` (a local file or a binary stream) at `path`, declaring its checksums.

        Without `checksums`, a path is read once to compute them and a stream is spooled to
        a temporary file while they are computed (so a retry can send it again).
        """
        if isinstance(source, Path):
            declared = checksums or checksums_of_file(source)[0]
            return self._retrying(lambda: self._put_file(path, source, declared))
        if checksums is None:
            with _spooled(source) as (spooled, computed):
                return self.put(path, spooled, checksums=computed)
        if not source.seekable():
            return self._put_stream(path, source, checksums, length=None)
        start = source.tell()
        length = source.seek(0, os.SEEK_END) - start

        def attempt() -> FileStat:
            source.seek(start)
            return self._put_stream(path, source, checksums, length)

        return self._retrying(attempt)

    def get(
        self, path: str, destination: Path, *, verify_md5: bool = False, durable: bool = False
    ) -> FileStat:
        """Fetch `path` into `destination`, verifying adler32 (and md5) while reading.

        A broken transfer resumes with `Range` from where it stopped; the file appears at
        `destination` only once verified (and fsynced first when `durable`). The body goes
        from the socket into one reused 1 MiB buffer (a few `recv_into` calls per fill).
        """
        expected = self.stat(path)
        target = VerifiedFile(destination, expected, verify_md5=verify_md5, durable=durable)
        buffer = memoryview(bytearray(GET_BUFFER))

        def fill(response: http.client.HTTPResponse) -> memoryview:
            return buffer[: response.readinto(buffer)]

        try:
            for part in self._body(expected, fill):
                target.write(part)
            return target.finish()
        finally:
            target.discard()

    def chunks(self, expected: FileStat) -> Iterator[bytes]:
        """The bytes of `expected.path`, resuming with `Range` after a broken connection.

        Raises ChecksumMismatch when the file's checksums are no longer those of `expected`
        (it was replaced in between); the reader verifies the bytes themselves.
        """
        return self._body(expected, lambda response: response.read(READ_CHUNK))

    def _body(
        self, expected: FileStat, read: Callable[[http.client.HTTPResponse], P]
    ) -> Iterator[P]:
        """What `read` returns, until it returns nothing and the whole file came.

        A connection that breaks or ends early is reopened with a `Range` from the first
        missing byte; the retry budget starts over whenever bytes arrived.
        """
        url = self.url(expected.path)
        offset = failures = 0
        while True:
            before = offset
            try:
                headers = dict(self._auth)
                if offset:
                    headers["Range"] = f"bytes={offset}-"
                with raw_get(url, headers, self._timeout) as response:
                    _check_same_file(response, url, expected, resuming=offset > 0)
                    while part := read(response):
                        offset += len(part)
                        yield part
                if offset >= expected.size:
                    return
                raise ConnectionError(f"connection closed at byte {offset} of {expected.size}")
            except (*CONNECTION_ERRORS, Unavailable) as exc:
                if offset > before:
                    failures = 0  # progress was made: the retry budget starts over
                if failures >= len(self._delays):
                    raise Unavailable(f"GET {url} failed at byte {offset}: {exc}") from exc
                self._sleep(self._delays[failures])
                failures += 1

    def stat(self, path: str) -> FileStat:
        """Size and checksums of `path` (HEAD)."""
        response = self._retrying(lambda: self._request("HEAD", self.url(path)))
        return FileStat(
            path=path,
            size=int(response.headers["Content-Length"]),
            adler32=response.headers["X-Checksum-Adler32"],
            md5=response.headers["X-Checksum-MD5"],
        )

    def delete(self, path: str) -> None:
        """Remove `path` (NotFound if it is not there)."""
        attempts = 0

        def attempt() -> None:
            nonlocal attempts
            attempts += 1
            try:
                self._request("DELETE", self.url(path))
            except NotFound:
                if attempts == 1:
                    raise
                # A retry that finds nothing: the earlier attempt deleted it, its answer was lost.

        self._retrying(attempt)

    def quarantine(self, path: str) -> str:
        """Move `path` out of sight on the DSS (never deleted); return where it went."""
        url = f"{self.base_url}/api/v1/quarantine/{quote(path)}"
        response = self._retrying(lambda: self._request("POST", url))
        return str(response.json()["quarantined_as"])

    def transfer(
        self, product_id: str, *, wait_seconds: float | None = None, timeout: float = 3600.0
    ) -> TransferResult:
        """Ask this DSS to pull `product_id` from its best source replica and register it.

        One attempt, waiting up to `timeout` seconds for the copy: asking again is safe (the
        archive's replica row makes the copy happen once) but is the caller's choice.
        `wait_seconds` bounds how long the DSS waits for another transfer of the same product
        to this site before refusing with Conflict (default: the DSS's own limit).
        """
        url = f"{self.base_url}/api/v1/transfers"
        request: dict[str, object] = {"product_id": product_id}
        if wait_seconds is not None:
            request["wait_seconds"] = wait_seconds
        try:
            response = self._session.post(url, json=request, timeout=(self._timeout[0], timeout))
        except requests.RequestException as exc:
            raise Unavailable(f"POST {url}: {exc}") from exc
        if response.status_code >= 400:
            raise error_for(response)
        return TransferResult.from_json(response.json())

    def list(self, prefix: str = "") -> list[FileStat]:
        """Every stored file whose path starts with `prefix`."""
        url = f"{self.base_url}/api/v1/files"
        response = self._retrying(lambda: self._request("GET", url, params={"prefix": prefix}))
        return [FileStat(**entry) for entry in response.json()["files"]]

    def _put_file(self, path: str, source: Path, declared: Checksums) -> FileStat:
        with source.open("rb") as stream:
            return self._put_stream(path, stream, declared, source.stat().st_size)

    def _put_stream(
        self, path: str, stream: BinaryIO, declared: Checksums, length: int | None
    ) -> FileStat:
        url = self.url(path)
        headers = {
            **self._auth,
            "X-Checksum-Adler32": declared.adler32,
            "Content-MD5": declared.content_md5,
        }
        try:
            answer = raw_put(url, headers, stream, length, self._timeout, REASON_HEADER)
        except CONNECTION_ERRORS as exc:
            raise Unavailable(f"PUT {url}: {exc}") from exc
        except SourceShrank as exc:
            raise DssError(f"PUT {url}: {exc}") from exc
        if answer.status >= 400:
            raise error_of("PUT", url, answer.status, answer.body, answer.reason)
        return FileStat(**json.loads(answer.body))

    def _request(self, method: str, url: str, **kwargs: object) -> requests.Response:
        response = self._session.request(method, url, timeout=self._timeout, **kwargs)  # type: ignore[arg-type]
        if response.status_code >= 400:
            raise error_for(response)
        return response

    def _retrying(self, action: Callable[[], T]) -> T:
        for delay in [*self._delays, None]:
            try:
                return action()
            except TRANSIENT_ERRORS as exc:
                if delay is None:
                    raise Unavailable(str(exc)) from exc
                self._sleep(delay)
        raise AssertionError("unreachable")


def _check_same_file(
    response: http.client.HTTPResponse, url: str, expected: FileStat, *, resuming: bool
) -> None:
    """Refuse an error answer, a file that changed since `expected`, or an ignored Range."""
    if response.status >= 400:
        reason = response.getheader(REASON_HEADER)
        raise error_of("GET", url, response.status, response.read(64 * 1024), reason)
    sums = (response.getheader("X-Checksum-Adler32"), response.getheader("X-Checksum-MD5"))
    if sums != (expected.adler32, expected.md5):
        raise ChecksumMismatch(f"{expected.path} changed on the DSS while it was being read")
    if resuming and response.status != 206:
        raise DssError(f"{url}: the DSS ignored the Range of a resumed GET")


@contextmanager
def _spooled(stream: BinaryIO) -> Iterator[tuple[BinaryIO, Checksums]]:
    """Copy a one-shot stream to a temporary file, computing its checksums on the way."""
    sums = ChecksumAccumulator()
    with tempfile.TemporaryFile() as spool:
        while chunk := stream.read(READ_CHUNK):
            sums.update(chunk)
            spool.write(chunk)
        spool.seek(0)
        yield spool, sums.result()
