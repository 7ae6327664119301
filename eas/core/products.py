"""Data products: idempotent registration and filtered, cursor-paginated queries."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, Select, bindparam, func, select, type_coerce
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Session

from eas.core.bulk import insert_if_absent
from eas.core.lookup import fetch
from eas.driver_statements import DriverStatement, compile_for_driver
from eas.errors import BadRequest, Conflict
from eas.models import DataProduct, Observation, Tile
from eas.models.base import utcnow
from eas.schemas import ProductIn

METADATA_KEY = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
Scalar = str | int | float | bool | None


@dataclass(frozen=True)
class ProductFilter:
    """What a product query asks for; every field given must match."""

    product_type: str | None = None
    obs_id: int | None = None
    tile_id: int | None = None
    version: str | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None
    metadata: dict[str, Scalar] = field(default_factory=dict)


def _same_content(row: DataProduct, product: ProductIn) -> bool:
    return (
        row.adler32 == product.adler32
        and row.size_bytes == product.size_bytes
        and (row.md5 is None or product.md5 is None or row.md5 == product.md5)
    )


def _stored_twin(row: DataProduct, product: ProductIn) -> tuple[DataProduct, bool]:
    if not _same_content(row, product):
        raise Conflict(
            f"product {product.product_id} is already registered with a different "
            f"checksum (adler32 {row.adler32}, size {row.size_bytes})"
        )
    return row, False


def register_product(session: Session, product: ProductIn) -> tuple[DataProduct, bool]:
    """Store a product; returns (row, created). Same id and checksum: the stored row."""
    row = session.get(DataProduct, product.product_id)
    if row is not None:
        return _stored_twin(row, product)
    if product.obs_id is not None and session.get(Observation, product.obs_id) is None:
        raise BadRequest(f"product {product.product_id} names unknown observation {product.obs_id}")
    if product.tile_id is not None and session.get(Tile, product.tile_id) is None:
        raise BadRequest(f"product {product.product_id} names unknown tile {product.tile_id}")
    values = product.model_dump(exclude={"metadata"})
    values.update(product_metadata=product.metadata, created=utcnow())
    # A retry racing its own first attempt waits for it and gets the stored row, like any
    # later retry.
    inserted = insert_if_absent(session, DataProduct, values)
    row = get_product(session, product.product_id)
    return (row, True) if inserted else _stored_twin(row, product)


def get_product(session: Session, product_id: str) -> DataProduct:
    """The product `product_id`; NotFound otherwise."""
    return fetch(session, DataProduct, product_id, "product")


def encode_cursor(product_id: str) -> str:
    """An opaque cursor that resumes after `product_id`."""
    return base64.urlsafe_b64encode(product_id.encode()).decode()


def decode_cursor(cursor: str) -> str:
    """The product id a cursor resumes after; BadRequest when it is not one of ours."""
    try:
        return base64.b64decode(cursor.encode(), altchars=b"-_", validate=True).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise BadRequest(f"malformed cursor {cursor!r}") from exc


def _metadata_condition(dialect: str, query: Select[Any], wanted: dict[str, Scalar]) -> Select[Any]:
    for key in wanted:
        if not METADATA_KEY.match(key):
            raise BadRequest(f"metadata key {key!r} must match {METADATA_KEY.pattern}")
    if dialect == "postgresql":
        # JSONB containment, served by the GIN index on metadata.
        return query.where(type_coerce(DataProduct.product_metadata, JSONB).contains(wanted))
    for key, value in wanted.items():
        extracted = func.json_extract(DataProduct.product_metadata, f'$."{key}"')
        if value is None:
            query = query.where(
                func.json_type(DataProduct.product_metadata, f'$."{key}"') == "null"
            )
        elif isinstance(value, bool):
            # SQLite's json_extract turns JSON true/false into 1/0; check the type too.
            query = query.where(
                func.json_type(DataProduct.product_metadata, f'$."{key}"')
                == ("true" if value else "false")
            )
        else:
            query = query.where(extracted == value)
    return query


# The filters that compare one column with one value, by name; "after" is the cursor's id.
_COMPARISONS: dict[str, tuple[Any, Callable[[Any, Any], Any]]] = {
    "product_type": (DataProduct.product_type, operator.eq),
    "obs_id": (DataProduct.obs_id, operator.eq),
    "tile_id": (DataProduct.tile_id, operator.eq),
    "version": (DataProduct.version, operator.eq),
    "created_from": (DataProduct.created, operator.ge),
    "created_to": (DataProduct.created, operator.lt),
    "after": (DataProduct.product_id, operator.gt),
}


def _comparison_values(wanted: ProductFilter, cursor: str | None) -> dict[str, Any]:
    values = {
        name: getattr(wanted, name)
        for name in _COMPARISONS
        if name != "after" and getattr(wanted, name) is not None
    }
    if cursor is not None:
        values["after"] = decode_cursor(cursor)
    return values


def _page_of(query: Select[Any], values: dict[str, Any], limit: Any) -> Select[Any]:
    """`query` narrowed by `values` (see _COMPARISONS), by product id, `limit` rows."""
    for name, value in values.items():
        column, compare = _COMPARISONS[name]
        query = query.where(compare(column, value))
    return query.order_by(DataProduct.product_id).limit(limit)


def query_products(
    session: Session, wanted: ProductFilter, cursor: str | None = None, limit: int = 100
) -> tuple[list[DataProduct], str | None]:
    """One page of products matching `wanted`, by product id; returns (rows, next cursor)."""
    # One row more than the page tells whether another page follows.
    query = _page_of(select(DataProduct), _comparison_values(wanted, cursor), limit + 1)
    if wanted.metadata:
        query = _metadata_condition(session.get_bind().dialect.name, query, wanted.metadata)
    rows = list(session.scalars(query))
    if len(rows) > limit:
        return rows[:limit], encode_cursor(rows[limit - 1].product_id)
    return rows, None


# The columns of `ProductPublic`, in its order, under its names.
_PUBLIC_COLUMNS = (
    DataProduct.product_id,
    DataProduct.product_type,
    DataProduct.obs_id,
    DataProduct.tile_id,
    DataProduct.version,
    DataProduct.product_metadata.label("metadata"),
    DataProduct.size_bytes,
    DataProduct.adler32,
    DataProduct.md5,
    DataProduct.created,
)


@lru_cache(maxsize=128)
def _public_page_template(names: tuple[str, ...]) -> Select[Any]:
    """The page query comparing the columns `names` with bound parameters of those names.

    Built once per combination: constructing the statement cost more than running it,
    and reusing one statement object also reuses SQLAlchemy's compiled form and result
    metadata.
    """
    placeholders: dict[str, Any] = {name: bindparam(name) for name in names}
    return _page_of(select(*_PUBLIC_COLUMNS), placeholders, bindparam("page_rows"))


def page_statement(
    dialect: Dialect, wanted: ProductFilter, cursor: str | None, limit: int
) -> tuple[Select[Any], dict[str, Any]]:
    """The SELECT of a page of `wanted` as `ProductPublic` columns, and its parameter values.

    It asks for one row more than `limit`: that row tells whether another page follows.
    """
    values = _comparison_values(wanted, cursor)
    if wanted.metadata:  # metadata conditions depend on the values; built afresh
        query = _page_of(select(*_PUBLIC_COLUMNS), values, limit + 1)
        return _metadata_condition(dialect.name, query, wanted.metadata), {}
    return _public_page_template(tuple(values)), {**values, "page_rows": limit + 1}


def driver_page_statement(
    dialect: Dialect, wanted: ProductFilter, cursor: str | None, limit: int
) -> tuple[DriverStatement, dict[str, Any]]:
    """`page_statement` compiled for the driver (see `eas.driver_statements`).

    The statements without metadata conditions repeat: they compile once and are named, so
    PostgreSQL readers prepare them (planning took longer than running them).
    """
    if wanted.metadata:
        statement, values = page_statement(dialect, wanted, cursor, limit)
        return compile_for_driver(statement, dialect), values
    values = _comparison_values(wanted, cursor)
    return _compiled_template(tuple(values), dialect), {**values, "page_rows": limit + 1}


@lru_cache(maxsize=128)
def _compiled_template(names: tuple[str, ...], dialect: Dialect) -> DriverStatement:
    digest = hashlib.sha1(",".join(names).encode()).hexdigest()[:16]
    return compile_for_driver(_public_page_template(names), dialect, f"eas_products_{digest}")


def page_of(rows: list[dict[str, Any]], limit: int) -> tuple[list[dict[str, Any]], str | None]:
    """The page of `rows` (fetched by `page_statement`) and the cursor of the next, if any."""
    if len(rows) > limit:
        return rows[:limit], encode_cursor(rows[limit - 1]["product_id"])
    return rows, None


def query_product_rows(
    connection: Connection, wanted: ProductFilter, cursor: str | None = None, limit: int = 100
) -> tuple[list[dict[str, Any]], str | None]:
    """`query_products` as plain dicts shaped like `ProductPublic` (no ORM objects).

    For readers that only pass rows on: loading ORM objects and validating a response model
    from each cost more than the indexed query itself.
    """
    query, values = page_statement(connection.dialect, wanted, cursor, limit)
    result = connection.execute(query, values)
    names = list(result.keys())
    return page_of([dict(zip(names, row, strict=True)) for row in result], limit)


def parse_metadata_pairs(pairs: list[str]) -> dict[str, Scalar]:
    """`key=value` strings as a filter; a value that reads as a JSON scalar is typed."""
    wanted: dict[str, Scalar] = {}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        if not sep or not key:
            raise BadRequest(f"metadata filter {pair!r} is not key=value")
        try:
            value = json.loads(text)
        except ValueError:
            value = text
        wanted[key] = value if isinstance(value, Scalar) else text
    return wanted
