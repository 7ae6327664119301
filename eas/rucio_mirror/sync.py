"""What a sync must do, decided from the archive's products and what Rucio already has.

Pure: `plan_sync` compares and returns a `SyncPlan`; `eas.rucio_mirror.rucio_io` performs it
in batches. Nothing already in Rucio is rewritten: a file whose Rucio checksum differs from
the archive's is a mismatch to report, never overwritten.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from eas.rucio_mirror.naming import ProductRecord, datasets_of

Did = tuple[str, str]  # (scope, name)
T = TypeVar("T")


@dataclass(frozen=True)
class ReplicaSeen:
    """A file replica Rucio has at the RSE: its catalogue checksum and parent datasets."""

    adler32: str | None
    parents: frozenset[Did] = frozenset()


@dataclass(frozen=True)
class RucioState:
    """What Rucio has of the products being synced: their replicas at the RSE, the datasets."""

    replicas: dict[Did, ReplicaSeen] = field(default_factory=dict)
    datasets: frozenset[Did] = frozenset()


@dataclass(frozen=True)
class Mismatch:
    """A product Rucio holds with another adler32 than the archive's."""

    product: ProductRecord
    rucio_adler32: str | None


@dataclass(frozen=True)
class SyncPlan:
    """The registrations a sync makes; empty when Rucio already mirrors the archive.

    A product Rucio already has but not in all its datasets (stored by a Rucio-backed DSS,
    or left by an interrupted sync) gets its metadata set again (`meta_updates`) before it
    is attached."""

    new_datasets: list[Did]
    new_replicas: list[ProductRecord]
    attachments: dict[Did, list[Did]]
    meta_updates: list[ProductRecord]
    mismatches: list[Mismatch]
    in_place: int

    @property
    def attached_files(self) -> int:
        """How many file-to-dataset attachments the plan adds."""
        return sum(len(files) for files in self.attachments.values())

    @property
    def changes(self) -> int:
        """Datasets, replicas, attachments and metadata updates to make (0: nothing to do)."""
        return (
            len(self.new_datasets)
            + len(self.new_replicas)
            + self.attached_files
            + len(self.meta_updates)
        )


def plan_sync(products: Iterable[ProductRecord], state: RucioState) -> SyncPlan:
    """Compare the archive's products at a site with Rucio's state at the site's RSE."""
    new_datasets: set[Did] = set()
    new_replicas: list[ProductRecord] = []
    attachments: dict[Did, list[Did]] = {}
    meta_updates: list[ProductRecord] = []
    mismatches: list[Mismatch] = []
    in_place = 0
    for product in products:
        did = (product.scope, product.product_id)
        seen = state.replicas.get(did)
        if seen is not None and seen.adler32 != product.adler32:
            mismatches.append(Mismatch(product, seen.adler32))
            continue
        parents = seen.parents if seen is not None else frozenset()
        missing = [ds for ds in datasets_of(product) if ds not in parents]
        if seen is None:
            new_replicas.append(product)
        elif not missing:
            in_place += 1
            continue
        else:
            meta_updates.append(product)
        for dataset in missing:
            if dataset not in state.datasets:
                new_datasets.add(dataset)
            attachments.setdefault(dataset, []).append(did)
    return SyncPlan(
        new_datasets=sorted(new_datasets),
        new_replicas=new_replicas,
        attachments=attachments,
        meta_updates=meta_updates,
        mismatches=mismatches,
        in_place=in_place,
    )


def batched(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    """`items` in consecutive slices of at most `size`."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def attachment_batches(
    attachments: Mapping[Did, Sequence[T]], size: int
) -> Iterator[list[tuple[Did, list[T]]]]:
    """Attachments grouped so that one call carries at most `size` files, datasets in name
    order within and across calls (two calls at once then wait on a shared dataset rather
    than deadlock on two)."""
    batch: list[tuple[Did, list[T]]] = []
    count = 0
    for dataset, files in sorted(attachments.items()):
        for chunk in batched(files, size):
            if count + len(chunk) > size and batch:
                yield batch
                batch, count = [], 0
            batch.append((dataset, list(chunk)))
            count += len(chunk)
    if batch:
        yield batch
