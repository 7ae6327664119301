"""The Celery transport's command-line switches refuse what cannot work, with exit 2."""

from __future__ import annotations

from pathlib import Path

from tests.acceptance.cli import run_sdc


def test_transport_choices_are_checked(tmp_path: Path) -> None:
    once = run_sdc("agent", "run", "--transport", "celery", "--once", cwd=tmp_path)
    assert once.returncode == 2 and "--once" in once.stderr and "http" in once.stderr
    scheduler = run_sdc("scheduler", "run", "--transport", "pigeon", cwd=tmp_path)
    assert scheduler.returncode == 2 and "unknown transport 'pigeon'" in scheduler.stderr
