"""Audit: what the storage holds against what the archive says it holds, as a plain value.

The archive's replica catalogue is the truth about what *should* be here; the listing is what
*is* here. The comparison is pure; `sdc dss audit` feeds it both and performs the fixes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import Enum

from dss.backend import FileStat


class ReplicaState(Enum):
    """A replica's life in the archive (Rucio's states); only AVAILABLE is checked on disk."""

    COPYING = "COPYING"
    AVAILABLE = "AVAILABLE"
    BAD = "BAD"
    UNAVAILABLE = "UNAVAILABLE"
    TEMPORARY_UNAVAILABLE = "TEMPORARY_UNAVAILABLE"
    BEING_DELETED = "BEING_DELETED"


@dataclass(frozen=True)
class ExpectedReplica:
    """One replica the archive records at this site (size and adler32 of its product)."""

    path: str
    size: int | None  # None where not needed: only AVAILABLE replicas are checked
    adler32: str | None
    state: ReplicaState


@dataclass(frozen=True)
class AuditReport:
    """Dark: on disk, unknown to the archive. Lost: AVAILABLE but missing. Bad: wrong bytes."""

    dark: tuple[str, ...] = ()
    lost: tuple[str, ...] = ()
    bad_checksum: tuple[str, ...] = ()
    checked: int = 0

    @property
    def clean(self) -> bool:
        """True when storage and archive agree."""
        return not (self.dark or self.lost or self.bad_checksum)


def compare(listing: Iterable[FileStat], expected: Iterable[ExpectedReplica]) -> AuditReport:
    """Sort every path into dark, lost or bad-checksum; COPYING and BAD replicas are known."""
    on_disk = {stat.path: stat for stat in listing}
    known = {replica.path: replica for replica in expected}
    dark = sorted(set(on_disk) - set(known))
    lost: list[str] = []
    bad: list[str] = []
    for path, replica in sorted(known.items()):
        if replica.state is not ReplicaState.AVAILABLE:
            continue  # a copy in flight or an already-condemned replica is not news
        stat = on_disk.get(path)
        if stat is None:
            lost.append(path)
        elif stat.adler32 != replica.adler32 or stat.size != replica.size:
            bad.append(path)
    return AuditReport(tuple(dark), tuple(lost), tuple(bad), checked=len(on_disk | known))


class FixKind(Enum):
    """What `--fix` does about one finding."""

    MARK_BAD = "mark_bad"  # tell the archive the replica is BAD
    QUARANTINE = "quarantine"  # move a dark file under .dss/quarantine/, never delete it


@dataclass(frozen=True)
class Fix:
    """One corrective step."""

    kind: FixKind
    path: str


@dataclass(frozen=True)
class FixPlan:
    """The steps `--fix` performs, in order."""

    steps: tuple[Fix, ...] = field(default_factory=tuple)


def fixes_for(report: AuditReport) -> FixPlan:
    """Lost and bad replicas are marked BAD in the archive; dark files are quarantined."""
    steps = [Fix(FixKind.MARK_BAD, path) for path in (*report.lost, *report.bad_checksum)]
    steps += [Fix(FixKind.QUARANTINE, path) for path in report.dark]
    return FixPlan(tuple(steps))
