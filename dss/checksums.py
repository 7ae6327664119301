"""Checksums as Rucio keeps them: adler32 as 8 zero-padded hex digits, md5 as 32 hex digits."""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from zlib_ng import zlib_ng

READ_CHUNK = 1024 * 1024


@dataclass(frozen=True)
class Checksums:
    """The two checksums every stored file carries, in Rucio's textual form."""

    adler32: str
    md5: str

    @property
    def content_md5(self) -> str:
        """The md5 as the `Content-MD5` header carries it (base64 of the digest, RFC 1864)."""
        return base64.b64encode(bytes.fromhex(self.md5)).decode()


class ChecksumAccumulator:
    """adler32 and md5 computed in one pass over the bytes as they stream by."""

    def __init__(self, *, with_md5: bool = True) -> None:
        self._adler = 1
        self._md5 = hashlib.md5(usedforsecurity=False) if with_md5 else None
        self.size = 0

    def update(self, chunk: bytes | bytearray | memoryview) -> None:
        """Fold the next chunk into both checksums."""
        self._adler = zlib_ng.adler32(chunk, self._adler)
        if self._md5 is not None:
            self._md5.update(chunk)
        self.size += len(chunk)

    @property
    def adler32(self) -> str:
        """The adler32 of everything seen so far."""
        return format_adler32(self._adler)

    def result(self) -> Checksums:
        """Both checksums of everything seen so far (md5 must have been enabled)."""
        if self._md5 is None:
            raise ValueError("md5 was not computed by this accumulator")
        return Checksums(adler32=self.adler32, md5=self._md5.hexdigest())


def format_adler32(value: int) -> str:
    """Rucio's form: 8 lowercase hex digits, zero-padded."""
    return f"{value & 0xFFFFFFFF:08x}"


def checksums_of_chunks(chunks: Iterable[bytes]) -> tuple[Checksums, int]:
    """Checksums and size of a sequence of chunks."""
    acc = ChecksumAccumulator()
    for chunk in chunks:
        acc.update(chunk)
    return acc.result(), acc.size


def checksums_of_file(path: Path) -> tuple[Checksums, int]:
    """Checksums and size of a local file, read once in large chunks."""
    acc = ChecksumAccumulator()
    with path.open("rb") as stream:
        while chunk := stream.read(READ_CHUNK):
            acc.update(chunk)
    return acc.result(), acc.size


def normalise_adler32(declared: str) -> str:
    """A declared adler32 in Rucio's form; ValueError naming the value when it is not hex."""
    text = declared.strip().lower()
    if not 1 <= len(text) <= 8 or any(c not in "0123456789abcdef" for c in text):
        raise ValueError(f"X-Checksum-Adler32 {declared!r} is not up to 8 hex digits")
    return text.zfill(8)


def normalise_md5(declared: str) -> str:
    """A declared md5 as 32 hex digits: RFC 1864 base64, or hex as some tools send it."""
    text = declared.strip()
    if len(text) == 32 and all(c in "0123456789abcdefABCDEF" for c in text):
        return text.lower()
    try:
        digest = base64.b64decode(text, validate=True)
    except binascii.Error:
        digest = b""
    if len(digest) != 16:
        raise ValueError(f"Content-MD5 {declared!r} is neither base64 nor hex of a 16-byte md5")
    return digest.hex()


def read_range(path: Path, start: int = 0, end: int | None = None) -> Iterator[bytes]:
    """The bytes of a file from `start` to `end` (exclusive; None: to its end) in chunks."""
    with path.open("rb") as stream:
        stream.seek(start)
        remaining = None if end is None else end - start
        while remaining is None or remaining > 0:
            chunk = stream.read(READ_CHUNK if remaining is None else min(READ_CHUNK, remaining))
            if not chunk:
                return
            if remaining is not None:
                remaining -= len(chunk)
            yield chunk
