"""`Range` headers: for backends without local files, the same bytes as a Python slice; for
local files, which answers go out with sendfile (`sendfile_span`)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from starlette.datastructures import Headers

from dss.raw_send import SEND_MIN
from dss.responses import RangeNotSatisfiable, sendfile_span, single_range


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


BIG = 3 * SEND_MIN


@pytest.mark.parametrize(
    ("headers", "span"),
    [
        ({}, (0, BIG)),
        ({"range": "bytes=100-"}, (100, BIG)),
        ({"range": f"bytes=-{SEND_MIN}"}, (BIG - SEND_MIN, BIG)),
        ({"range": f"bytes=0-{SEND_MIN - 1}"}, (0, SEND_MIN)),
    ],
)
def test_large_gets_and_large_single_ranges_go_with_sendfile(
    headers: dict[str, str], span: tuple[int, int]
) -> None:
    assert sendfile_span("GET", Headers(headers), BIG) == span


@pytest.mark.parametrize(
    ("method", "headers", "size"),
    [
        ("HEAD", {}, BIG),
        ("GET", {}, SEND_MIN - 1),  # small: keeps the connection alive
        ("GET", {"range": f"bytes=0-{SEND_MIN - 2}"}, BIG),
        ("GET", {"range": "bytes=0-9,20-29"}, BIG),  # multipart: FileResponse's
        ("GET", {"range": "items=0-"}, BIG),  # malformed: FileResponse answers 400
        ("GET", {"range": f"bytes={BIG}-"}, BIG),  # unsatisfiable: FileResponse answers 416
        ("GET", {"range": "bytes=100-", "if-range": '"etag"'}, BIG),
    ],
)
def test_other_answers_stay_with_file_response(
    method: str, headers: dict[str, str], size: int
) -> None:
    assert sendfile_span(method, Headers(headers), size) is None
