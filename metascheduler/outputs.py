"""A job's outputs registered under its lease: products, replicas and lineage in one
transaction with the epoch fence, so an agent whose lease was taken over registers nothing.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from eas.core.lineage import record_lineage
from eas.core.products import register_product
from eas.core.replicas import add_replica
from eas.errors import BadRequest
from eas.job_schemas import JobOutputs
from eas.schemas import LineageIn
from metascheduler.config import SchedulerConfig
from metascheduler.leases import Lease, held


def register_job_outputs(
    session: Session,
    job_id: int,
    outputs: JobOutputs,
    now: datetime,
    config: SchedulerConfig,
    site: str | None = None,
) -> list[str]:
    """Register the outputs of a held job (idempotently: a retry finds what it stored).

    Refused as a whole (Conflict) when the epoch is stale; replicas must be at the job's
    site (BadRequest otherwise). Returns the product ids.
    """
    row = held(session, Lease(job_id, outputs.owner, outputs.epoch), now, config, site)
    elsewhere = sorted({o.replica.site for o in outputs.outputs} - {row.target_site or ""})
    if elsewhere:
        raise BadRequest(
            f"job {job_id} runs at {row.target_site}: it cannot register replicas at "
            + ", ".join(elsewhere)
        )
    for item in outputs.outputs:
        register_product(session, item.product)
        add_replica(session, item.product.product_id, item.replica)
    generated = list(dict.fromkeys(o.product.product_id for o in outputs.outputs))
    record_lineage(session, LineageIn(job_id=job_id, used=outputs.used, generated=generated))
    return generated
