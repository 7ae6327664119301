"""How archive things are named in Rucio: pure functions, shared by the mirror and the rules.

Decisions (docs/rucio.md): a product is the file DID `<scope>:<product_id>`; an observation's
products are in the dataset `obs-<obs_id>`, a tile's in `tile-<tile_id>`; the inputs of a tile
are the container `tile-<tile_id>-inputs` holding its observations' datasets. An observation's
scope is its survey's; a tile's is the survey of its first (lowest-id) observation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

# Keys Rucio keeps for itself on a DID: product metadata under these names is not copied.
RESERVED_META = frozenset(
    {
        "scope",
        "name",
        "did_type",
        "type",
        "account",
        "bytes",
        "length",
        "adler32",
        "md5",
        "guid",
        "availability",
        "is_open",
        "monotonic",
        "hidden",
        "obsolete",
        "complete",
        "is_new",
        "suppressed",
        "purge_replicas",
        "deleted_at",
        "created_at",
        "updated_at",
        "expired_at",
        "closed_at",
        "eol_at",
        "accessed_at",
        "access_cnt",
        "lifetime",
        "constituent",
        "is_archive",
        "transient",
        "events",
        "run_number",
        "lumiblocknr",
        "task_id",
        "panda_id",
    }
)


@dataclass(frozen=True)
class ProductRecord:
    """What the mirror needs of one archive product (and its scope, already resolved)."""

    product_id: str
    scope: str
    product_type: str
    version: str
    size_bytes: int
    adler32: str
    md5: str | None = None
    obs_id: int | None = None
    tile_id: int | None = None
    metadata: dict[str, Any] = field(default_factory=dict)


def obs_dataset(obs_id: int) -> str:
    """The dataset holding an observation's products."""
    return f"obs-{obs_id}"


def tile_dataset(tile_id: int) -> str:
    """The dataset holding a tile's products."""
    return f"tile-{tile_id}"


def tile_inputs_container(tile_id: int) -> str:
    """The container of the datasets of a tile's input observations."""
    return f"tile-{tile_id}-inputs"


def datasets_of(product: ProductRecord) -> list[tuple[str, str]]:
    """(scope, name) of the datasets a product belongs to (none when it has no obs or tile)."""
    names = []
    if product.obs_id is not None:
        names.append((product.scope, obs_dataset(product.obs_id)))
    if product.tile_id is not None:
        names.append((product.scope, tile_dataset(product.tile_id)))
    return names


def file_meta(product: ProductRecord) -> dict[str, Any]:
    """The product's metadata as Rucio DID metadata (type, version, obs/tile, its own keys)."""
    meta: dict[str, Any] = {
        key: value for key, value in product.metadata.items() if key not in RESERVED_META
    }
    meta["product_type"] = product.product_type
    meta["version"] = product.version
    if product.obs_id is not None:
        meta["obs_id"] = product.obs_id
    if product.tile_id is not None:
        meta["tile_id"] = product.tile_id
    return meta
