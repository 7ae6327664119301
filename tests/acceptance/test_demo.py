"""`sdc demo` as a newcomer runs it: the whole federation on one machine, then a resume, then
the dashboard in a real Chromium on the database the demo left behind."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from eas.db import make_engine, make_session_factory
from eas.models import DataProduct, Generation, Job, Replica, Usage
from sdc.composition import server_app
from sdc.settings import Settings
from tests.acceptance import test_dashboard_browser as dashboard
from tests.acceptance.cli import run_sdc_group
from tests.dss_fixtures import serving

browser = dashboard.browser
ARGS = ("demo", "--days", "1", "--sites", "3", "--no-serve")


@dataclass(frozen=True)
class DemoRun:
    """A finished demo: its workspace, what it printed, and its archive."""

    workspace: Path
    stdout: str
    sessions: sessionmaker[Session]

    @property
    def archive_url(self) -> str:
        """The demo's SQLite archive."""
        return f"sqlite:///{self.workspace / 'archive.sqlite'}"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoRun]:
    """One run of the demo with small settings, shared by this module's tests."""
    home = tmp_path_factory.mktemp("demo")
    workspace = home / "demo"
    first = run_sdc_group(*ARGS, "--keep", str(workspace), cwd=home, timeout=600)
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    engine = make_engine(f"sqlite:///{workspace / 'archive.sqlite'}")
    yield DemoRun(workspace, first.stdout, make_session_factory(engine))
    engine.dispose()


def census(sessions: sessionmaker[Session]) -> tuple[dict[str, int], int, int]:
    """Jobs per state, products, replicas."""
    with sessions() as session:
        states = dict(session.execute(select(Job.state, func.count()).group_by(Job.state)).all())
        products = session.scalar(select(func.count()).select_from(DataProduct)) or 0
        replicas = session.scalar(select(func.count()).select_from(Replica)) or 0
    return states, products, replicas


@pytest.mark.slow
def test_demo_runs_end_to_end_and_resumes(demo: DemoRun) -> None:
    out = demo.stdout
    assert "entered maintenance" in out and "failed over" in out
    assert "killed the agent of" in out
    assert "failed jobs" in out and "none" in out
    assert "reader token: sdc_" in out
    assert "dispatch: agents pull over HTTP" in out
    # the plan covers a month ahead and copies far less than round-robin over it
    plan = re.search(
        r"plan: the next 30 days.*?([\d.]+)% with the plan,\s+([\d.]+)% with", out, re.S
    )
    assert plan is not None, out[:2000]
    assert float(plan.group(1)) < float(plan.group(2)) / 2

    states, products, replicas = census(demo.sessions)
    assert set(states) == {"SUCCEEDED"} and states["SUCCEEDED"] > 0
    with demo.sessions() as session:
        calibrated = session.scalar(
            select(func.count(func.distinct(DataProduct.obs_id))).where(
                DataProduct.product_type == "CALIBRATED_FRAME"
            )
        )
        per_obs = session.scalar(
            select(func.count()).where(DataProduct.product_type == "CALIBRATED_FRAME")
        )
    assert calibrated == per_obs  # the killed agent's job left no duplicate product
    ports = json.loads((demo.workspace / "ports.json").read_text())
    assert set(ports) >= {"archive", "SDC-FR"}

    again = run_sdc_group(
        *ARGS, "--keep", str(demo.workspace), cwd=demo.workspace.parent, timeout=600
    )
    assert again.returncode == 0, again.stdout[-3000:] + again.stderr[-3000:]
    assert "resuming" in again.stdout
    assert census(demo.sessions) == (states, products, replicas)  # nothing recomputed


@pytest.mark.slow
@pytest.mark.browser
def test_dashboard_shows_what_the_demo_did(demo: DemoRun, browser: Any, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import Select, WebDriverWait

    token = re.search(r"reader token: (sdc_\S+)", demo.stdout)
    killed = re.search(r"killed the agent of (\S+) \(kill -9\) while it ran job (\d+)", demo.stdout)
    down = re.search(r"(\S+) entered maintenance", demo.stdout)
    assert token and killed and down, demo.stdout[-3000:]
    job_id = int(killed.group(2))
    with demo.sessions() as session:
        made = select(Generation.product_id).where(Generation.job_id == job_id)
        outputs = set(session.scalars(made))
        inputs = set(session.scalars(select(Usage.product_id).where(Usage.job_id == job_id)))
        succeeded = session.scalar(select(func.count()).where(Job.state == "SUCCEEDED"))
        output = session.scalars(
            select(DataProduct.product_id).where(
                DataProduct.product_id.in_(outputs), DataProduct.product_type == "CALIBRATED_FRAME"
            )
        ).one()
        mosaic = session.scalars(
            select(Generation.product_id)
            .join(Usage, Usage.job_id == Generation.job_id)
            .where(Usage.product_id == output)
        ).first()
    assert inputs and mosaic is not None
    driver = browser
    find = driver.find_element
    dashboard.ARTIFACTS.mkdir(exist_ok=True)

    def navigate(action: Any) -> None:
        page = find(By.TAG_NAME, "html")
        action()
        WebDriverWait(driver, 30).until(expected_conditions.staleness_of(page))

    def shot(name: str) -> None:
        driver.save_screenshot(str(dashboard.ARTIFACTS / f"demo-{name}.png"))

    # as `sdc --config WORKSPACE/agent.yaml server` would: the pipelines under their job names
    settings = Settings(
        database_url=demo.archive_url, data_dir=tmp_path, config_file=demo.workspace / "agent.yaml"
    )
    app = server_app(settings)
    with serving(app) as base:
        driver.get(f"{base}/")
        find(By.ID, "token").send_keys(token.group(1))  # the token the demo printed
        navigate(find(By.ID, "login").click)
        sites = find(By.ID, "sites").text
        assert all(site in sites for site in ("SDC-FR", "SDC-IT", "SDC-DE"))
        assert dashboard._pictures_loaded(driver) == []  # the maintenance timeline
        shot("sites")

        navigate(find(By.ID, "nav-placement").click)
        assert "Current plan: version 1" in find(By.TAG_NAME, "body").text
        assert dashboard._pictures_loaded(driver) == []  # sky map, shares over time
        shot("placement")

        navigate(find(By.ID, "nav-jobs").click)
        navigate(lambda: Select(find(By.NAME, "state")).select_by_visible_text("SUCCEEDED"))
        assert f"{succeeded} job(s)" in find(By.ID, "job-count").text
        navigate(find(By.ID, "jobs").find_element(By.LINK_TEXT, str(job_id)).click)
        assert f"Job {job_id}: calibrate" in find(By.ID, "job-title").text
        assert "SUCCEEDED" in find(By.ID, "why").text
        assert find(By.ID, "resources").text  # requested against used
        shot("job")
        navigate(find(By.ID, "pipeline-graph").click)
        assert "split" in find(By.ID, "pipeline-calibrate").text  # the steps it ran
        assert dashboard._pictures_loaded(driver) == []  # the data-flow graphs
        driver.back()

        navigate(find(By.ID, "outputs").find_element(By.LINK_TEXT, output).click)
        assert f"Product {output}" in find(By.ID, "product-title").text
        ancestors, descendants = find(By.ID, "ancestors").text, find(By.ID, "descendants").text
        assert all(raw in ancestors for raw in inputs)
        assert mosaic in descendants
        assert dashboard._pictures_loaded(driver) == []  # the lineage graph
        shot("product")
