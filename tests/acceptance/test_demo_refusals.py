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


def test_an_unreachable_broker_is_an_error_and_its_password_is_not_printed(
    tmp_path: Path,
) -> None:
    """It exited 2 (usage) and printed the broker URL with its password."""
    result = run_sdc(
        "demo", "--transport", "celery", "--broker-url", "amqp://sdc:s3cret@127.0.0.1:1//",
        "--no-serve", cwd=tmp_path, env={"TMPDIR": str(tmp_path)},
    )  # fmt: skip
    assert result.returncode == 1, result.stderr
    assert "cannot reach the Celery broker at amqp://sdc:**@127.0.0.1:1//" in result.stderr
    assert "s3cret" not in result.stderr + result.stdout
    assert list(tmp_path.iterdir()) == []  # no workspace was left behind
