"""Checksums kept beside the data: one small JSON sidecar per file under `.dss/checksums/`.

Sidecars rather than extended attributes because xattrs are not kept by every filesystem a
site may use (NFS v3, some overlay and tape-backed filesystems) nor by `cp`/`rsync` without
flags. A sidecar records the size, mtime and inode of the file it describes; when any of them
changed (the file was replaced by hand), the sidecar is stale and the checksums are computed
again from the bytes and kept.
"""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path

from dss.checksums import Checksums, checksums_of_file


class ChecksumSidecars:
    """Reads and writes the sidecars of the files under one root."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def _sidecar(self, path: str) -> Path:
        return self.directory / f"{path}.json"

    def checksums(self, path: str, local: Path) -> tuple[Checksums, int]:
        """The kept checksums and size of `local`, computing and keeping them when stale."""
        status = local.stat()
        kept = self._read(path, status)
        if kept is not None:
            return kept, status.st_size
        computed, size = checksums_of_file(local)
        self.keep(path, local, computed)
        return computed, size

    def keep(self, path: str, local: Path, checksums: Checksums) -> None:
        """Record `checksums` for `local` as it is now (atomically replacing any old sidecar)."""
        status = local.stat()
        record = {
            "size": status.st_size,
            "mtime_ns": status.st_mtime_ns,
            "inode": status.st_ino,
            "adler32": checksums.adler32,
            "md5": checksums.md5,
        }
        target = self._sidecar(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = target.with_name(f".{target.name}.{uuid.uuid4().hex}")
        staging.write_text(json.dumps(record))
        os.replace(staging, target)

    def forget(self, path: str) -> None:
        """Drop the sidecar of a deleted file."""
        self._sidecar(path).unlink(missing_ok=True)

    def _read(self, path: str, status: os.stat_result) -> Checksums | None:
        try:
            record = json.loads(self._sidecar(path).read_text())
        except (OSError, ValueError):
            return None
        current = (status.st_size, status.st_mtime_ns, status.st_ino)
        if (record.get("size"), record.get("mtime_ns"), record.get("inode")) != current:
            return None
        return Checksums(adler32=record["adler32"], md5=record["md5"])
