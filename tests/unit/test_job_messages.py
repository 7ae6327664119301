"""The Celery job message's arguments: only job ids, one or a batch (`eas.job_schemas`)."""

from __future__ import annotations

import pytest

from eas.job_schemas import job_ids_of


def test_one_id_or_a_batch_of_ids_in_order_once_each() -> None:
    assert job_ids_of([7]) == [7]
    assert job_ids_of([3, 1, 2]) == [3, 1, 2]
    assert job_ids_of((5, 5, 6, 5)) == [5, 6]


@pytest.mark.parametrize(
    "args", [[], None, {"job_id": 1}, ["1"], [1.0], [True], [[1, 2]], [1, None], "12"]
)
def test_anything_else_names_no_job(args: object) -> None:
    assert job_ids_of(args) is None
