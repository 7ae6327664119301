"""Run-time fan-out: the items a @parallel call iterates over, and its template repeated per item.

Items come from whatever the upstream step actually produced: a directory (its files,
sorted by name), a JSON list file (`["a.fits", ...]`, relative paths beside the file) or a
list value (a gathered result or a list in inputs.yaml).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from sdc_agents.pipeline.graph import FanOut, Invocation
from sdc_agents.pipeline.provenance import Value


class FanOutError(ValueError):
    """The value a @parallel call iterates over is not a list of items."""


def items_of(value: Value) -> list[str]:
    """The items in `value`: list members, a directory's files, or a JSON list file's entries."""
    if isinstance(value, list):
        return value
    path = Path(value)
    if path.is_dir():
        return [str(p) for p in sorted(path.iterdir()) if not p.name.startswith(".")]
    try:
        entries = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise FanOutError(f"{path}: neither a directory nor a JSON list file ({exc})") from None
    if not isinstance(entries, list) or not all(isinstance(e, str) for e in entries):
        raise FanOutError(f"{path}: a list file must hold a JSON list of paths")
    return [str(path.parent / e) for e in entries]


@dataclass(slots=True)
class Expansion:
    """A fan-out's concrete invocations, its item values and each gathered list's members."""

    invocations: list[Invocation]
    item_values: dict[str, str]
    gathered: dict[str, list[str]]


def expand(fanout: FanOut, items: list[str]) -> Expansion:
    """Instance i of the template gets node ids `block[i]/step` and reads item i."""
    block = fanout.block_id
    cut = len(block)
    local = f"{block}/"
    item_tail = fanout.item_ref[cut:]
    # what each template node's ids and references become, worked out once, not per item
    plans = [
        (
            template.node_id[cut:],
            template.executable,
            [
                (p, r[cut:], True) if r.startswith(local) else (p, r, False)
                for p, r in template.inputs.items()
            ],
            [(p, r[cut:]) for p, r in template.outputs.items()],
            template.site,
        )
        for template in fanout.template
    ]
    invocations: list[Invocation] = []
    add = invocations.append
    item_values: dict[str, str] = {}
    for i, item in enumerate(items):
        prefix = f"{block}[{i}]"
        item_values[prefix + item_tail] = item
        for tail, executable, inputs, outputs, site in plans:
            add(
                Invocation(
                    prefix + tail,
                    executable,
                    {p: prefix + r if renamed else r for p, r, renamed in inputs},
                    {p: prefix + r for p, r in outputs},
                    site,
                )
            )
    gathered = {
        result: [f"{block}[{i}]{ref[cut:]}" for i in range(len(items))]
        for ref, result in fanout.results
    }
    return Expansion(invocations, item_values, gathered)
