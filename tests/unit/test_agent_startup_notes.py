"""What `sdc agent run` tells the site admin as it starts (it used to print nothing)."""

from __future__ import annotations

from pathlib import Path

import pytest

from sdc.commands.agent_daemon import startup_notes
from sdc_agents.agent.config import AgentConfig


def _config(tmp_path: Path, script: Path, dark: str) -> AgentConfig:
    return AgentConfig.model_validate({
        "site": "SDC-FR", "archive_url": "http://eas:8000",
        "pipelines": {"calibrate": {
            "script": str(script), "inputs": {"raw_frames": "@job-input", "master_dark": dark},
            "outputs": {"combined": "CALIBRATED_FRAME"},
        }},
    })  # fmt: skip


def test_a_ready_agent_says_what_it_serves_and_nothing_else(tmp_path: Path) -> None:
    script, dark = tmp_path / "pipeline.py", tmp_path / "dark.fits"
    script.write_text("")
    dark.write_text("")
    notes = startup_notes(_config(tmp_path, script, str(dark)))
    assert notes == ["agent for SDC-FR at http://eas:8000; pipelines: calibrate"]


def test_a_missing_script_or_input_file_is_named_at_start(tmp_path: Path) -> None:
    """The shipped config/agent.yaml names /opt/sdc/... scripts: the agent started without a
    word and every job then failed."""
    notes = startup_notes(_config(tmp_path, tmp_path / "nope.py", str(tmp_path / "dark.fits")))
    assert f"warning: pipeline 'calibrate': no Pipeline Script at {tmp_path / 'nope.py'}" in notes
    assert any("input 'master_dark': no file" in note for note in notes)
    assert not any("raw_frames" in note for note in notes)  # staged per job, not a file


def test_no_pipelines_is_said(tmp_path: Path) -> None:
    notes = startup_notes(AgentConfig.model_validate({"site": "SDC-FR"}))
    assert "pipelines: none (every job would fail)" in notes[0]


def test_slurm_without_sbatch_is_named_at_start(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    script, dark = tmp_path / "pipeline.py", tmp_path / "dark.fits"
    script.write_text("")
    dark.write_text("")
    config = _config(tmp_path, script, str(dark)).model_copy(update={"drm": "slurm"})
    monkeypatch.setenv("PATH", str(tmp_path))  # a machine without Slurm's commands
    assert "warning: drm slurm, but no sbatch on PATH" in startup_notes(config)[-1]
    (tmp_path / "sbatch").write_text("#!/bin/sh\n")
    (tmp_path / "sbatch").chmod(0o755)
    assert len(startup_notes(config)) == 1
