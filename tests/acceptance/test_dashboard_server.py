"""`sdc server` serves the dashboard at `/` beside the API, as an operator would start it."""

from __future__ import annotations

from pathlib import Path

import requests

from tests.acceptance.cli import run_sdc, sdc_server
from tests.archive_support import REPO


def test_sdc_server_serves_the_dashboard_behind_the_login_form(tmp_path: Path) -> None:
    assert run_sdc("archive", "init", cwd=tmp_path).returncode == 0
    sites = REPO / "config" / "sites.yaml"
    assert run_sdc("archive", "load-sites", str(sites), cwd=tmp_path).returncode == 0
    token = run_sdc("archive", "token", "create", "--role", "reader", cwd=tmp_path).stdout.strip()
    with sdc_server(tmp_path, "/login") as base:
        first = requests.get(f"{base}/jobs", allow_redirects=False, timeout=5)
        assert first.status_code == 303 and first.headers["location"] == "/login?next=/jobs"
        browser = requests.Session()
        refused = browser.post(f"{base}/login", data={"token": "sdc_nope"}, timeout=5)
        assert refused.status_code == 401 and "unknown or revoked token" in refused.text
        sites_page = browser.post(f"{base}/login", data={"token": token}, timeout=10)
        assert sites_page.status_code == 200 and sites_page.url == f"{base}/"
        assert sites_page.text.count('data-site="SDC-') == 9
        css = browser.get(f"{base}/static/dashboard.css", timeout=5)
        assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
        # the API beside it still wants its bearer token, not the cookie
        assert browser.get(f"{base}/api/v1/sites", timeout=5).status_code == 401
