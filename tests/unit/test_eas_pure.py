"""Pure parts of the archive: cone arguments, metadata filters, cursors."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from eas.core.products import decode_cursor, encode_cursor, parse_metadata_pairs
from eas.core.survey import Cone, cone_of
from eas.errors import BadRequest


def test_cone_arguments() -> None:
    assert cone_of(None, None, None) is None
    assert cone_of(359.5, -90, 180) == Cone(359.5, -90, 180)
    for ra, dec, radius, problem in (
        (10, None, 1, "together"),
        (360, 0, 1, "ra 360"),
        (10, -91, 1, "dec -91"),
        (10, 0, 0, "radius 0"),
        (float("nan"), 0, 1, "ra nan"),
    ):
        with pytest.raises(BadRequest, match=problem):
            cone_of(ra, dec, radius)


def test_metadata_pairs_are_typed_when_they_read_as_json_scalars() -> None:
    assert parse_metadata_pairs(["band=VIS", "n=4", "ok=true", "x=1.5", "tag=[1]", "e="]) == {
        "band": "VIS",
        "n": 4,
        "ok": True,
        "x": 1.5,
        "tag": "[1]",
        "e": "",
    }
    with pytest.raises(BadRequest, match="not key=value"):
        parse_metadata_pairs(["novalue"])


@given(st.text(min_size=1, max_size=128))
def test_cursors_round_trip(product_id: str) -> None:
    assert decode_cursor(encode_cursor(product_id)) == product_id
