"""The archive HTTP API through FastAPI's TestClient, on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from eas.api import create_app
from eas.schemas import ProductPage
from tests import archive_support
from tests.archive_support import observation, product, seed

archive_url = archive_support.archive_url
sessions = archive_support.sessions
sqlite_template = archive_support.sqlite_template
pg_archive_url = archive_support.pg_archive_url


@dataclass
class Api:
    """A test client and one token per role."""

    http: TestClient
    tokens: dict[str, str]

    def as_(self, who: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[who]}"}


@pytest.fixture
def api(archive_url: str, sessions: sessionmaker[Session]) -> Iterator[Api]:
    tokens = seed(sessions)
    app = create_app(archive_url)
    with TestClient(app) as http:
        yield Api(http, tokens)
    app.state.engine.dispose()


def _obs(*ids: int) -> list[dict[str, object]]:
    return [observation(i, ra=10 + i, dec=i).model_dump(mode="json") for i in ids]


def test_every_route_needs_a_known_token(api: Api) -> None:
    assert api.http.get("/api/v1/sites").status_code == 401
    bad = api.http.get("/api/v1/sites", headers={"Authorization": "Bearer nope"})
    assert bad.status_code == 401 and bad.json()["detail"] == "unknown or revoked token"
    me = api.http.get("/api/v1/auth/whoami", headers=api.as_("agent_fr"))
    assert me.json() == {"name": "agent_fr", "role": "agent", "site": "SDC-FR"}
    me = api.http.get("/api/v1/auth/whoami", headers=api.as_("reader"))
    assert me.json() == {"name": "reader", "role": "reader", "site": None}


def test_roles_decide_who_writes(api: Api) -> None:
    site = {"name": "SDC-XX", "country": "XX", "cores": 10, "storage_tb": 1}
    refused = api.http.post("/api/v1/sites", json=site, headers=api.as_("reader"))
    assert refused.status_code == 403 and "planner or admin" in refused.json()["detail"]
    assert api.http.post("/api/v1/sites", json=site, headers=api.as_("planner")).status_code == 201
    assert api.http.post("/api/v1/sites", json=site, headers=api.as_("admin")).status_code == 409
    window = {"site": "SDC-DE", "start": "2027-01-01T00:00:00Z", "end": "2027-01-02T00:00:00Z"}
    own = {**window, "site": "SDC-FR"}
    assert (
        api.http.post("/api/v1/maintenance", json=window, headers=api.as_("agent_fr")).status_code
        == 403
    )
    assert (
        api.http.post("/api/v1/maintenance", json=own, headers=api.as_("agent_fr")).status_code
        == 201
    )
    listed = api.http.get("/api/v1/maintenance?site=SDC-FR", headers=api.as_("reader")).json()
    assert [w["site"] for w in listed] == ["SDC-FR"]


def test_bad_input_is_a_4xx_naming_the_problem(api: Api) -> None:
    planner = api.as_("planner")
    bad_ra = _obs(1)
    bad_ra[0]["ra"] = 400
    answer = api.http.post("/api/v1/observations", json=bad_ra, headers=planner)
    assert answer.status_code == 422 and "ra" in str(answer.json()["detail"])
    negative = _obs(1)
    negative[0]["size_bytes"] = -5
    assert api.http.post("/api/v1/observations", json=negative, headers=planner).status_code == 422
    tile = [{"tile_id": 1, "ra": 1, "dec": 1, "radius_deg": 1, "obs_ids": [77]}]
    answer = api.http.post("/api/v1/tiles", json=tile, headers=planner)
    assert answer.status_code == 400 and "unknown observation(s): 77" in answer.json()["detail"]
    window = {"site": "SDC-FR", "start": "2027-01-02T00:00:00Z", "end": "2027-01-01T00:00:00Z"}
    assert api.http.post("/api/v1/maintenance", json=window, headers=planner).status_code == 422
    cone = api.http.get("/api/v1/observations?ra=10&dec=100&radius=1", headers=planner)
    assert cone.status_code == 400 and "dec 100" in cone.json()["detail"]
    assert api.http.get("/api/v1/products/nope", headers=planner).status_code == 404
    huge = api.http.get(f"/api/v1/observations/{10**20}", headers=planner)
    assert huge.status_code in (400, 404)  # SQLite cannot bind it; PostgreSQL finds nothing
    surrogate = b'[{"obs_id": 1, "start": "2027-01-01T00:00:00Z", "ra": 1, "dec": 1, '
    surrogate += b'"size_bytes": 1, "survey": "\\ud800"}]'
    headers = {**planner, "Content-Type": "application/json"}
    answer = api.http.post("/api/v1/observations", content=surrogate, headers=headers)
    assert answer.status_code == 400 and "not valid Unicode" in answer.json()["detail"]
    beyond_bigint = [{**_obs(1)[0], "obs_id": 10**19}]
    huge = api.http.post("/api/v1/observations", json=beyond_bigint, headers=planner)
    assert huge.status_code == 422


def test_a_failed_request_writes_nothing(api: Api) -> None:
    planner = api.as_("planner")
    assert (
        api.http.post("/api/v1/observations", json=_obs(1, 2), headers=planner).status_code == 201
    )
    clash = api.http.post("/api/v1/observations", json=_obs(3, 4, 2), headers=planner)
    assert clash.status_code == 409 and "already stored: 2" in clash.json()["detail"]
    assert api.http.get("/api/v1/observations/3", headers=planner).status_code == 404
    found = api.http.get("/api/v1/observations?ra=11&dec=1&radius=0.5", headers=planner).json()
    assert [o["obs_id"] for o in found] == [1]


def test_bulk_observation_bodies_are_checked_before_anything_is_stored(api: Api) -> None:
    planner = {**api.as_("planner"), "Content-Type": "application/json"}
    post = api.http.post
    truncated = post("/api/v1/observations", content=b'[{"obs_id": 1', headers=planner)
    assert truncated.status_code == 422 and "JSON" in str(truncated.json()["detail"])
    not_a_list = post("/api/v1/observations", json=_obs(1)[0], headers=planner)
    assert not_a_list.status_code == 422
    unknown_field = [{**_obs(1)[0], "colour": "red"}]
    answer = post("/api/v1/observations", json=unknown_field, headers=planner)
    assert answer.status_code == 422
    assert answer.json()["detail"][0]["loc"] == ["body", 0, "colour"]
    twice = post("/api/v1/observations", json=_obs(5, 6, 5), headers=planner)
    assert twice.status_code == 400 and "given twice: 5" in twice.json()["detail"]
    assert api.http.get("/api/v1/observations/6", headers=planner).status_code == 404
    # A naive start is UTC, as everywhere in the archive (COPY would read it in the
    # session's time zone); absent optional fields take their defaults.
    naive = [{"obs_id": 7, "start": "2027-03-01T12:00:00", "ra": 1, "dec": 2, "size_bytes": 3}]
    assert post("/api/v1/observations", json=naive, headers=planner).status_code == 201
    stored = api.http.get("/api/v1/observations/7", headers=planner).json()
    assert stored["start"] in ("2027-03-01T12:00:00Z", "2027-03-01T12:00:00+00:00")
    assert stored["survey"] == "wide" and stored["footprint"] is None
    documented = api.http.get("/openapi.json").json()["paths"]["/api/v1/observations"]["post"]
    schema = documented["requestBody"]["content"]["application/json"]["schema"]
    assert schema["type"] == "array" and "obs_id" in schema["items"]["properties"]
    assert "$ref" not in str(schema)


def test_products_register_query_and_lineage(api: Api) -> None:
    agent, reader = api.as_("agent_fr"), api.as_("reader")
    api.http.post("/api/v1/observations", json=_obs(1), headers=api.as_("planner"))
    raw = product("raw", obs_id=1).model_dump(mode="json")
    assert api.http.post("/api/v1/products", json=raw, headers=reader).status_code == 403
    assert api.http.post("/api/v1/products", json=raw, headers=agent).status_code == 201
    assert api.http.post("/api/v1/products", json=raw, headers=agent).status_code == 200
    changed = {**raw, "adler32": "00000001"}
    assert api.http.post("/api/v1/products", json=changed, headers=agent).status_code == 409
    for i in range(5):
        cal = product(f"cal{i}", "CALIBRATED_FRAME", obs_id=1, metadata={"band": "VIS", "n": i})
        api.http.post("/api/v1/products", json=cal.model_dump(mode="json"), headers=agent)
    page = api.http.get(
        "/api/v1/products",
        params={"type": "CALIBRATED_FRAME", "obs_id": 1, "limit": 3},
        headers=reader,
    ).json()
    assert [p["product_id"] for p in page["items"]] == ["cal0", "cal1", "cal2"]
    rest = api.http.get(
        "/api/v1/products",
        params={"type": "CALIBRATED_FRAME", "obs_id": 1, "cursor": page["next_cursor"]},
        headers=reader,
    ).json()
    assert [p["product_id"] for p in rest["items"]] == ["cal3", "cal4"] and rest[
        "next_cursor"
    ] is None
    meta = api.http.get("/api/v1/products", params={"meta": ["band=VIS", "n=4"]}, headers=reader)
    assert [p["product_id"] for p in meta.json()["items"]] == ["cal4"]
    edges = {"pipeline": "calib", "site": "SDC-FR", "used": ["raw"], "generated": ["cal0"]}
    other_site = {**edges, "site": "SDC-DE"}
    assert api.http.post("/api/v1/lineage", json=other_site, headers=agent).status_code == 403
    assert api.http.post("/api/v1/lineage", json=edges, headers=agent).status_code == 201
    graph = api.http.get("/api/v1/products/cal0/lineage?depth=2", headers=reader).json()
    assert [n["product_id"] for n in graph["nodes"]] == ["raw"]


def test_product_pages_are_exactly_what_the_response_model_gives(api: Api) -> None:
    # The page is serialised from database rows without ProductPage; it must not differ.
    agent, reader = api.as_("agent_fr"), api.as_("reader")
    api.http.post("/api/v1/observations", json=_obs(1), headers=api.as_("planner"))
    for i in range(3):
        body = product(f"q{i}", "QUALITY_REPORT", obs_id=1, md5="0" * 32 if i else None)
        body.metadata = {"band": "NIR", "n": i, "ok": i == 1, "score": 0.5 + i, "tags": ["a"]}
        api.http.post("/api/v1/products", json=body.model_dump(mode="json"), headers=agent)
    for params in (
        {"type": "QUALITY_REPORT", "obs_id": 1, "limit": 2},
        {"meta": ["band=NIR", "ok=true"]},
        {"created_from": "2000-01-01T00:00:00Z", "version": "1.0"},
    ):
        answer = api.http.get("/api/v1/products", params=params, headers=reader)
        assert answer.status_code == 200 and answer.headers["content-type"] == "application/json"
        expected = ProductPage.model_validate_json(answer.content).model_dump_json()
        assert answer.content == expected.encode() and answer.json()["items"]
    one = api.http.get("/api/v1/products/q1", headers=reader).json()
    page = api.http.get("/api/v1/products", params={"meta": "n=1"}, headers=reader).json()
    assert page["items"] == [one]
    bad = api.http.get("/api/v1/products", params={"obs_id": "x", "limit": 0}, headers=reader)
    assert bad.status_code == 422
    assert {tuple(e["loc"]) for e in bad.json()["detail"]} == {
        ("query", "obs_id"),
        ("query", "limit"),
    }
    assert (
        api.http.get("/api/v1/products", params={"cursor": "***"}, headers=reader).status_code
        == 400
    )
    assert api.http.get("/api/v1/products").status_code == 401
    # PostgreSQL cannot hold NUL characters: a 400 there, nothing found on SQLite.
    for path in ("/products/a%00b/lineage", "/products/a%00b", "/products?type=a%00b"):
        assert api.http.get("/api/v1" + path, headers=reader).status_code in (200, 400, 404)
    # ... and the failed read did not cost the server its database connections.
    again = api.http.get("/api/v1/products", params={"type": "QUALITY_REPORT"}, headers=reader)
    assert len(again.json()["items"]) == 3
    described = api.http.get("/openapi.json").json()["paths"]["/api/v1/products"]["get"]
    assert {p["name"] for p in described["parameters"]} >= {"type", "obs_id", "meta", "cursor"}
    assert "ProductPage" in str(described["responses"]["200"])
    assert described["security"] == [{"HTTPBearer": []}]  # it checks the token itself


def test_agents_write_replicas_only_for_their_site(api: Api) -> None:
    fr, de = api.as_("agent_fr"), api.as_("agent_de")
    api.http.post("/api/v1/products", json=product("p").model_dump(mode="json"), headers=fr)
    replica = {"site": "SDC-FR", "url": "dss://fr/p", "state": "AVAILABLE"}
    assert api.http.post("/api/v1/products/p/replicas", json=replica, headers=de).status_code == 403
    created = api.http.post("/api/v1/products/p/replicas", json=replica, headers=fr)
    assert created.status_code == 201
    replica_id = created.json()["id"]
    assert (
        api.http.patch(
            f"/api/v1/replicas/{replica_id}", json={"state": "BAD"}, headers=de
        ).status_code
        == 403
    )
    changed = api.http.patch(f"/api/v1/replicas/{replica_id}", json={"state": "BAD"}, headers=fr)
    assert changed.json()["state"] == "BAD"
    listed = api.http.get(
        "/api/v1/replicas?site=SDC-FR&state=BAD", headers=api.as_("reader")
    ).json()
    assert [r["id"] for r in listed] == [replica_id]
    by_path = {"site": "SDC-FR", "path": "dss://fr/p", "state": "AVAILABLE"}  # path = url
    again = api.http.post("/api/v1/products/p/replicas", json=by_path, headers=fr)
    assert (again.status_code, again.json()["id"], again.json()["state"]) == (
        200,
        replica_id,
        "AVAILABLE",
    )
    weird = api.http.patch(f"/api/v1/replicas/{replica_id}", json={"state": "LOST"}, headers=fr)
    assert weird.status_code == 422


def test_plans_over_http(api: Api) -> None:
    planner = api.as_("planner")
    api.http.post("/api/v1/observations", json=_obs(1, 2), headers=planner)
    assert api.http.get("/api/v1/plans/current", headers=planner).status_code == 404
    for version, site in ((1, "SDC-FR"), (2, "SDC-ES")):
        plan = {
            "version": version,
            "solver": "cp-sat",
            "stats": {"copies": 3},
            "objective": 1.5,
            "assignments": [
                {"obs_id": 1, "role": "primary", "site": site},
                {"obs_id": 2, "role": "primary", "site": "SDC-NL"},
            ],
        }
        assert api.http.post("/api/v1/plans", json=plan, headers=planner).status_code == 201
    assert api.http.get("/api/v1/plans/current", headers=planner).json()["version"] == 2
    diff = api.http.get("/api/v1/plans/1/diff/2", headers=planner).json()
    assert diff["unchanged"] == 1
    assert diff["changes"] == [
        {
            "obs_id": 1,
            "tile_id": None,
            "role": "primary",
            "from_site": "SDC-FR",
            "to_site": "SDC-ES",
        }
    ]
    bad = {
        "version": 3,
        "solver": "x",
        "assignments": [{"tile_id": 1, "role": "primary", "site": "SDC-FR"}],
    }
    assert api.http.post("/api/v1/plans", json=bad, headers=planner).status_code == 422


def test_openapi_docs_are_served(api: Api) -> None:
    assert api.http.get("/docs").status_code == 200
    assert "/api/v1/auth/whoami" in api.http.get("/openapi.json").json()["paths"]


def test_sites_crud_and_a_referenced_site_cannot_go(api: Api) -> None:
    planner = api.as_("planner")
    changed = api.http.patch("/api/v1/sites/SDC-CH", json={"cores": 3000}, headers=planner)
    assert changed.status_code == 200 and changed.json()["cores"] == 3000
    assert (
        api.http.patch("/api/v1/sites/SDC-CH", json={"cores": -1}, headers=planner).status_code
        == 422
    )
    assert api.http.delete("/api/v1/sites/SDC-US", headers=planner).status_code == 204
    assert api.http.get("/api/v1/sites/SDC-US", headers=planner).status_code == 404
    # SDC-FR is named by an agent token: the database refuses, the API says 409, not 500.
    refused = api.http.delete("/api/v1/sites/SDC-FR", headers=planner)
    assert refused.status_code == 409
    assert api.http.get("/api/v1/sites/SDC-FR", headers=planner).status_code == 200
