"""Checksums of files (adler32, as Rucio keeps them) and the provenance hash of a node.

The provenance hash says "same command, same resources, same input contents": when it is
unchanged, `--resume` reuses the node's outputs instead of running it again.
"""

from __future__ import annotations

import hashlib
import zlib
from pathlib import Path

from sdc_agents.pipeline.dsl import ComputingResources

Value = str | list[str]
CHUNK = 1 << 20


def adler32_of(path: Path) -> tuple[str, int]:
    """The file's adler32 as 8 lower-case hex digits, and its size in bytes."""
    checksum, size = 1, 0
    with open(path, "rb") as stream:
        while chunk := stream.read(CHUNK):
            checksum = zlib.adler32(chunk, checksum)
            size += len(chunk)
    return f"{checksum & 0xFFFFFFFF:08x}", size


def files_of(value: Value) -> list[Path]:
    """Every file a value stands for: itself, a directory's files, or a list's members."""
    paths = [Path(v) for v in value] if isinstance(value, list) else [Path(value)]
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted(p for p in path.rglob("*") if p.is_file()))
        else:
            files.append(path)
    return files


class ChecksumCache:
    """Checksums each file once per run (outputs are read again as the next step's inputs)."""

    def __init__(self) -> None:
        self._known: dict[Path, tuple[str, int]] = {}

    def of(self, path: Path) -> tuple[str, int]:
        """(adler32, size) of `path`; ("missing", -1) when it does not exist."""
        known = self._known.get(path)
        if known is None:
            try:
                known = adler32_of(path)
            except FileNotFoundError:
                return ("missing", -1)
            self._known[path] = known
        return known

    def forget(self, path: Path) -> None:
        """Drop a path about to be rewritten."""
        self._known.pop(path, None)


def provenance_hash(
    command: str,
    resources: ComputingResources,
    input_files: dict[str, list[Path]],
    outputs: list[str],
    checksums: ChecksumCache,
) -> str:
    """A sha256 over the command, resources, output ports and every input file's content."""
    # plain text rather than JSON: this runs once per node, so it is kept cheap
    digest = hashlib.sha256(f"{command}\n{resources!r}\n{sorted(outputs)}\n".encode())
    for port in sorted(input_files):
        sums = ",".join(checksums.of(f)[0] for f in input_files[port])
        digest.update(f"{port}={sums}\n".encode())
    return digest.hexdigest()
