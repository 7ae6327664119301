"""Run the real `sdc` console script in a subprocess, as a user would."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def run_sdc(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    """Run `sdc ARGS` and return the finished process (stdout/stderr captured as text)."""
    full_env = {**os.environ, "COLUMNS": "200", "NO_COLOR": "1", **(env or {})}
    sdc = Path(sys.executable).with_name("sdc")
    return subprocess.run(
        [str(sdc), *args], cwd=cwd, env=full_env, capture_output=True, text=True, timeout=timeout
    )
