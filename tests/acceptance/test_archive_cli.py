"""`sdc archive ...` in a subprocess, as an operator would run it."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import psycopg2
import pytest
import requests
import yaml
from sqlalchemy import func, select

from eas.core import lineage, products
from eas.db import make_engine, make_session_factory, transaction
from eas.loaders import load_sites
from eas.migrate import upgrade
from eas.models import MaintenanceWindow
from eas.schemas import LineageIn
from tests.acceptance.cli import run_sdc, sdc_server
from tests.archive_support import REPO, product

CONFIG = REPO / "config"


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """An initialised archive (embedded SQLite under ./sdc-data) with the example sites.

    Prepared in-process (the CLI's own init and load-sites are tested below), which keeps
    these subprocess tests within the suite's time budget.
    """
    (tmp_path / "sdc-data").mkdir()
    engine = make_engine(f"sqlite:///{tmp_path / 'sdc-data' / 'archive.sqlite'}")
    upgrade(engine)
    with transaction(make_session_factory(engine)) as session:
        load_sites(session, CONFIG / "sites.yaml")
    engine.dispose()
    return tmp_path


def _windows_stored(workdir: Path) -> int:
    engine = make_engine(f"sqlite:///{workdir / 'sdc-data' / 'archive.sqlite'}")
    with make_session_factory(engine)() as session:
        count = session.scalar(select(func.count()).select_from(MaintenanceWindow))
    engine.dispose()
    return int(count or 0)


def test_init_load_and_list_sites(tmp_path: Path) -> None:
    workdir = tmp_path
    assert run_sdc("archive", "init", cwd=workdir).returncode == 0
    loaded = run_sdc("archive", "load-sites", str(CONFIG / "sites.yaml"), cwd=workdir)
    assert loaded.returncode == 0, loaded.stderr
    assert "9 site(s) created" in loaded.stdout
    again = run_sdc("archive", "init", cwd=workdir)
    assert again.returncode == 0 and "already at schema revision" in again.stdout
    loaded = run_sdc("archive", "load-maintenance", str(CONFIG / "maintenance.yaml"), cwd=workdir)
    windows = yaml.safe_load((CONFIG / "maintenance.yaml").read_text())["maintenance"]
    assert loaded.returncode == 0 and f"{len(windows)} maintenance window(s)" in loaded.stdout
    listed = json.loads(run_sdc("archive", "sites", "--json", cwd=workdir).stdout)
    assert len(listed) == 9
    in_fr = sum(w["site"] == "SDC-FR" for w in windows)
    assert {s["name"]: s["maintenance_windows"] for s in listed}["SDC-FR"] == in_fr
    table = run_sdc("archive", "sites", cwd=workdir).stdout
    assert "SDC-FR" in table and "9000" in table
    assert run_sdc("archive", "upgrade", cwd=workdir).returncode == 0


def test_bad_maintenance_file_is_refused_whole(workdir: Path) -> None:
    bad = workdir / "maintenance.yaml"
    bad.write_text(
        "maintenance:\n"
        '  - {site: SDC-FR, start: "2027-03-02T08:00:00Z", end: "2027-03-05T18:00:00Z"}\n'
        '  - {site: SDC-MARS, start: "2027-03-02T08:00:00Z", end: "2027-03-05T18:00:00Z"}\n'
    )
    result = run_sdc("archive", "load-maintenance", str(bad), cwd=workdir)
    assert result.returncode == 1
    assert str(bad) in result.stderr and "unknown site 'SDC-MARS'" in result.stderr
    assert _windows_stored(workdir) == 0


def test_malformed_sites_file_is_named(workdir: Path) -> None:
    bad = workdir / "sites.yaml"
    bad.write_text("sites: [{name: SDC-ZZ, cores: -1\n")
    result = run_sdc("archive", "load-sites", str(bad), cwd=workdir)
    assert (
        result.returncode == 1 and "malformed YAML" in result.stderr and str(bad) in result.stderr
    )


def test_tokens_are_printed_once_and_checked(workdir: Path) -> None:
    minted = run_sdc(
        "archive", "token", "create", "--role", "agent", "--site", "SDC-FR", cwd=workdir
    )
    assert minted.returncode == 0 and minted.stdout.startswith("sdc_")
    database = (workdir / "sdc-data" / "archive.sqlite").read_bytes()
    assert minted.stdout.strip().encode() not in database
    no_site = run_sdc("archive", "token", "create", "--role", "agent", cwd=workdir)
    assert no_site.returncode == 1 and "needs --site" in no_site.stderr


def test_a_token_is_listed_and_revoked(workdir: Path) -> None:
    """There was no way to take back a leaked token (docs/archive.md: "no revocation
    command yet")."""
    secret = run_sdc("archive", "token", "create", "--role", "reader", "--name", "alice",
                     cwd=workdir).stdout.strip()  # fmt: skip
    listed = json.loads(run_sdc("archive", "token", "list", "--json", cwd=workdir).stdout)
    (alice,) = [t for t in listed if t["name"] == "alice"]
    assert (alice["role"], alice["revoked"]) == ("reader", False)
    assert secret not in json.dumps(listed)
    revoked = run_sdc("archive", "token", "revoke", str(alice["id"]), cwd=workdir)
    assert revoked.returncode == 0 and "of alice (reader) revoked" in revoked.stdout
    with sdc_server(workdir) as base:  # a server that never saw it refuses it at once
        answer = requests.get(f"{base}/api/v1/sites", headers={"Authorization": f"Bearer {secret}"})
        assert answer.status_code == 401 and "revoked" in answer.json()["detail"]
    unknown = run_sdc("archive", "token", "revoke", "999", cwd=workdir)
    assert unknown.returncode == 1 and "no token 999" in unknown.stderr


def test_products_and_lineage_queries(workdir: Path) -> None:
    engine = make_engine(f"sqlite:///{workdir / 'sdc-data' / 'archive.sqlite'}")
    with transaction(make_session_factory(engine)) as session:
        products.register_product(session, product("raw-1"))
        products.register_product(
            session, product("cal-1", "CALIBRATED_FRAME", metadata={"band": "VIS"})
        )
        lineage.record_lineage(
            session, LineageIn(pipeline="calib", used=["raw-1"], generated=["cal-1"])
        )
    engine.dispose()
    found = run_sdc("archive", "products", "--type", "CALIBRATED_FRAME", "--json", cwd=workdir)
    assert [p["product_id"] for p in json.loads(found.stdout)] == ["cal-1"]
    walked = run_sdc("archive", "lineage", "cal-1", "--json", cwd=workdir)
    assert [n["product_id"] for n in json.loads(walked.stdout)["nodes"]] == ["raw-1"]
    missing = run_sdc("archive", "lineage", "nope", cwd=workdir)
    assert missing.returncode == 1 and "no product nope" in missing.stderr


def test_commands_on_an_uninitialised_archive_say_so(tmp_path: Path) -> None:
    result = run_sdc("archive", "sites", cwd=tmp_path)
    assert result.returncode == 1 and "sdc archive init" in result.stderr
    result = run_sdc("archive", "upgrade", cwd=tmp_path)
    assert result.returncode == 1 and "not initialised" in result.stderr
    result = run_sdc("server", cwd=tmp_path)
    assert result.returncode == 1 and "not initialised" in result.stderr
    nowhere = {"SDC_DATABASE_URL": "postgresql+psycopg2://postgres@127.0.0.1:1/none"}
    result = run_sdc("server", cwd=tmp_path, env=nowhere)
    assert result.returncode == 1 and "cannot use the archive database" in result.stderr


def test_init_on_postgresql(postgres_url: str, tmp_path: Path) -> None:
    dsn = postgres_url.replace("postgresql+psycopg2://", "postgresql://")
    with psycopg2.connect(dsn) as connection, connection.cursor() as cursor:
        cursor.execute("CREATE SCHEMA IF NOT EXISTS archive_cli")
    env = {"SDC_DATABASE_URL": f"{postgres_url}?options=-csearch_path%3Darchive_cli"}
    assert run_sdc("archive", "init", cwd=tmp_path, env=env).returncode == 0
    loaded = run_sdc("archive", "load-sites", str(CONFIG / "sites.yaml"), cwd=tmp_path, env=env)
    assert loaded.returncode == 0, loaded.stderr
    assert len(json.loads(run_sdc("archive", "sites", "--json", cwd=tmp_path, env=env).stdout)) == 9
    assert not (tmp_path / "sdc-data").exists()


def test_server_serves_the_api_and_its_docs(workdir: Path) -> None:
    token = run_sdc("archive", "token", "create", "--role", "reader", cwd=workdir).stdout.strip()
    with sdc_server(workdir) as base:
        docs = requests.get(f"{base}/docs", timeout=5)
        assert docs.status_code == 200
        me = requests.get(
            f"{base}/api/v1/auth/whoami", headers={"Authorization": f"Bearer {token}"}, timeout=5
        )
        assert me.json() == {"name": "reader", "role": "reader", "site": None}
        assert requests.get(f"{base}/api/v1/sites", timeout=5).status_code == 401
        index = requests.get(f"{base}/api/v1", timeout=5)  # the README's "API under /api/v1"
        assert index.status_code == 200 and index.json()["docs"] == "/docs"


def test_the_products_table_shows_whole_ids_on_an_80_column_terminal(workdir: Path) -> None:
    """The id is what one copies into `sdc archive lineage`; it was cut to 16 characters."""
    product_id = "3db3f629f26cd47b1a403132d98460c3e85845ae"  # as the agents name them (sha1)
    engine = make_engine(f"sqlite:///{workdir / 'sdc-data' / 'archive.sqlite'}")
    with transaction(make_session_factory(engine)) as session:
        products.register_product(session, product(product_id, "CALIBRATED_FRAME"))
    engine.dispose()
    listed = run_sdc("archive", "products", cwd=workdir, env={"COLUMNS": "80"})
    assert listed.returncode == 0, listed.stderr
    assert product_id in listed.stdout and "CALIBRATED_FRAME" in listed.stdout


def test_server_that_cannot_start_says_why_with_the_documented_exit_codes(
    workdir: Path,
) -> None:
    """A busy port exited 3 (uvicorn's code, ours for an infeasible placement), port 99999
    and an unknown log level ended in tracebacks."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        busy = run_sdc("server", "--host", "127.0.0.1", "--port", str(port), cwd=workdir)
    assert busy.returncode == 1, busy.stderr
    assert f"cannot serve on 127.0.0.1:{port}" in busy.stderr
    too_big = run_sdc("server", "--port", "99999", cwd=workdir)
    assert too_big.returncode == 2 and "1..65535" in too_big.stderr
    level = run_sdc("server", "--log-level", "chatty", cwd=workdir)
    assert level.returncode == 2 and "--log-level 'chatty'" in level.stderr
    for result in (busy, too_big, level):
        assert "Traceback" not in result.stderr
