"""The archive's replica row as a transfer's lock: exclusive claims, compare-and-set, paging.

On SQLite and PostgreSQL; the racing variant runs two claimers in threads.
"""

from __future__ import annotations

import threading

import pytest
from sqlalchemy.orm import Session, sessionmaker

from eas.core import products, replicas
from eas.db import transaction
from eas.errors import Conflict
from eas.schemas import ReplicaIn
from tests import archive_support
from tests.archive_support import product, seed

archive_url = archive_support.archive_url
sessions = archive_support.sessions
sqlite_template = archive_support.sqlite_template
pg_archive_url = archive_support.pg_archive_url

COPYING = ReplicaIn(site="SDC-DE", url="x/P.fits", state="COPYING")


@pytest.fixture
def registered(sessions: sessionmaker[Session]) -> sessionmaker[Session]:
    seed(sessions)
    with transaction(sessions) as session:
        products.register_product(session, product("P"))
    return sessions


def test_an_exclusive_add_claims_the_row_once(registered: sessionmaker[Session]) -> None:
    with transaction(registered) as session:
        row, created = replicas.add_replica(session, "P", COPYING, exclusive=True)
        assert created and row.state == "COPYING"
    with transaction(registered) as session, pytest.raises(Conflict, match="COPYING"):
        replicas.add_replica(session, "P", COPYING, exclusive=True)
    with transaction(registered) as session:  # a plain add stays idempotent
        assert not replicas.add_replica(session, "P", COPYING)[1]


def test_compare_and_set_changes_only_from_the_expected_state(
    registered: sessionmaker[Session],
) -> None:
    with transaction(registered) as session:
        replica_id = replicas.add_replica(session, "P", COPYING)[0].id
    with transaction(registered) as session, pytest.raises(Conflict, match="is COPYING, not BAD"):
        replicas.set_replica_state(session, replica_id, "COPYING", expected="BAD")
    with transaction(registered) as session:
        row = replicas.set_replica_state(session, replica_id, "BAD", expected="COPYING")
        assert row.state == "BAD"


def test_racing_compare_and_set_has_one_winner(registered: sessionmaker[Session]) -> None:
    with transaction(registered) as session:
        replica_id = replicas.add_replica(
            session, "P", COPYING.model_copy(update={"state": "BAD"})
        )[0].id
    wins: list[bool] = []
    start = threading.Barrier(4)

    def claim() -> None:
        start.wait()
        try:
            with transaction(registered) as session:
                replicas.set_replica_state(session, replica_id, "COPYING", expected="BAD")
            wins.append(True)
        except Conflict:
            wins.append(False)

    threads = [threading.Thread(target=claim) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(wins) == [False, False, False, True]


def test_replicas_page_by_id(registered: sessionmaker[Session]) -> None:
    with transaction(registered) as session:
        for site in ("SDC-FR", "SDC-DE", "SDC-ES"):
            replicas.add_replica(session, "P", ReplicaIn(site=site, url=f"{site}/P"))
    with registered() as session:
        first = replicas.list_replicas(session, product_id="P", limit=2)
        rest = replicas.list_replicas(session, product_id="P", limit=2, after_id=first[-1].id)
    assert [r.site_name for r in (*first, *rest)] == ["SDC-FR", "SDC-DE", "SDC-ES"]
