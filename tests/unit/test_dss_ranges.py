"""`Range` headers for backends without local files: the same bytes as a Python slice."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dss.responses import RangeNotSatisfiable, single_range


@given(size=st.integers(1, 1000), first=st.integers(0, 1200), length=st.integers(0, 1200))
def test_closed_range_is_the_slice(size: int, first: int, length: int) -> None:
    data = bytes(range(256)) * 4
    header = f"bytes={first}-{first + length}"
    if first >= size:
        with pytest.raises(RangeNotSatisfiable):
            single_range(header, size)
        return
    start, end = single_range(header, size) or (0, size)
    assert data[:size][start:end] == data[:size][first : first + length + 1]


def test_open_and_suffix_ranges() -> None:
    assert single_range("bytes=10-", 100) == (10, 100)
    assert single_range("bytes=-10", 100) == (90, 100)
    assert single_range("bytes=-1000", 100) == (0, 100)


@pytest.mark.parametrize("header", [None, "bytes=-", "items=1-2", "bytes=1-2,5-6", "nonsense"])
def test_absent_malformed_or_multiple_ranges_mean_everything(header: str | None) -> None:
    assert single_range(header, 100) is None


def test_reversed_range_is_not_satisfiable() -> None:
    with pytest.raises(RangeNotSatisfiable):
        single_range("bytes=50-10", 100)
