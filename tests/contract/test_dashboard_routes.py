"""The dashboard's pages through FastAPI's TestClient, on SQLite and on PostgreSQL."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from sdc.composition import server_app
from sdc.dashboard.auth import COOKIE
from sdc.settings import Settings
from sdc_agents.agent.config import AgentConfig, PipelineSpec
from sdc_agents.examples import EXAMPLE_PIPELINE
from tests import archive_support
from tests.dashboard_support import Seeded, seed_operations

archive_url = archive_support.archive_url
sessions = archive_support.sessions
sqlite_template = archive_support.sqlite_template
pg_archive_url = archive_support.pg_archive_url

PNG = b"\x89PNG\r\n\x1a\n"
PAGES = ("/", "/placement", "/jobs", "/jobs/1", "/products", "/products/raw-0", "/pipelines")
PICTURES = ("/sites/timeline.png", "/placement/2/sky.png", "/placement/2/share.png")


@dataclass
class Dashboard:
    """A logged-out client of `sdc server`'s app, and what the archive was seeded with."""

    http: TestClient
    seeded: Seeded

    def log_in(self, role: str = "reader") -> None:
        answer = self.http.post(
            "/login", data={"token": self.seeded.tokens[role]}, follow_redirects=False
        )
        assert answer.status_code == 303

    def page(self, path: str, status: int = 200) -> str:
        answer = self.http.get(path)
        assert answer.status_code == status, answer.text
        return answer.text


@pytest.fixture
def dashboard(
    archive_url: str, sessions: sessionmaker[Session], tmp_path: Path
) -> Iterator[Dashboard]:
    seeded = seed_operations(sessions, tmp_path)
    app = server_app(Settings(database_url=archive_url, data_dir=tmp_path))
    with TestClient(app) as http:
        yield Dashboard(http, seeded)
    app.state.engine.dispose()


def _row(html: str, marker: str) -> str:
    """The table row carrying `marker` (a data- attribute)."""
    match = re.search(rf"<tr {marker}>(.*?)</tr>", html, re.S)
    assert match, f"no row {marker}"
    return match.group(1)


def _cells(row: str) -> list[str]:
    return [
        re.sub(r"<[^>]+>", "", cell).strip()
        for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
    ]


def test_without_a_token_every_page_sends_to_the_login_form(dashboard: Dashboard) -> None:
    for path in PAGES + PICTURES + ("/pipelines/example_pipeline.png",):
        answer = dashboard.http.get(path, follow_redirects=False)
        assert answer.status_code == 303, path
        assert answer.headers["location"].startswith("/login?next=" + path.split("?")[0])
    form = dashboard.page("/jobs?state=QUEUED")
    assert 'name="next" value="/jobs?state=QUEUED"' in form


def test_a_bad_token_gets_the_form_again_with_a_message(dashboard: Dashboard) -> None:
    answer = dashboard.http.post("/login", data={"token": "sdc_not-a-token"})
    assert answer.status_code == 401
    assert "unknown or revoked token" in answer.text and COOKIE not in answer.headers.get(
        "set-cookie", ""
    )
    empty = dashboard.http.post("/login", data={"token": "  "})
    assert empty.status_code == 401 and "enter an archive token" in empty.text
    assert dashboard.http.get("/", follow_redirects=False).status_code == 303


def test_login_sets_an_httponly_cookie_goes_back_and_logout_forgets(dashboard: Dashboard) -> None:
    token = dashboard.seeded.tokens["reader"]
    answer = dashboard.http.post(
        "/login", data={"token": token, "next": "/jobs?site=SDC-FR"}, follow_redirects=False
    )
    assert answer.status_code == 303 and answer.headers["location"] == "/jobs?site=SDC-FR"
    cookie = answer.headers["set-cookie"]
    assert cookie.startswith(f"{COOKIE}={token}") and "HttpOnly" in cookie
    assert "SameSite=strict" in cookie and "Secure" not in cookie  # plain HTTP here
    assert "reader (reader)" in dashboard.page("/")
    out = dashboard.http.post("/logout", follow_redirects=False)
    assert out.status_code == 303 and out.headers["location"] == "/login"
    assert dashboard.http.get("/", follow_redirects=False).status_code == 303


def test_over_https_the_cookie_is_secure(dashboard: Dashboard) -> None:
    answer = dashboard.http.post(
        "https://testserver/login",
        data={"token": dashboard.seeded.tokens["reader"]},
        follow_redirects=False,
    )
    assert answer.status_code == 303 and "Secure" in answer.headers["set-cookie"]


def test_login_never_redirects_off_the_server(dashboard: Dashboard) -> None:
    token = dashboard.seeded.tokens["agent_fr"]  # every role may read
    for target in ("//evil.example/x", "https://evil.example/", "jobs"):
        answer = dashboard.http.post(
            "/login", data={"token": token, "next": target}, follow_redirects=False
        )
        assert answer.headers["location"] == "/", target


def test_sites_show_state_queues_running_jobs_and_storage(dashboard: Dashboard) -> None:
    dashboard.log_in()
    html = dashboard.page("/")
    de = _cells(_row(html, 'data-site="SDC-DE"'))
    assert de[2].startswith("in maintenance") and "disk upgrade" in de[2]
    fr = _cells(_row(html, 'data-site="SDC-FR"'))
    # columns: site, country, state, cores, PENDING WAITING QUEUED CLAIMED RUNNING FAILED, ...
    assert fr[2] == "active" and fr[4:10] == ["0", "0", "1", "0", "0", "0"]
    assert "4.0 MB / 1400.0 TB" in fr[11]  # raw-0 and cal-0, 2 MB each
    it = _cells(_row(html, 'data-site="SDC-IT"'))
    assert it[8] == "1" and f"{dashboard.seeded.running_job} calibrate" in it[10]
    assert "4.0 MB" in it[11]  # raw-0's second copy and the mosaic
    assert _cells(_row(html, 'data-site="SDC-DE"'))[9] == "1"  # the failed job
    picture = dashboard.http.get("/sites/timeline.png")
    assert picture.headers["content-type"] == "image/png" and picture.content.startswith(PNG)


def test_placement_shows_current_plan_versions_and_a_diff(dashboard: Dashboard) -> None:
    dashboard.log_in()
    html = dashboard.page("/placement")
    assert "Current plan: version 2" in html and "cp-sat" in html and "round-robin" in html
    assert "SUPERSEDED" in html and "copies=2" in html
    fr = _cells(_row(html.replace("<tr><td>SDC-FR", "<tr data-x><td>SDC-FR", 1), "data-x"))
    assert fr == ["SDC-FR", "2", "2", "0"]
    diff = dashboard.page("/placement?from_version=1&to_version=2")
    # Every observation's primary and secondary moved by one site, and the tile's site too.
    assert "13 changed, 0 unchanged." in diff
    assert dashboard.page("/placement?from_version=1&to_version=9", 404).count("no plan version 9")
    for path in PICTURES[1:]:
        answer = dashboard.http.get(path)
        assert answer.status_code == 200 and answer.content.startswith(PNG)
    assert dashboard.http.get("/placement/7/sky.png").status_code == 404


def test_jobs_table_filters_by_state_site_and_pipeline(dashboard: Dashboard) -> None:
    dashboard.log_in()
    seeded = dashboard.seeded
    everything = dashboard.page("/jobs")
    assert "5 job(s)" in everything
    queued = dashboard.page("/jobs?state=QUEUED&site=&pipeline=")
    assert "1 job(s)" in queued and f'data-job="{seeded.queued_job}"' in queued
    assert "1 job(s)" in dashboard.page("/jobs?pipeline=mosaic")
    assert "2 job(s)" in dashboard.page("/jobs?site=SDC-FR&pipeline=calibrate")
    assert "unknown job state" in dashboard.page("/jobs?state=DONE", 400)


def test_a_job_page_shows_products_lineage_resources_log_and_why(dashboard: Dashboard) -> None:
    dashboard.log_in()
    seeded = dashboard.seeded
    html = dashboard.page(f"/jobs/{seeded.calibrate_job}")
    assert f"Job {seeded.calibrate_job}: calibrate" in html
    assert 'href="/products/raw-0"' in html and 'href="/products/cal-0"' in html
    lineage = re.search(r'<table id="lineage">(.*?)</table>', html, re.S)
    assert lineage and "raw-0" in lineage.group(1) and "cal-0" in lineage.group(1)
    assert _cells(html.split('id="resources"')[1].split("</tr>")[1]) == ["cores", "2", "1.4"]
    assert seeded.log.resolve().as_uri() in html
    tail = re.search(r'<pre id="log-tail">(.*?)</pre>', html, re.S)
    assert tail and tail.group(1).rstrip().endswith("calibration done")
    assert "step 0: ok" not in tail.group(1)  # only the end of a long log
    assert f"job {seeded.calibrate_job} (calibrate) is SUCCEEDED" in html
    queued = dashboard.page(f"/jobs/{seeded.queued_job}")
    assert "queue position 1 at SDC-FR" in queued and "no lineage recorded" in queued
    assert "no job 999" in dashboard.page("/jobs/999", 404)


def test_products_search_by_type_observation_and_tile(dashboard: Dashboard) -> None:
    dashboard.log_in()
    links = re.compile(r'class="product-link">([^<]+)<')
    assert links.findall(dashboard.page("/products")) == ["cal-0", "mosaic-100", "raw-0"]
    assert links.findall(dashboard.page("/products?obs=0&tile=")) == ["cal-0", "raw-0"]
    assert links.findall(dashboard.page("/products?tile=100")) == ["mosaic-100"]
    assert links.findall(dashboard.page("/products?product_type=RAW_FRAME")) == ["raw-0"]
    assert "obs must be a whole number, not &#39;x&#39;" in dashboard.page("/products?obs=x", 400)


def test_a_product_page_walks_lineage_up_and_down_and_links_jobs(dashboard: Dashboard) -> None:
    dashboard.log_in()
    seeded = dashboard.seeded
    html = dashboard.page("/products/cal-0")
    up = html.split('id="ancestors"')[1].split("</table>")[0]
    down = html.split('id="descendants"')[1].split("</table>")[0]
    assert "raw-0" in up and "mosaic-100" not in up
    assert "mosaic-100" in down and "raw-0" not in down
    assert f'href="/jobs/{seeded.calibrate_job}"' in html.split('id="made-by"')[1]
    assert f'href="/jobs/{seeded.mosaic_job}"' in html.split('id="used-by"')[1]
    raw = dashboard.page("/products/raw-0")
    assert raw.count(">AVAILABLE<") == 2 and "no job (raw data)" in raw
    assert "no product nope" in dashboard.page("/products/nope", 404)
    picture = dashboard.http.get("/products/cal-0/lineage.png")
    assert picture.status_code == 200 and picture.content.startswith(PNG)
    assert dashboard.http.get("/products/nope/lineage.png").status_code == 404


def test_pipelines_show_the_example_graphs(dashboard: Dashboard) -> None:
    dashboard.log_in()
    html = dashboard.page("/pipelines")
    assert 'id="pipeline-example_pipeline"' in html and 'id="pipeline-mosaic_pipeline"' in html
    assert "correct_dark" in html and "combine" in html
    picture = dashboard.http.get("/pipelines/mosaic_pipeline.png")
    assert picture.status_code == 200 and picture.content.startswith(PNG)
    assert dashboard.http.get("/pipelines/nope.png").status_code == 404


def test_an_empty_archive_still_renders(
    archive_url: str, sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    tokens = archive_support.seed(sessions)
    app = server_app(Settings(database_url=archive_url, data_dir=tmp_path))
    with TestClient(app) as http:
        http.post("/login", data={"token": tokens["reader"]})
        assert "No plan is stored yet" in http.get("/placement").text
        for path in ("/", "/jobs", "/products", "/sites/timeline.png"):
            assert http.get(path).status_code == 200, path
    app.state.engine.dispose()


def test_a_job_links_to_its_pipeline_graph_when_the_server_knows_it(
    archive_url: str, sessions: sessionmaker[Session], tmp_path: Path
) -> None:
    seeded = seed_operations(sessions, tmp_path)
    job = f"/jobs/{seeded.calibrate_job}"
    spec = PipelineSpec(script=EXAMPLE_PIPELINE, inputs={}, outputs={})
    for pipelines, linked in (({}, False), ({"calibrate": spec}, True)):
        settings = Settings(
            database_url=archive_url, data_dir=tmp_path, agent=AgentConfig(pipelines=pipelines)
        )
        app = server_app(settings)
        with TestClient(app) as http:
            http.post("/login", data={"token": seeded.tokens["reader"]})
            html = http.get(job).text
            assert ('href="/pipelines#pipeline-calibrate"' in html) is linked
            if linked:
                assert 'id="pipeline-calibrate"' in http.get("/pipelines").text
        app.state.engine.dispose()
