"""Checksums: Rucio's adler32 form, md5 header forms, one pass equals separate passes."""

from __future__ import annotations

import base64
import hashlib
import zlib
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dss.checksums import (
    ChecksumAccumulator,
    checksums_of_chunks,
    checksums_of_file,
    format_adler32,
    normalise_adler32,
    normalise_md5,
)


def test_adler32_is_eight_zero_padded_hex_digits() -> None:
    assert format_adler32(zlib.adler32(b"")) == "00000001"
    assert format_adler32(0xABC) == "00000abc"


@given(st.lists(st.binary(max_size=300), max_size=8))
def test_one_pass_equals_each_checksum_alone(chunks: list[bytes]) -> None:
    whole = b"".join(chunks)
    checksums, size = checksums_of_chunks(chunks)
    assert size == len(whole)
    assert checksums.adler32 == f"{zlib.adler32(whole):08x}"
    assert checksums.md5 == hashlib.md5(whole).hexdigest()


def test_file_checksums_match_bytes(tmp_path: Path) -> None:
    data = bytes(range(256)) * 5000
    path = tmp_path / "f"
    path.write_bytes(data)
    assert checksums_of_file(path) == checksums_of_chunks([data])


def test_content_md5_header_round_trips() -> None:
    checksums, _ = checksums_of_chunks([b"hello"])
    digest = hashlib.md5(b"hello").digest()
    assert checksums.content_md5 == base64.b64encode(digest).decode()
    assert normalise_md5(checksums.content_md5) == checksums.md5
    assert normalise_md5(checksums.md5.upper()) == checksums.md5


@pytest.mark.parametrize("bad", ["", "xyz", "123456789", "12 34"])
def test_malformed_adler32_is_named(bad: str) -> None:
    with pytest.raises(ValueError, match="X-Checksum-Adler32"):
        normalise_adler32(bad)


def test_short_adler32_is_padded() -> None:
    assert normalise_adler32("ABC") == "00000abc"


@pytest.mark.parametrize("bad", ["", "not-base64!", base64.b64encode(b"short").decode()])
def test_malformed_md5_is_named(bad: str) -> None:
    with pytest.raises(ValueError, match="Content-MD5"):
        normalise_md5(bad)


def test_accumulator_without_md5_refuses_md5() -> None:
    acc = ChecksumAccumulator(with_md5=False)
    acc.update(b"abc")
    assert acc.adler32 == f"{zlib.adler32(b'abc'):08x}"
    with pytest.raises(ValueError):
        acc.result()
