"""`sdc agent run` / `status` as a site admin meets them when something is missing."""

from __future__ import annotations

from pathlib import Path

from tests.acceptance.cli import run_sdc, sdc_server
from tests.services import port_open

REPO = Path(__file__).resolve().parents[2]


def test_agent_without_site_or_token_says_which(tmp_path: Path) -> None:
    result = run_sdc("agent", "run", "--once", cwd=tmp_path)
    assert result.returncode == 1 and "needs its site" in result.stderr
    result = run_sdc("agent", "run", "--once", "--site", "SDC-FR", cwd=tmp_path)
    assert result.returncode == 1 and "agent token" in result.stderr


def test_agent_with_unreachable_archive_names_the_url(tmp_path: Path) -> None:
    port = next(p for p in range(59000, 59100) if not port_open("127.0.0.1", p))
    url = f"http://127.0.0.1:{port}"
    result = run_sdc(
        "agent", "run", "--once", "--site", "SDC-FR", "--token", "t", "--archive-url", url,
        cwd=tmp_path, env={"SDC_AGENT__HEARTBEAT_SECONDS": "1"},
    )  # fmt: skip
    assert result.returncode == 1 and f"cannot reach the archive at {url}" in result.stderr


def test_an_archive_url_that_is_no_url_is_named_as_such(tmp_path: Path) -> None:
    for command in (["run", "--once"], ["status"]):
        result = run_sdc(
            "agent", *command, "--site", "SDC-FR", "--token", "t", "--archive-url", "eas-host",
            cwd=tmp_path,
        )  # fmt: skip
        assert result.returncode == 1, result.stderr
        assert "the archive URL 'eas-host' is not an http(s) URL" in result.stderr
        assert "cannot reach" not in result.stderr


def test_unknown_transport_is_refused(tmp_path: Path) -> None:
    result = run_sdc("agent", "run", "--transport", "pigeon", cwd=tmp_path)
    assert result.returncode == 2 and "pigeon" in result.stderr


def test_the_shipped_agent_settings_load(tmp_path: Path) -> None:
    result = run_sdc(
        "--config", str(REPO / "config" / "agent.yaml"), "agent", "status", cwd=tmp_path
    )
    assert result.returncode == 2 and "--token" in result.stderr


def test_a_wrong_token_is_told_from_an_unreachable_archive(tmp_path: Path) -> None:
    """A refused token used to read 'cannot reach the archive at URL: HTTP 401', sending
    the admin to look at the network instead of the token."""
    assert run_sdc("archive", "init", cwd=tmp_path).returncode == 0
    with sdc_server(tmp_path) as base:
        for command in (["run", "--once"], ["status"]):
            result = run_sdc(
                "agent", *command, "--site", "SDC-FR", "--token", "wrong", "--archive-url", base,
                cwd=tmp_path,
            )  # fmt: skip
            assert result.returncode == 1, result.stderr
            assert f"the archive at {base} refused" in result.stderr
            assert "unknown or revoked token" in result.stderr
            assert "cannot reach" not in result.stderr
