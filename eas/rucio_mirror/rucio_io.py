"""The Rucio side of the mirror: read what Rucio has, register in batches, read a file back.

Thin on purpose: the decisions are in `sync.py` and `audit.py`. Every write is a bulk call of
at most `BATCH` items (`add_dids`, `add_replicas`, `attach_dids_to_dids`), never one per file.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from dss.checksums import checksums_of_file
from eas.rucio_mirror.audit import RucioCopy
from eas.rucio_mirror.naming import ProductRecord, dataset_meta, file_meta
from eas.rucio_mirror.sync import (
    Did,
    ReplicaSeen,
    RucioState,
    SyncPlan,
    attachment_batches,
    attachments_by_batch,
    batched,
)

BATCH = 1000
# Rucio sorts replicas by "geoip" unless told otherwise, looking up (and trying to fetch) a
# GeoIP database for every file: ten times slower here. Order does not matter to us.
SORT = "random"
Advance = Callable[[int], None]


def _parent(text: str) -> Did:
    scope, _, name = text.partition(":")
    return scope, name


def read_state(client: Any, rse: str, products: Sequence[ProductRecord]) -> RucioState:
    """Rucio's replicas of `products` at `rse` (checksum, parent datasets) and the datasets
    of their scopes: one bulk listing per 1,000 files and one per scope."""
    replicas: dict[Did, ReplicaSeen] = {}
    for chunk in batched(products, BATCH):
        dids = [{"scope": p.scope, "name": p.product_id} for p in chunk]
        for found in client.list_replicas(
            dids, rse_expression=rse, all_states=True, resolve_parents=True, sort=SORT
        ):
            if rse not in found.get("states", {}):
                continue
            parents = frozenset(_parent(p) for p in found.get("parents") or [])
            replicas[(found["scope"], found["name"])] = ReplicaSeen(found.get("adler32"), parents)
    datasets: set[Did] = set()
    for scope in sorted({p.scope for p in products}):
        datasets.update((scope, name) for name in client.list_dids(scope, {}, did_type="dataset"))
    return RucioState(replicas, frozenset(datasets))


def _file(product: ProductRecord) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "scope": product.scope,
        "name": product.product_id,
        "bytes": product.size_bytes,
        "adler32": product.adler32,
        "meta": file_meta(product),
    }
    if product.md5:
        spec["md5"] = product.md5
    return spec


def apply_sync(client: Any, rse: str, plan: SyncPlan, advance: Advance) -> None:
    """Register `plan` in Rucio in bulk calls, `advance(n)` after each with its item count.

    Two lanes: this thread registers the replicas (`add_replicas`, 1,000 files a call)
    while a second creates the datasets and then attaches each batch of files once it is
    registered; Rucio's server answers both at once, so the collections cost little more
    than the registrations themselves. The first failure stops both and is raised."""
    split = attachments_by_batch(plan, BATCH)
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="rucio-collections") as lane:
        pending: list[Future[None]] = [
            lane.submit(_add_datasets, client, plan.new_datasets, advance)
        ]
        try:
            for index, products in enumerate(batched(plan.new_replicas, BATCH)):
                _raise_first_failure(pending)
                client.add_replicas(rse=rse, files=[_file(p) for p in products])
                advance(len(products))
                pending.append(lane.submit(_attach, client, split[index], advance))
            pending.append(lane.submit(_attach, client, split[-1], advance))
        except BaseException:
            for future in pending:
                future.cancel()
            raise
    for future in pending:
        future.result()


def _raise_first_failure(pending: list[Future[None]]) -> None:
    for future in pending:
        if future.done():
            future.result()


def _add_datasets(client: Any, datasets: Sequence[Did], advance: Advance) -> None:
    for chunk in batched(datasets, BATCH):
        client.add_dids(
            [
                {"scope": scope, "name": name, "type": "DATASET", "meta": dataset_meta(name)}
                for scope, name in chunk
            ]
        )
        advance(len(chunk))


def _attach(client: Any, attachments: dict[Did, list[Did]], advance: Advance) -> None:
    for batch in attachment_batches(attachments, BATCH):
        client.attach_dids_to_dids(
            [
                {
                    "scope": scope,
                    "name": name,
                    "dids": [{"scope": s, "name": n} for s, n in files],
                }
                for (scope, name), files in batch
            ],
            ignore_duplicate=True,
        )
        advance(sum(len(files) for _, files in batch))


def rse_copies(client: Any, rse: str, scopes: Iterable[str]) -> dict[str, RucioCopy]:
    """Every file replica Rucio has at `rse` in `scopes`, by name (= product id)."""
    copies: dict[str, RucioCopy] = {}
    for scope in sorted(set(scopes)):
        names = list(client.list_dids(scope, {}, did_type="file"))
        for chunk in batched(names, BATCH):
            dids = [{"scope": scope, "name": name} for name in chunk]
            for found in client.list_replicas(dids, rse_expression=rse, all_states=True, sort=SORT):
                state = found.get("states", {}).get(rse)
                if state is None:
                    continue
                pfns = found.get("rses", {}).get(rse) or [None]
                copies[found["name"]] = RucioCopy(
                    scope, found["name"], found.get("adler32"), pfns[0], state
                )
    return copies


def verified_read(client: Any, rse: str, copy: RucioCopy) -> str | None:
    """Download the replica at `rse` (rucio-clients checks it against Rucio's adler32) and
    return the adler32 of the bytes read, for the caller to check against the archive's;
    None when the read failed."""
    from rucio.client.downloadclient import DownloadClient
    from rucio.rse import rsemanager

    # The download layer looks RSEs up through a client of its own, built from a rucio.cfg;
    # handing it the RSE as our client sees it keeps every connection detail in Settings.
    rsemanager.RSE_REGION.set(f"rse_info_{rse}:{client.vo}", client.get_rse(rse))
    with tempfile.TemporaryDirectory(prefix="sdc-rucio-audit-") as tmp:
        downloader = DownloadClient(client=client, tracing=False)
        results = downloader.download_dids(
            [{"did": f"{copy.scope}:{copy.name}", "rse": rse, "base_dir": tmp, "no_subdir": True}],
            deactivate_file_download_exceptions=True,
        )
        done = [r for r in results if r.get("clientState") in ("DONE", "ALREADY_DONE")]
        path = Path(tmp) / copy.name
        if not done or not path.exists():
            return None
        checksums, _ = checksums_of_file(path)
        return checksums.adler32
