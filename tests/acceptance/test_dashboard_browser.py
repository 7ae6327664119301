"""The dashboard in a real headless Chromium, against `sdc server`'s app under uvicorn.

Screenshots of every page land in test-artifacts/ (gitignored); with
SDC_DOCS_SCREENSHOT=1 the sites page is also saved as docs/dashboard.png for the README.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from eas.db import make_engine, make_session_factory
from sdc.composition import server_app
from sdc.settings import Settings
from tests import archive_support
from tests.dashboard_support import Seeded, seed_operations
from tests.dss_fixtures import serving
from tests.services import require

sqlite_template = archive_support.sqlite_template

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
ARTIFACTS = archive_support.REPO / "test-artifacts"
DOCS_SCREENSHOT = archive_support.REPO / "docs" / "dashboard.png"
# Flags that work as root on this kind of machine, with nothing fetched from the network.
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1280,1000",
)

pytestmark = pytest.mark.browser


@pytest.fixture
def archive(sqlite_template: Path, tmp_path: Path) -> Iterator[tuple[str, Seeded]]:
    """A seeded SQLite archive: its URL and what it holds."""
    path = tmp_path / "archive.sqlite"
    shutil.copy(sqlite_template, path)
    url = f"sqlite:///{path}"
    engine = make_engine(url)
    sessions: sessionmaker[Session] = make_session_factory(engine)
    seeded = seed_operations(sessions, tmp_path)
    engine.dispose()
    yield url, seeded


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[Any]:
    """A headless Chromium driven through Debian's chromedriver."""
    require(
        CHROMIUM.exists() and CHROMEDRIVER.exists(),
        f"needs {CHROMIUM} and {CHROMEDRIVER} (apt-get install chromium chromium-driver)",
    )
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for flag in (*FLAGS, f"--user-data-dir={tmp_path / 'chromium-profile'}"):
        options.add_argument(flag)
    driver = webdriver.Chrome(options=options, service=Service(str(CHROMEDRIVER)))
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


def _pictures_loaded(driver: Any) -> list[str]:
    """Sources of the page's images that did not load (empty when all did)."""
    broken: list[str] = driver.execute_script(
        "return [...document.images].filter(i => !(i.complete && i.naturalWidth > 0))"
        ".map(i => i.src);"
    )
    return broken


def test_log_in_open_every_page_and_follow_a_job_to_its_lineage(
    archive: tuple[str, Seeded], browser: Any, tmp_path: Path
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import Select, WebDriverWait

    url, seeded = archive
    driver = browser
    ARTIFACTS.mkdir(exist_ok=True)

    def shot(name: str) -> None:
        driver.save_screenshot(str(ARTIFACTS / f"dashboard-{name}.png"))

    def text() -> str:
        return str(driver.find_element(By.TAG_NAME, "body").text)

    find = driver.find_element

    def navigate(action: Any) -> None:
        """Do `action` (a click, a choice) and wait until the browser shows the next page."""
        page = find(By.TAG_NAME, "html")
        action()
        WebDriverWait(driver, 30).until(expected_conditions.staleness_of(page))

    app = server_app(Settings(database_url=url, data_dir=tmp_path))
    with serving(app) as base:
        driver.get(f"{base}/jobs")
        assert driver.current_url.startswith(f"{base}/login?next=/jobs")
        find(By.ID, "token").send_keys("sdc_wrong")
        navigate(find(By.ID, "login").click)
        assert "unknown or revoked token" in find(By.ID, "login-error").text
        shot("login")
        find(By.ID, "token").send_keys(seeded.tokens["reader"])
        navigate(find(By.ID, "login").click)
        assert driver.current_url == f"{base}/jobs"

        navigate(find(By.ID, "nav-sites").click)
        sites = find(By.ID, "sites").text
        assert "SDC-DE" in sites and "in maintenance" in sites and "disk upgrade" in sites
        assert _pictures_loaded(driver) == []
        shot("sites")
        if os.environ.get("SDC_DOCS_SCREENSHOT") == "1":
            shutil.copy(ARTIFACTS / "dashboard-sites.png", DOCS_SCREENSHOT)

        navigate(find(By.ID, "nav-placement").click)
        assert "Current plan: version 2" in text()
        assert _pictures_loaded(driver) == []
        navigate(find(By.ID, "diff-button").click)
        assert "13 changed, 0 unchanged." in find(By.ID, "diff-summary").text
        shot("placement")

        navigate(find(By.ID, "nav-jobs").click)
        # The page's script submits the filter as soon as a choice changes.
        navigate(lambda: Select(find(By.NAME, "state")).select_by_visible_text("QUEUED"))
        assert "state=QUEUED" in driver.current_url
        assert "1 job(s)" in find(By.ID, "job-count").text
        navigate(lambda: Select(find(By.NAME, "state")).select_by_visible_text("SUCCEEDED"))
        shot("jobs")
        navigate(find(By.LINK_TEXT, str(seeded.calibrate_job)).click)
        assert f"Job {seeded.calibrate_job}: calibrate" in find(By.ID, "job-title").text
        assert "calibration done" in find(By.ID, "log-tail").text
        assert "is SUCCEEDED" in find(By.ID, "why").text
        shot("job")

        navigate(find(By.ID, "outputs").find_element(By.LINK_TEXT, seeded.calibrated).click)
        assert f"Product {seeded.calibrated}" in find(By.ID, "product-title").text
        assert seeded.raw in find(By.ID, "ancestors").text
        assert seeded.mosaic in find(By.ID, "descendants").text
        assert _pictures_loaded(driver) == []  # the lineage graph
        shot("product")
        navigate(find(By.ID, "ancestors").find_element(By.LINK_TEXT, seeded.raw).click)
        assert f"Product {seeded.raw}" in find(By.ID, "product-title").text

        navigate(find(By.ID, "nav-products").click)
        find(By.NAME, "tile").send_keys("100")
        navigate(find(By.ID, "search").click)
        assert seeded.mosaic in find(By.ID, "results").text
        assert seeded.raw not in find(By.ID, "results").text

        navigate(find(By.ID, "nav-pipelines").click)
        assert "example_pipeline" in text() and "mosaic_pipeline" in text()
        assert _pictures_loaded(driver) == []
        shot("pipelines")

        navigate(find(By.ID, "logout").click)
        assert driver.current_url == f"{base}/login"
        driver.get(f"{base}/")
        assert "/login" in driver.current_url
