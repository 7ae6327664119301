"""Outputs of a finished job: into the site's DSS, then products, replicas and lineage into the
archive, idempotently: a retry after a crash finds what the first attempt stored and reuses it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dss.client import StorageClient
from dss.client_errors import Conflict as StorageConflict
from eas.job_client import JobClient
from eas.job_schemas import JobOutputs, LeaseRef, OutputRegistration
from eas.schemas import ProductIn, ReplicaIn


def product_id_for(
    pipeline: str,
    version: str,
    parameters: dict[str, Any],
    input_ids: list[str],
    output: str,
    index: int,
) -> str:
    """The provenance id of one output file: same work, same id (so results are found again)."""
    document = json.dumps(
        [pipeline, version, parameters, sorted(input_ids), output, index],
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(document.encode()).hexdigest()[:40]


@dataclass(frozen=True)
class OutputFile:
    """One file a job produced and what it will be registered as."""

    path: Path
    product_id: str
    product_type: str
    output: str


@dataclass(frozen=True)
class JobContext:
    """What registration needs to know about the job."""

    job_id: int
    pipeline: str
    version: str
    site: str
    parameters: dict[str, Any]
    input_ids: list[str]
    obs_id: int | None
    tile_id: int | None


def planned_outputs(
    job: JobContext, produced: dict[str, list[Path]], types: dict[str, str]
) -> list[OutputFile]:
    """Name every produced file by its provenance id and product type."""
    planned = []
    for output, product_type in types.items():
        for index, path in enumerate(produced.get(output, [])):
            product_id = product_id_for(
                job.pipeline, job.version, job.parameters, job.input_ids, output, index
            )
            planned.append(OutputFile(path, product_id, product_type, output))
    return planned


def register_outputs(
    job: JobContext,
    lease: LeaseRef,
    files: list[OutputFile],
    dss: StorageClient,
    archive: JobClient,
) -> list[str]:
    """Upload every file, then register products, replicas and lineage in one call fenced
    by the job's lease (Conflict, and nothing registered, when it was taken over); returns
    the product ids."""
    registrations = []
    for item in files:
        storage_path = f"products/{item.product_type}/{item.product_id}{item.path.suffix}"
        try:
            stat = dss.put(storage_path, item.path)
        except StorageConflict:
            # an earlier attempt stored this product already: its file stays the product
            stat = dss.stat(storage_path)
        product = ProductIn(
            product_id=item.product_id,
            product_type=item.product_type,
            obs_id=job.obs_id,
            tile_id=job.tile_id,
            version=job.version,
            metadata={"pipeline": job.pipeline, "output": item.output, "job_id": job.job_id},
            size_bytes=stat.size,
            adler32=stat.adler32,
            md5=stat.md5,
        )
        replica = ReplicaIn(site=job.site, url=dss.url(storage_path), state="AVAILABLE")
        registrations.append(OutputRegistration(product=product, replica=replica))
    if not registrations:
        return []
    outputs = JobOutputs(
        owner=lease.owner, epoch=lease.epoch, outputs=registrations, used=job.input_ids
    )
    return archive.register_outputs(job.job_id, outputs).product_ids
