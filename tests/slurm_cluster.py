"""The single-node Slurm cluster for tests: used if it runs, started if it can be, else skipped."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.services import require

RECIPE = Path(__file__).with_name("slurm-single-node.sh")


def slurm_is_up() -> bool:
    """True when this machine's Slurm node accepts jobs (not down, drained or failing)."""
    if shutil.which("sinfo") is None:
        return False
    done = subprocess.run(
        ["sinfo", "-h", "-o", "%T"], capture_output=True, text=True, timeout=30, check=False
    )
    # "completing" counts: a cancelled job keeps the node so for KillWait seconds
    states = [s.strip() for s in done.stdout.splitlines() if s.strip()]
    return done.returncode == 0 and any(
        not s.endswith("*") and not s.startswith(("down", "drain", "fail", "unk")) for s in states
    )


@pytest.fixture(scope="session")
def slurm_cluster() -> Iterator[None]:
    """A usable Slurm; starts it with the recipe (as root) when it is not running."""
    reason = "Slurm is not running and could not be started"
    if not slurm_is_up() and shutil.which("apt-get") and Path("/etc").is_dir():
        started = subprocess.run(
            ["bash", str(RECIPE), "start"], capture_output=True, text=True, timeout=600, check=False
        )
        if started.returncode != 0:
            reason = f"{reason}: {started.stderr.strip()[-300:]}"
    require(slurm_is_up(), reason)
    yield
