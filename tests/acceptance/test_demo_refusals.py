"""`sdc demo` refusing what it cannot use, before anything starts (no demo is run)."""

from __future__ import annotations

from pathlib import Path

from tests.acceptance.cli import run_sdc


def test_a_keep_directory_that_cannot_be_made_is_named(tmp_path: Path) -> None:
    """`--keep` under a file printed a Python traceback."""
    a_file = tmp_path / "a-file"
    a_file.write_text("")
    result = run_sdc("demo", "--keep", str(a_file / "workspace"), "--no-serve", cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    assert "--keep" in result.stderr and "cannot make the workspace" in result.stderr
    assert "Traceback" not in result.stderr
