"""Write small Package Definitions and Pipeline Scripts for the runner's tests."""

from __future__ import annotations

import subprocess
import textwrap
from pathlib import Path

# A command that writes each `--out_*=path` it is given; behaviour chosen by env-free flags
# in its own name so the scripts stay tiny: `fail` exits 3, `lazy` writes nothing,
# `sleepy` sleeps 30 s.
STEP = """\
#!/usr/bin/env python3
import sys, time, pathlib
name = pathlib.Path(sys.argv[0]).stem
args = dict(a[2:].split("=", 1) for a in sys.argv[1:])
if name == "fail":
    print("something broke in fail", file=sys.stderr)
    sys.exit(3)
if name == "sleepy":
    time.sleep(30)
if name != "lazy":
    for port, path in args.items():
        if port.startswith("out"):
            pathlib.Path(path).write_text(" ".join(sorted(args)))
"""


def write_steps(directory: Path, *names: str) -> None:
    """Write the test command under each name in `directory/bin/`."""
    (directory / "bin").mkdir(parents=True, exist_ok=True)
    for name in names:
        (directory / "bin" / f"{name}.py").write_text(STEP)


def write_script(directory: Path, body: str, name: str = "pipe.py") -> Path:
    """Write a Pipeline Script (dedented) and return its path."""
    path = directory / name
    path.write_text(textwrap.dedent(body))
    return path


def write_inputs(directory: Path, **files: str) -> Path:
    """Create each named input file with some content and an inputs.yaml naming them."""
    lines = []
    for name, content in files.items():
        (directory / f"{name}.txt").write_text(content)
        lines.append(f"{name}: {name}.txt")
    path = directory / "inputs.yaml"
    path.write_text("\n".join(lines) + "\n")
    return path


def run_pipeline(
    script: Path, inputs: Path, workdir: Path, *extra: str
) -> subprocess.CompletedProcess[str]:
    """`sdc agent pipeline run SCRIPT --inputs INPUTS --workdir WORKDIR EXTRA...`."""
    from tests.acceptance.cli import run_sdc

    return run_sdc(
        "agent",
        "pipeline",
        "run",
        str(script),
        "--inputs",
        str(inputs),
        "--workdir",
        str(workdir),
        *extra,
    )
