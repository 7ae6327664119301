"""The `sdc` front door: every area is listed, bad configuration is refused clearly."""

from __future__ import annotations

import importlib
from pathlib import Path

from tests.acceptance.cli import run_sdc


def test_help_lists_every_area() -> None:
    result = run_sdc("--help")
    assert result.returncode == 0
    for area in ("archive", "dss", "placement", "scheduler", "agent", "demo", "server"):
        assert area in result.stdout


def test_malformed_config_file_is_named(tmp_path: Path) -> None:
    bad = tmp_path / "settings.yaml"
    bad.write_text("data_dir: [unclosed\n")
    result = run_sdc("--config", str(bad), "archive", "--help")
    # --help short-circuits before the callback; a real command must reach it
    result = run_sdc("--config", str(bad), "demo")
    assert result.returncode == 1
    assert "malformed YAML" in result.stderr
    assert str(bad) in result.stderr


def test_unknown_setting_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "settings.yaml"
    bad.write_text("no_such_setting: 1\n")
    result = run_sdc("--config", str(bad), "demo")
    assert result.returncode == 1
    assert "no_such_setting" in result.stderr


def test_every_command_has_a_one_line_summary_in_its_area_help() -> None:
    """A summary running over lines broke mid-sentence in the command list
    ('sdc placement --help' showed "(its survey's new observations")."""
    import typer.main

    from sdc.cli import AREAS

    for module, _help in AREAS.values():
        group = typer.main.get_group(importlib.import_module(module).app)
        for name, command in group.commands.items():
            summary = (command.help or "").strip().split("\n\n")[0]
            assert summary and "\n" not in summary, f"{module} {name}: {summary!r}"


def test_an_output_place_that_cannot_be_written_is_named(tmp_path: Path) -> None:
    """--out under a file, or a data_dir that cannot be made, ended in tracebacks."""
    a_file = tmp_path / "a-file"
    a_file.write_text("")
    survey = run_sdc("placement", "generate-survey", "--days", "1", "--out", str(a_file / "s"))
    assert survey.returncode == 1 and f"{a_file / 's'}: Not a directory" in survey.stderr
    init = run_sdc("archive", "init", env={"SDC_DATA_DIR": str(a_file / "data")})
    assert init.returncode == 1 and str(a_file / "data") in init.stderr
    solve = run_sdc(
        "placement", "solve", "--survey", str(tmp_path), "--out", str(a_file / "plan.json")
    )
    assert solve.returncode == 1 and "no directory" in solve.stderr
    for result in (survey, init, solve):
        assert "Traceback" not in result.stderr


def test_an_error_message_is_shown_with_its_brackets(tmp_path: Path) -> None:
    """Rich took "[draft]" in a file name (or "[database]", a pydantic "[type=...]") for markup
    and dropped it from the error ("plan.yaml: cannot read")."""
    result = run_sdc("--config", str(tmp_path / "plan[draft].yaml"), "archive", "sites")
    assert result.returncode == 1
    assert f"{tmp_path / 'plan[draft].yaml'}: cannot read" in result.stderr


def test_a_bad_setting_names_its_variable_and_never_its_value(tmp_path: Path) -> None:
    result = run_sdc("archive", "sites", cwd=tmp_path, env={"SDC_SERVER__PORT": "hunter2"})
    assert result.returncode == 1
    assert "server.port (SDC_SERVER__PORT): Input should be a valid integer" in result.stderr
    assert "hunter2" not in result.stderr
    for url, complaint in (
        ("mysql://u:hunter2@db/archive", "the archive runs on PostgreSQL or SQLite, not 'mysql'"),
        ("hunter2", "not a database URL"),
    ):
        result = run_sdc("archive", "init", cwd=tmp_path, env={"SDC_DATABASE_URL": url})
        assert result.returncode == 1, result.stderr
        assert f"database_url (SDC_DATABASE_URL): {complaint}" in result.stderr
        assert "hunter2" not in result.stderr and "Traceback" not in result.stderr
    assert list(tmp_path.iterdir()) == []  # nothing made
