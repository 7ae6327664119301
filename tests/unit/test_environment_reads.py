"""STYLE: no `os.environ` outside the Settings. The code reads the process environment only in
`sdc/settings.py`; everything else gets what it needs passed in (`Settings.environment`,
`rucio.client_config`). The one write left hands rucio-clients its config file."""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PACKAGES = ("eas", "placement", "metascheduler", "sdc_agents", "dss", "sdc", "euclidwf")
ENVIRONMENT = {"environ", "environb", "getenv", "getenvb", "putenv", "unsetenv"}
READER = "sdc/settings.py"
# rucio-clients takes its config file from RUCIO_CONFIG only: it is written, never read
WRITERS = {("dss/rucio_client.py", "_tell_rucio_clients")}


def environment_uses(source: str) -> list[tuple[int, str]]:
    """(line, enclosing function) of each use of the os module's environment in `source`."""
    uses: list[tuple[int, str]] = []

    def visit(node: ast.AST, function: str) -> None:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            function = node.name
        os_attribute = (
            isinstance(node, ast.Attribute)
            and node.attr in ENVIRONMENT
            and isinstance(node.value, ast.Name)
            and node.value.id == "os"
        )
        os_import = (
            isinstance(node, ast.ImportFrom)
            and node.module == "os"
            and any(alias.name in ENVIRONMENT for alias in node.names)
        )
        if os_attribute or os_import:
            uses.append((getattr(node, "lineno", 0), function))
        for child in ast.iter_child_nodes(node):
            visit(child, function)

    visit(ast.parse(source), "")
    return uses


def test_the_detector_sees_reads_writes_and_imports() -> None:
    code = "import os\nfrom os import getenv\ndef f():\n    os.environ['A'] = os.getenv('B')\n"
    assert environment_uses(code) == [(2, ""), (4, "f"), (4, "f")]


def test_only_the_settings_read_the_process_environment() -> None:
    found = []
    for package in PACKAGES:
        for path in sorted((REPO / package).rglob("*.py")):
            name = path.relative_to(REPO).as_posix()
            if name == READER:
                continue
            for line, function in environment_uses(path.read_text()):
                if (name, function) not in WRITERS:
                    found.append(f"{name}:{line} ({function or 'module level'})")
    assert not found, "os.environ outside sdc/settings.py; pass the value in: " + ", ".join(found)
