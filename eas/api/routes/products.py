"""Data products: idempotent registration (agents, admins) and filtered, paged queries."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response, status
from fastapi.concurrency import run_in_threadpool
from pydantic_core import to_json
from sqlalchemy import Engine

from eas.api.deps import BEARER_SECURITY, Agent, Reader, SessionDep, authenticate
from eas.api.direct_input import parse_query, query_parameters_schema
from eas.api.postgres_reads import PostgresReads
from eas.config import ArchiveConfig
from eas.core import products as core
from eas.schemas import ProductIn, ProductPage, ProductPublic, ProductQuery

router = APIRouter(tags=["products"])


@router.post("/products", status_code=status.HTTP_201_CREATED)
def register_product(
    product: ProductIn, response: Response, session: SessionDep, _: Agent
) -> ProductPublic:
    """Register a product: 201 new; 200 with the stored row when id and checksum match."""
    row, created = core.register_product(session, product)
    if not created:
        response.status_code = status.HTTP_200_OK
    return ProductPublic.model_validate(row)


@router.get(
    "/products",
    response_model=ProductPage,
    openapi_extra={**query_parameters_schema(ProductQuery), **BEARER_SECURITY},
)
async def query_products(request: Request) -> Response:
    """Products matching every filter given, by product id, one page at a time."""
    await authenticate(request)  # any token reads; no dependencies: see `authenticate`
    reads: Engine = request.app.state.reader
    config: ArchiveConfig = request.app.state.config
    query = parse_query(request.query_params, ProductQuery)
    wanted = core.ProductFilter(
        product_type=query.product_type,
        obs_id=query.obs_id,
        tile_id=query.tile_id,
        version=query.version,
        created_from=query.created_from,
        created_to=query.created_to,
        metadata=core.parse_metadata_pairs(query.meta),
    )
    page_size = min(query.limit, config.max_page_size)
    postgres: PostgresReads | None = request.app.state.postgres_reads
    if postgres is None:  # SQLite: the query and the JSON in one worker thread
        page = await run_in_threadpool(_product_page, reads, wanted, query.cursor, page_size)
        return Response(page, media_type="application/json")
    statement, values = core.driver_page_statement(reads.dialect, wanted, query.cursor, page_size)
    rows, next_cursor = core.page_of(await postgres.fetch(statement, values), page_size)
    return Response(
        to_json({"items": rows, "next_cursor": next_cursor}), media_type="application/json"
    )


def _product_page(
    reads: Engine, wanted: core.ProductFilter, cursor: str | None, limit: int
) -> bytes:
    # Rows go from the database to JSON as dicts shaped like ProductPublic: no ORM objects,
    # no response models (the contract tests check the JSON is what ProductPage gives).
    with reads.connect() as connection:
        rows, next_cursor = core.query_product_rows(connection, wanted, cursor, limit)
    return to_json({"items": rows, "next_cursor": next_cursor})


@router.get("/products/{product_id}")
def get_product(product_id: str, session: SessionDep, _: Reader) -> ProductPublic:
    """One product."""
    return ProductPublic.model_validate(core.get_product(session, product_id))
