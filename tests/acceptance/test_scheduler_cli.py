"""`sdc scheduler` as an operator runs it, on the embedded SQLite archive."""

from __future__ import annotations

from pathlib import Path

from tests.acceptance.cli import run_sdc


def test_scheduler_cycle_jobs_and_why(tmp_path: Path) -> None:
    env = {"SDC_DATA_DIR": str(tmp_path / "data")}
    not_ready = run_sdc("scheduler", "run", "--once", cwd=tmp_path, env=env)
    assert not_ready.returncode == 1 and "sdc archive init" in not_ready.stderr
    assert run_sdc("archive", "init", cwd=tmp_path, env=env).returncode == 0
    cycle = run_sdc("scheduler", "run", "--once", cwd=tmp_path, env=env)
    assert cycle.returncode == 0, cycle.stderr
    assert "created 0 job(s); queued none" in cycle.stdout
    listing = run_sdc("scheduler", "jobs", "--json", cwd=tmp_path, env=env)
    assert listing.returncode == 0 and listing.stdout.strip() == "[]"
    missing = run_sdc("scheduler", "why", "999", cwd=tmp_path, env=env)
    assert missing.returncode == 1 and "no job 999" in missing.stderr
    bad = run_sdc("scheduler", "priority", "1", "lots", cwd=tmp_path, env=env)
    assert bad.returncode == 2 and "integer" in bad.stderr
    bad_state = run_sdc("scheduler", "jobs", "--state", "DONE", cwd=tmp_path, env=env)
    assert bad_state.returncode == 1 and "unknown job state 'DONE'" in bad_state.stderr
