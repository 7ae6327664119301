"""The archive's replicas at a site against Rucio's at the site's RSE: pure comparison."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

Kind = Literal["archive_only", "rucio_only", "checksum_mismatch"]


@dataclass(frozen=True)
class ArchiveCopy:
    """A product the archive says the site holds (or, with `replica_url` None, only knows)."""

    product_id: str
    adler32: str
    replica_url: str | None
    state: str | None = None


@dataclass(frozen=True)
class RucioCopy:
    """A file replica Rucio lists at the RSE."""

    scope: str
    name: str
    adler32: str | None
    pfn: str | None
    state: str


@dataclass(frozen=True)
class Difference:
    """One product the two catalogues disagree on."""

    kind: Kind
    product_id: str
    scope: str | None
    archive_adler32: str | None
    rucio_adler32: str | None
    detail: str
    fixable: bool = False  # in Rucio only, and a product the archive knows: --fix may add it


@dataclass(frozen=True)
class AuditReport:
    """Every difference found, and how many products agree."""

    site: str
    rse: str
    agreeing: int
    differences: list[Difference] = field(default_factory=list)

    def of_kind(self, kind: Kind) -> list[Difference]:
        """The differences of one kind."""
        return [d for d in self.differences if d.kind == kind]


def compare(
    site: str,
    rse: str,
    archive: Mapping[str, ArchiveCopy],
    rucio: Mapping[str, RucioCopy],
) -> AuditReport:
    """Differences both ways: `archive` holds the site's replicas and, without a replica URL,
    the known products Rucio lists there; `rucio` the replicas at the RSE, by product id."""
    differences: list[Difference] = []
    agreeing = 0
    for product_id in sorted(set(archive) | set(rucio)):
        ours, theirs = archive.get(product_id), rucio.get(product_id)
        held = ours is not None and ours.replica_url is not None
        if ours is not None and held and theirs is None:
            differences.append(
                Difference(
                    "archive_only",
                    product_id,
                    None,
                    ours.adler32,
                    None,
                    f"the archive has a {ours.state} replica at {site}; Rucio has none at {rse} "
                    "(`sdc archive rucio sync` registers it)",
                )
            )
        elif theirs is not None and (ours is None or not held):
            if ours is not None and ours.adler32 != theirs.adler32:
                differences.append(_mismatch(product_id, theirs, ours.adler32))
                continue
            if ours is None:
                why = "the archive does not know this product"
            elif ours.state is None:
                why = f"the archive knows the product but has no replica at {site}"
            else:
                why = f"the archive's replica at {site} is {ours.state}"
            differences.append(
                Difference(
                    "rucio_only",
                    product_id,
                    theirs.scope,
                    ours.adler32 if ours else None,
                    theirs.adler32,
                    f"Rucio has a replica at {rse} ({theirs.state}); {why}",
                    fixable=ours is not None and ours.state is None,
                )
            )
        elif ours is not None and theirs is not None:
            if ours.adler32 != theirs.adler32:
                differences.append(_mismatch(product_id, theirs, ours.adler32))
            else:
                agreeing += 1
    return AuditReport(site, rse, agreeing, differences)


def _mismatch(product_id: str, theirs: RucioCopy, archive_adler32: str) -> Difference:
    return Difference(
        "checksum_mismatch",
        product_id,
        theirs.scope,
        archive_adler32,
        theirs.adler32,
        f"adler32 differs: archive {archive_adler32}, Rucio {theirs.adler32} "
        "(reported only; neither side is overwritten)",
    )
