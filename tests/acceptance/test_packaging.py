"""What a non-editable install (`pip install .`, a wheel) carries besides the code: the example
configuration that `sdc demo` needs."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from sdc.demo.run import EXAMPLE_CONFIGS, example_config

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = ("sites.yaml", "maintenance.yaml", "agent.yaml")
PACKAGES = ("eas", "placement", "metascheduler", "sdc_agents", "dss", "sdc", "euclidwf")


def source_copy(target: Path) -> Path:
    """What a wheel is built from, copied (setuptools builds in the source tree: build/)."""
    target.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, target / name)
    skipped = shutil.ignore_patterns("__pycache__")
    for folder in ("config", *PACKAGES):
        shutil.copytree(REPO / folder, target / folder, ignore=skipped)
    return target


def test_a_wheel_carries_the_example_config_where_the_demo_looks(tmp_path: Path) -> None:
    source = source_copy(tmp_path / "source")
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(tmp_path), str(source)],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert built.returncode == 0, built.stderr[-2000:]
    (wheel,) = tmp_path.glob("*.whl")
    prefix = tmp_path / "prefix"
    with zipfile.ZipFile(wheel) as archive:
        for name in archive.namelist():  # what pip puts under <prefix> on install
            if ".data/data/" in name:
                archive.extract(name, tmp_path / "unpacked")
                target = prefix / name.split(".data/data/", 1)[1]
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes((tmp_path / "unpacked" / name).read_bytes())
    installed = prefix / "share" / "sdc" / "config"
    for name in EXAMPLES:
        assert (installed / name).read_bytes() == (REPO / "config" / name).read_bytes()
    no_checkout = tmp_path / "site-packages" / "config"
    assert example_config("sites.yaml", (no_checkout, installed)) == installed / "sites.yaml"
    assert example_config("sites.yaml", (no_checkout,)) is None
    # the demo looks in the checkout first, then where an install puts the files
    assert EXAMPLE_CONFIGS[0] == REPO / "config"
    assert EXAMPLE_CONFIGS[1].parts[-3:] == ("share", "sdc", "config")
