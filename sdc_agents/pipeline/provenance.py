"""Checksums of files (adler32, as Rucio keeps them) and the provenance hash of a node.

The provenance hash says "same command, same resources, same input contents": when it is
unchanged, `--resume` reuses the node's outputs instead of running it again.
"""

from __future__ import annotations

import hashlib
import os
import zlib
from pathlib import Path

from sdc_agents.pipeline.dsl import ComputingResources

Value = str | list[str]
CHUNK = 1 << 20


MISSING = ("missing", -1)


def adler32_of(path: Path) -> tuple[str, int]:
    """The file's adler32 as 8 lower-case hex digits, and its size in bytes.

    Raises FileNotFoundError when there is no such file, IsADirectoryError for a directory.
    """
    # os.open/os.read, not a buffered file object: that costs four more syscalls per file,
    # and the runner checksums every input and output of every node
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        checksum, size = 1, 0
        while chunk := os.read(fd, CHUNK):
            checksum = zlib.adler32(chunk, checksum)
            size += len(chunk)
    finally:
        os.close(fd)
    return f"{checksum & 0xFFFFFFFF:08x}", size


def files_of(value: Value) -> list[Path]:
    """Every file a value stands for: itself, a directory's files, or a list's members."""
    files: list[Path] = []
    for path in _paths(value):
        if path.is_dir():
            files.extend(_directory_files(path))
        else:
            files.append(path)
    return files


class ChecksumCache:
    """Checksums each file once per run (outputs are read again as the next step's inputs).

    `files()` learns what a path is by opening it (a file is checksummed at once, a
    directory refuses to be read): one open per file instead of a stat and then an open.
    """

    def __init__(self) -> None:
        self._known: dict[Path, tuple[str, int]] = {}
        self._directories: dict[Path, list[Path]] = {}

    def of(self, path: Path) -> tuple[str, int]:
        """(adler32, size) of the file `path`; ("missing", -1) when it does not exist."""
        known = self._known.get(path)
        if known is None:
            try:
                known = adler32_of(path)
            except FileNotFoundError:
                return MISSING
            self._known[path] = known
        return known

    def files(self, value: Value) -> list[Path]:
        """What `files_of` gives, checksumming every file it meets on the way."""
        files: list[Path] = []
        for path in _paths(value):
            listing = self._directories.get(path)
            if listing is None:
                try:
                    self.of(path)
                except IsADirectoryError:
                    listing = self._directories[path] = _directory_files(path)
                else:
                    files.append(path)  # a file, or a missing one (reported as such)
                    continue
            files.extend(listing)
        return files

    def sums(self, value: Value) -> dict[str, str]:
        """adler32 per file of `value` ("missing" for a file that does not exist)."""
        return {str(path): self.of(path)[0] for path in self.files(value)}

    def forget(self, value: Value) -> None:
        """Drop what is known of paths about to be rewritten (a directory: its files too)."""
        for path in _paths(value):
            self._known.pop(path, None)
            for file in self._directories.pop(path, ()):
                self._known.pop(file, None)


def _paths(value: Value) -> list[Path]:
    return [Path(v) for v in value] if isinstance(value, list) else [Path(value)]


def _directory_files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.rglob("*") if p.is_file())


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
