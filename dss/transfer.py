"""Transfer decision: whether and from where a site should pull a product, as a plain value.

The loop that performs it (claim, pull, verify, COPYING -> AVAILABLE) is `dss.replication`;
its answer, `TransferResult`, lives here so clients need no archive imports.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import asdict, dataclass
from enum import Enum

from dss.audit import ReplicaState


@dataclass(frozen=True)
class SiteReplica:
    """One replica of a product at one site, with what the archive knows about it."""

    site: str
    state: ReplicaState
    path: str
    cost: float = 1.0  # relative network cost to the destination; lower is better


@dataclass(frozen=True)
class CopyFrom:
    """Pull from this replica."""

    source: SiteReplica


@dataclass(frozen=True)
class AlreadyThere:
    """The destination already has an AVAILABLE replica: nothing to do."""


@dataclass(frozen=True)
class CopyInProgress:
    """Another transfer to the destination is COPYING: do not copy twice, wait for it."""


@dataclass(frozen=True)
class NoSource:
    """No replica can serve as source; `reason` says why."""

    reason: str


TransferDecision = CopyFrom | AlreadyThere | CopyInProgress | NoSource


def choose_source(
    replicas: Iterable[SiteReplica], destination: str, in_maintenance: Collection[str]
) -> TransferDecision:
    """The best source: AVAILABLE, not at the destination, site not in maintenance, cheapest.

    Ties break on site name so every caller picks the same source.
    """
    replicas = list(replicas)
    at_destination = {r.state for r in replicas if r.site == destination}
    if ReplicaState.AVAILABLE in at_destination:
        return AlreadyThere()
    if ReplicaState.COPYING in at_destination:
        return CopyInProgress()
    available = [r for r in replicas if r.state is ReplicaState.AVAILABLE]
    usable = [r for r in available if r.site not in in_maintenance]
    if not usable:
        if available:
            sites = ", ".join(sorted(r.site for r in available))
            return NoSource(f"every AVAILABLE replica is at a site in maintenance ({sites})")
        return NoSource("no AVAILABLE replica anywhere")
    return CopyFrom(min(usable, key=lambda r: (r.cost, r.site)))


class TransferOutcome(Enum):
    """How a transfer request ended well."""

    COPIED = "copied"  # this request copied the bytes
    ALREADY_THERE = "already_there"  # the destination already held an AVAILABLE replica
    COPIED_BY_ANOTHER = "copied_by_another"  # another transfer copied it while this one waited


@dataclass(frozen=True)
class TransferResult:
    """The destination's AVAILABLE replica after a transfer, and how it came to be."""

    outcome: TransferOutcome
    product_id: str
    site: str
    path: str
    replica_id: int
    source: str | None = None  # the site copied from, when this request copied

    def as_json(self) -> dict[str, object]:
        """A JSON-ready mapping (the outcome by value)."""
        return asdict(self) | {"outcome": self.outcome.value}

    @classmethod
    def from_json(cls, raw: dict[str, object]) -> TransferResult:
        """The inverse of `as_json`."""
        return cls(**(raw | {"outcome": TransferOutcome(raw["outcome"])}))  # type: ignore[arg-type]
