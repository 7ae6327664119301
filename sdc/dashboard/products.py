"""The products pages: search by type, observation or tile; one product with its lineage."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from eas.api.deps import SessionDep
from eas.core.lineage import walk_lineage
from eas.core.products import ProductFilter, get_product, query_products
from eas.errors import BadRequest, NotFound
from sdc.dashboard.auth import Viewer
from sdc.dashboard.pages import problem, render
from sdc.dashboard.plots import LineageNode, lineage_picture
from sdc.dashboard.queries import product_jobs

router = APIRouter()
PAGE = 100
LINEAGE_DEPTH = 10


def _whole_number(text: str, field: str) -> int | None:
    """A search field as an int (empty: no filter); BadRequest naming the field otherwise."""
    if not text.strip():
        return None
    try:
        return int(text)
    except ValueError:
        raise BadRequest(f"{field} must be a whole number, not {text!r}") from None


@router.get("/products", response_class=HTMLResponse, include_in_schema=False)
def products_page(
    request: Request,
    viewer: Viewer,
    session: SessionDep,
    product_type: str = "",
    obs: str = "",
    tile: str = "",
    cursor: str | None = None,
) -> HTMLResponse:
    """Products matching the search, a page at a time by product id."""
    try:
        wanted = ProductFilter(
            product_type=product_type.strip() or None,
            obs_id=_whole_number(obs, "obs"),
            tile_id=_whole_number(tile, "tile"),
        )
        rows, next_cursor = query_products(session, wanted, cursor, PAGE)
    except BadRequest as exc:
        return problem(request, 400, str(exc))
    context = {
        "viewer": viewer,
        "products": rows,
        "next_cursor": next_cursor,
        "search": {"product_type": product_type, "obs": obs, "tile": tile},
    }
    return render(request, "products.html", context)


@router.get("/products/{product_id}", response_class=HTMLResponse, include_in_schema=False)
def product_page(
    request: Request, viewer: Viewer, session: SessionDep, product_id: str
) -> HTMLResponse:
    """One product: its fields, replicas, the jobs around it, lineage up and down."""
    try:
        product = get_product(session, product_id)
    except NotFound as exc:
        return problem(request, 404, str(exc))
    made_by, used_by = product_jobs(session, product_id)
    context = {
        "viewer": viewer,
        "product": product,
        "made_by": made_by,
        "used_by": used_by,
        "ancestors": walk_lineage(session, product_id, "ancestors", LINEAGE_DEPTH),
        "descendants": walk_lineage(session, product_id, "descendants", LINEAGE_DEPTH),
    }
    return render(request, "product.html", context)


@router.get("/products/{product_id}/lineage.png", include_in_schema=False)
def lineage_png(_viewer: Viewer, session: SessionDep, product_id: str) -> Response:
    """The product's lineage up and down as a picture."""
    try:
        product = get_product(session, product_id)
    except NotFound as exc:
        return Response(str(exc), status_code=404, media_type="text/plain")
    nodes = [LineageNode(product.product_id, product.product_type, 0)]
    edges = []
    for direction, sign in (("ancestors", -1), ("descendants", 1)):
        graph = walk_lineage(session, product_id, direction, LINEAGE_DEPTH)
        nodes += [LineageNode(n.product_id, n.product_type, sign * n.depth) for n in graph.nodes]
        edges += [(e.parent, e.child) for e in graph.edges]
    return Response(lineage_picture(nodes, edges), media_type="image/png")
