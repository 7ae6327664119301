"""Parse the runner's command-line convention `--port=path ... --workdir=DIR --logdir=DIR`."""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def parse_ports(inputs: list[str], outputs: list[str]) -> dict[str, Path]:
    """Port name -> path for every declared port, plus `workdir` and `logdir`."""
    parser = argparse.ArgumentParser()
    for port in [*inputs, *outputs, "workdir", "logdir"]:
        parser.add_argument(f"--{port}", required=True, type=Path)
    return vars(parser.parse_args())


def read_list_file(path: Path) -> list[Path]:
    """The paths in a JSON list file written by the runner (relative ones are beside it)."""
    return [path.parent / p for p in json.loads(path.read_text())]
