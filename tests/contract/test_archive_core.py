"""Archive core functions, run on SQLite and on the real PostgreSQL."""

from __future__ import annotations

import random
import threading
import time
from datetime import timedelta

import astropy.units as u
import pytest
from astropy.coordinates import SkyCoord
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, sessionmaker

from eas.core import lineage, plans, products, replicas, survey, tokens
from eas.db import make_engine, transaction
from eas.errors import BadRequest, Conflict, Forbidden, NotFound
from eas.migrate import schema_drift
from eas.models import Observation, Tile
from eas.schemas import AssignmentIn, LineageIn, PlanIn, ReplicaIn, TileIn
from tests import archive_support
from tests.archive_support import EPOCH, observation, product, seed

archive_url = archive_support.archive_url
sessions = archive_support.sessions
sqlite_template = archive_support.sqlite_template
pg_archive_url = archive_support.pg_archive_url


def test_migrations_match_the_models(archive_url: str) -> None:
    engine = make_engine(archive_url)
    try:
        assert schema_drift(engine) == []
    finally:
        engine.dispose()


def test_observations_by_time_range_and_cone(sessions: sessionmaker[Session]) -> None:
    rng = random.Random(7)
    points = [(rng.uniform(0, 360), rng.uniform(-89, 89)) for _ in range(400)]
    with transaction(sessions) as session:
        survey.add_observations(
            session, [observation(i, ra, dec, hours=i) for i, (ra, dec) in enumerate(points)]
        )
    with sessions() as session:
        in_time = survey.query_observations(
            session, EPOCH + timedelta(hours=10), EPOCH + timedelta(hours=20)
        )
        assert [o.obs_id for o in in_time] == list(range(10, 20))
        found = {
            o.obs_id for o in survey.query_observations(session, ra=350, dec=80, radius_deg=25)
        }
    centre = SkyCoord(350 * u.deg, 80 * u.deg)
    expected = {
        i
        for i, (ra, dec) in enumerate(points)
        if centre.separation(SkyCoord(ra * u.deg, dec * u.deg)).deg <= 25
    }
    assert found == expected and expected  # the cone crosses RA 0 and reaches the pole


def test_duplicate_observations_insert_nothing(sessions: sessionmaker[Session]) -> None:
    with transaction(sessions) as session:
        survey.add_observations(session, [observation(1)])
    with pytest.raises(Conflict, match="already stored: 1"), transaction(sessions) as session:
        survey.add_observations(session, [observation(2), observation(1)])
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Observation)) == 1


def test_tile_naming_an_unknown_observation_is_refused(sessions: sessionmaker[Session]) -> None:
    with transaction(sessions) as session:
        survey.add_observations(session, [observation(1), observation(2)])
    tiles = [
        TileIn(tile_id=1, ra=10, dec=0, radius_deg=0.5, obs_ids=[1, 2]),
        TileIn(tile_id=2, ra=11, dec=0, radius_deg=0.5, obs_ids=[2, 99]),
    ]
    refused = pytest.raises(BadRequest, match="tile 2 names unknown observation.*99")
    with refused, transaction(sessions) as session:
        survey.add_tiles(session, tiles)
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Tile)) == 0
    with transaction(sessions) as session:
        survey.add_tiles(session, tiles[:1])
    with sessions() as session:
        assert survey.get_tile(session, 1).obs_ids == [1, 2]
        assert [t.tile_id for t in survey.query_tiles(session, obs_id=2)] == [1]


def _plan(version: int, primary: str, parent: int | None = None) -> PlanIn:
    return PlanIn(
        version=version,
        parent_version=parent,
        solver="test",
        stats={"copies": version},
        assignments=[
            AssignmentIn(obs_id=1, role="primary", site=primary),
            AssignmentIn(obs_id=1, role="secondary", site="SDC-IT"),
            AssignmentIn(tile_id=1, role="processing", site="SDC-IT"),
        ],
    )


def test_plan_versions_current_and_diff(sessions: sessionmaker[Session]) -> None:
    seed(sessions)
    with transaction(sessions) as session:
        survey.add_observations(session, [observation(1)])
        survey.add_tiles(session, [TileIn(tile_id=1, ra=10, dec=0, radius_deg=1, obs_ids=[1])])
        plans.store_plan(session, _plan(1, "SDC-FR"))
        plans.store_plan(session, _plan(2, "SDC-DE", parent=1))
    with sessions() as session:
        assert plans.current_plan(session).version == 2
        assert plans.get_plan(session, 1).status == "SUPERSEDED"
        diff = plans.diff_plans(session, 1, 2)
        assert diff.unchanged == 2
        assert [(c.obs_id, c.role, c.from_site, c.to_site) for c in diff.changes] == [
            (1, "primary", "SDC-FR", "SDC-DE")
        ]
        assert len(plans.list_assignments(session, 2, site="SDC-IT")) == 2
    with pytest.raises(Conflict), transaction(sessions) as session:
        plans.store_plan(session, _plan(2, "SDC-FR"))
    with pytest.raises(BadRequest, match="unknown site.*SDC-XX"), transaction(sessions) as session:
        plans.store_plan(session, _plan(3, "SDC-XX"))


def test_product_registration_is_idempotent(sessions: sessionmaker[Session]) -> None:
    with transaction(sessions) as session:
        assert products.register_product(session, product("p1"))[1] is True
    with transaction(sessions) as session:
        row, created = products.register_product(session, product("p1"))
        assert (row.product_id, created) == ("p1", False)
    with pytest.raises(Conflict, match="different checksum"), transaction(sessions) as session:
        products.register_product(session, product("p1", adler32="ffffffff"))
    refused = pytest.raises(BadRequest, match="unknown observation 5")
    with refused, transaction(sessions) as session:
        products.register_product(session, product("p2", obs_id=5))


def test_product_queries_filter_and_page(sessions: sessionmaker[Session]) -> None:
    with transaction(sessions) as session:
        survey.add_observations(session, [observation(1), observation(2)])
        for i in range(25):
            products.register_product(
                session,
                product(
                    f"p{i:02d}",
                    "CALIBRATED_FRAME" if i % 2 else "RAW_FRAME",
                    obs_id=1 + i % 3 // 2,
                    metadata={"band": "VIS" if i < 10 else "NIR", "quality": i % 4, "ok": i < 5},
                ),
            )
    wanted = products.ProductFilter(product_type="CALIBRATED_FRAME", obs_id=1)
    expected = [f"p{i:02d}" for i in range(25) if i % 2 and 1 + i % 3 // 2 == 1]
    seen: list[str] = []
    cursor = None
    with sessions() as session:
        while True:
            rows, cursor = products.query_products(session, wanted, cursor, limit=3)
            seen += [r.product_id for r in rows]
            if cursor is None:
                break
        assert seen == expected
        by_meta = products.ProductFilter(
            metadata=products.parse_metadata_pairs(["band=NIR", "quality=2"])
        )
        assert [r.product_id for r in products.query_products(session, by_meta)[0]] == [
            f"p{i:02d}" for i in range(10, 25) if i % 4 == 2
        ]
        flagged = products.ProductFilter(metadata={"ok": True})
        assert len(products.query_products(session, flagged)[0]) == 5
        with pytest.raises(BadRequest, match="metadata key"):
            products.query_products(session, products.ProductFilter(metadata={"a'b": 1}))
        with pytest.raises(BadRequest, match="cursor"):
            products.query_products(session, wanted, cursor="***")


def test_replicas_add_change_and_list(sessions: sessionmaker[Session]) -> None:
    seed(sessions)
    with transaction(sessions) as session:
        products.register_product(session, product("p1"))
        first, created = replicas.add_replica(
            session, "p1", ReplicaIn(site="SDC-FR", url="/a", state="COPYING")
        )
        again, created_again = replicas.add_replica(
            session, "p1", ReplicaIn(site="SDC-FR", url="/a")
        )
        assert created and not created_again and first.id == again.id
        replicas.add_replica(session, "p1", ReplicaIn(site="SDC-DE", url="/b"))
    with pytest.raises(Conflict), transaction(sessions) as session:
        replicas.add_replica(session, "p1", ReplicaIn(site="SDC-FR", url="/elsewhere"))
    with pytest.raises(NotFound), transaction(sessions) as session:
        replicas.add_replica(session, "nope", ReplicaIn(site="SDC-FR", url="/a"))
    with transaction(sessions) as session:
        replicas.set_replica_state(session, first.id, "BAD")
    with sessions() as session:
        assert [r.site_name for r in replicas.list_replicas(session, state="BAD")] == ["SDC-FR"]
        assert len(replicas.list_replicas(session, product_id="p1")) == 2


def test_lineage_ancestors_and_descendants(sessions: sessionmaker[Session]) -> None:
    seed(sessions)
    with transaction(sessions) as session:
        for pid in ("raw1", "raw2", "dark", "cal1", "cal2", "stack"):
            products.register_product(session, product(pid))
        lineage.record_lineage(
            session, LineageIn(pipeline="calib", used=["raw1", "dark"], generated=["cal1"])
        )
        lineage.record_lineage(
            session, LineageIn(pipeline="calib", used=["raw2", "dark"], generated=["cal2"])
        )
        job = lineage.record_lineage(
            session,
            LineageIn(pipeline="stack", site="SDC-FR", used=["cal1", "cal2"], generated=["stack"]),
        )
        # Recording the same edges again adds nothing.
        lineage.record_lineage(
            session, LineageIn(job_id=job.id, used=["cal1"], generated=["stack"])
        )
    with sessions() as session:
        one = lineage.walk_lineage(session, "stack", "ancestors", 1)
        assert [(n.product_id, n.depth) for n in one.nodes] == [("cal1", 1), ("cal2", 1)]
        two = lineage.walk_lineage(session, "stack", "ancestors", 2)
        assert {n.product_id for n in two.nodes} == {"cal1", "cal2", "raw1", "raw2", "dark"}
        assert len(two.edges) == 6
        down = lineage.walk_lineage(session, "dark", "descendants", 3)
        assert [(n.product_id, n.depth) for n in down.nodes] == [
            ("cal1", 1),
            ("cal2", 1),
            ("stack", 2),
        ]
        with pytest.raises(NotFound):
            lineage.walk_lineage(session, "nope", "ancestors", 1)
    # The walk is prepared once per pooled connection (PostgreSQL): it must survive a rolled
    # back transaction, a failed one, and serve both directions on the same connection.
    for _ in range(3):
        with pytest.raises(NotFound), transaction(sessions) as session:
            assert lineage.walk_lineage(session, "stack", "ancestors", 2) == two
            assert lineage.walk_lineage(session, "dark", "descendants", 3) == down
            products.get_product(session, "nope")
    with sessions() as session:
        assert lineage.walk_lineage(session, "stack", "ancestors", 2) == two
    with pytest.raises(Forbidden), transaction(sessions) as session:
        lineage.record_lineage(session, LineageIn(job_id=job.id, generated=["stack"]), "SDC-DE")
    with (
        pytest.raises(BadRequest, match="unknown product.*ghost"),
        transaction(sessions) as session,
    ):
        lineage.record_lineage(
            session, LineageIn(pipeline="x", used=["ghost"], generated=["stack"])
        )


def test_bulk_insert_keeps_awkward_values(sessions: sessionmaker[Session]) -> None:
    odd = observation(1).model_copy(
        update={"survey": "deep\tfield\\n\nx", "footprint": [[1.5, -2.0], [3.0, 4.25]]}
    )
    with transaction(sessions) as session:
        survey.add_observations(session, [odd, observation(2)])
    with sessions() as session:
        stored = survey.get_observation(session, 1)
        assert (stored.survey, stored.footprint) == (odd.survey, odd.footprint)
        assert stored.start == odd.start and stored.start.tzinfo is not None
        assert survey.get_observation(session, 2).footprint is None


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(
        st.text(st.characters(exclude_characters="\x00", exclude_categories=("Cs",)), max_size=40),
        min_size=1,
        max_size=8,
    )
)
def test_any_text_survives_the_bulk_insert(
    sessions: sessionmaker[Session], surveys: list[str]
) -> None:
    with transaction(sessions) as session:
        session.execute(delete(Observation))
        rows = [observation(i).model_copy(update={"survey": s}) for i, s in enumerate(surveys)]
        survey.add_observations(session, rows)
    with sessions() as session:
        stored = session.scalars(select(Observation.survey).order_by(Observation.obs_id)).all()
    assert stored == surveys


def test_tokens_are_checked_and_stored_hashed(sessions: sessionmaker[Session]) -> None:
    seed(sessions)
    with pytest.raises(BadRequest, match="unknown site 'SDC-X'"), transaction(sessions) as session:
        tokens.create_token(session, "agent", "a", "SDC-X")
    with pytest.raises(BadRequest, match="only agent tokens"), transaction(sessions) as session:
        tokens.create_token(session, "reader", "r", "SDC-FR")
    with transaction(sessions) as session:
        row, secret = tokens.create_token(session, "agent", "a", "SDC-FR")
        assert secret not in row.token_hash and tokens.authenticate(session, secret) == row
        assert tokens.authenticate(session, secret + "x") is None


def test_a_registration_racing_its_retry_returns_the_stored_row(
    sessions: sessionmaker[Session],
) -> None:
    first = sessions()
    products.register_product(first, product("p1"))  # flushed, not yet committed
    answers: list[tuple[str, bool]] = []

    def retry() -> None:
        with transaction(sessions) as session:
            row, created = products.register_product(session, product("p1"))
            answers.append((row.product_id, created))

    racer = threading.Thread(target=retry)
    racer.start()
    time.sleep(0.5)  # let the retry reach its INSERT, which waits for the first transaction
    first.commit()
    first.close()
    racer.join(30)
    assert answers == [("p1", False)]


def test_a_revoked_token_authenticates_no_more(sessions: sessionmaker[Session]) -> None:
    seed(sessions)  # one token per role
    with transaction(sessions) as session:
        row, secret = tokens.create_token(session, "reader", "alice")
        assert [t.name for t in tokens.list_tokens(session)][-1] == "alice"
    with transaction(sessions) as session:
        assert tokens.revoke_token(session, row.id).revoked
        tokens.revoke_token(session, row.id)  # again: no error
    with transaction(sessions) as session:
        assert tokens.authenticate(session, secret) is None
        with pytest.raises(NotFound, match="no token 999"):
            tokens.revoke_token(session, 999)
