"""Read inputs.yaml: pipeline input name -> a file, a directory or a list of files."""

from __future__ import annotations

from pathlib import Path

import yaml

from sdc_agents.pipeline.errors import CallSite, PipelineInputError
from sdc_agents.pipeline.provenance import Value


def load_inputs(path: Path, expected: list[str]) -> dict[str, Value]:
    """The pipeline's inputs with absolute paths, every one checked to exist.

    Relative paths are relative to the inputs file. Errors name the file, line and input.
    """
    try:
        text = path.read_text()
    except OSError as exc:
        raise PipelineInputError(f"{path}: cannot read the inputs file: {exc.strerror}") from None
    try:
        # libyaml when present: an inputs file can list thousands of files
        root = yaml.compose(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError as exc:
        raise PipelineInputError(f"{path}: malformed YAML: {exc}") from None
    if not isinstance(root, yaml.MappingNode):
        raise PipelineInputError("expected a mapping of input name to path", CallSite(str(path), 1))
    given: dict[str, Value] = {}
    for key, node in root.value:
        site = CallSite(str(path), key.start_mark.line + 1)
        name = key.value
        if name not in expected:
            raise PipelineInputError(
                f"{name!r} is not an input of the pipeline (inputs: {expected})", site, name
            )
        given[name] = _paths(node, path.parent, site, name)
    missing = [name for name in expected if name not in given]
    if missing:
        raise PipelineInputError(
            f"no value for pipeline input(s) {missing}", CallSite(str(path), 1), missing[0]
        )
    return given


def _paths(node: yaml.Node, base: Path, site: CallSite, name: str) -> Value:
    if isinstance(node, yaml.ScalarNode):
        return _existing(node.value, base, site, name)
    if isinstance(node, yaml.SequenceNode) and all(
        isinstance(n, yaml.ScalarNode) for n in node.value
    ):
        return [
            _existing(n.value, base, CallSite(site.file, n.start_mark.line + 1), name)
            for n in node.value
        ]
    raise PipelineInputError(f"input {name!r} must be a path or a list of paths", site, name)


def _existing(text: str, base: Path, site: CallSite, name: str) -> str:
    path = (base / text).resolve()
    if not path.exists():
        raise PipelineInputError(f"input {name!r}: file not found: {path}", site, name)
    return str(path)
