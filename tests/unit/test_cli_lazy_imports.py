"""`sdc` imports an area only when one of its commands runs (each CLI call is a new process)."""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("sqlalchemy", "fastapi", "astropy", "ortools", "matplotlib", "numpy", "celery")


def _imported_after(code: str) -> list[str]:
    probe = f"{code}\nimport sys\nprint(' '.join(m for m in {HEAVY!r} if m in sys.modules))"
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120
    )
    return done.stdout.split()


def test_importing_the_cli_imports_no_area() -> None:
    assert _imported_after("import sdc.cli") == []


def test_sdc_help_lists_every_area_without_importing_it() -> None:
    code = (
        "from typer.testing import CliRunner\n"
        "from sdc.cli import app\n"
        "result = CliRunner().invoke(app, ['--help'])\n"
        "assert result.exit_code == 0, result.output\n"
        "assert all(a in result.output for a in ('archive', 'dss', 'placement', 'scheduler',"
        " 'agent', 'demo', 'server')), result.output"
    )
    assert _imported_after(code) == []


def test_the_settings_and_the_dss_app_import_no_database() -> None:
    # `sdc dss serve` runs next to the storage with the least memory it can (docs/dss.md)
    code = "from sdc.settings import Settings\nfrom dss.server import create_app\nSettings()"
    assert "sqlalchemy" not in _imported_after(code)
