"""Typed HTTP client of the archive API (requests; no database or web-server imports)."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from datetime import datetime
from typing import Any, Self, TypeVar

import requests
from pydantic import BaseModel, TypeAdapter

from eas.errors import ERRORS_BY_STATUS, ArchiveError
from eas.schemas import (
    AssignmentPublic,
    Inserted,
    LineageGraph,
    LineageIn,
    LineageRecorded,
    MaintenanceWindowIn,
    MaintenanceWindowPublic,
    ObservationIn,
    ObservationPublic,
    PlanDiff,
    PlanIn,
    PlanPublic,
    ProductIn,
    ProductPage,
    ProductPublic,
    ReplicaIn,
    ReplicaPublic,
    SiteIn,
    SitePublic,
    SiteUpdate,
    TileIn,
    TilePublic,
    WhoAmI,
)

Model = TypeVar("Model", bound=BaseModel)
RETRIED_STATUSES = frozenset({500, 502, 503, 504})
JSON_CONTENT = {"Content-Type": "application/json"}
_OBSERVATION_LIST = TypeAdapter(list[ObservationIn])


class ArchiveClient:
    """The archive API as Python calls; errors are `eas.errors` classes mirroring the server.

    Idempotent calls (reads, product and replica registration, state changes) are retried
    with exponential backoff on connection errors and 5xx answers; bulk inserts are not.
    """

    def __init__(
        self,
        base_url: str,
        token: str,
        timeout: float = 30.0,
        retries: int = 3,
        backoff: float = 0.2,
    ) -> None:
        self.base_url = base_url.rstrip("/") + "/api/v1"
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        self.http = requests.Session()
        adapter = requests.adapters.HTTPAdapter(pool_connections=4, pool_maxsize=16)
        self.http.mount("http://", adapter)
        self.http.mount("https://", adapter)
        self.http.headers["Authorization"] = f"Bearer {token}"
        # requests reads proxies, the CA bundle and ~/.netrc from the environment again on
        # every request (~150 µs, a sixth of a product query's round trip). They are read
        # once, here, for the one server this client talks to; a later change of the
        # environment is not seen. (A netrc entry can no longer replace the bearer token.)
        found = self.http.merge_environment_settings(self.base_url, {}, None, None, None)
        self.http.proxies.update(found["proxies"])
        self.http.verify = found["verify"]
        self.http.cert = found["cert"]
        self.http.trust_env = False

    def close(self) -> None:
        """Release pooled connections."""
        self.http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def _send(self, method: str, path: str, idempotent: bool, **kwargs: Any) -> Any:
        attempt = 0
        while True:
            try:
                response = self.http.request(
                    method, self.base_url + path, timeout=self.timeout, **kwargs
                )
            except requests.ConnectionError:
                if not idempotent or attempt >= self.retries:
                    raise
            else:
                retry = response.status_code in RETRIED_STATUSES and idempotent
                if not retry or attempt >= self.retries:
                    return _body_or_raise(response)
            time.sleep(self.backoff * 2**attempt)
            attempt += 1

    def _get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        clean = {k: v for k, v in (params or {}).items() if v is not None}
        return self._send("GET", path, True, params=clean)

    def _write(self, method: str, path: str, body: Any, idempotent: bool) -> Any:
        return self._send(method, path, idempotent, json=body)

    def whoami(self) -> WhoAmI:
        """Who this client's token belongs to."""
        return WhoAmI.model_validate(self._get("/auth/whoami"))

    def list_sites(self) -> list[SitePublic]:
        """Every site."""
        return _list(SitePublic, self._get("/sites"))

    def get_site(self, name: str) -> SitePublic:
        """One site."""
        return SitePublic.model_validate(self._get(f"/sites/{name}"))

    def create_site(self, site: SiteIn) -> SitePublic:
        """Declare a site."""
        body = self._write("POST", "/sites", site.model_dump(mode="json"), False)
        return SitePublic.model_validate(body)

    def update_site(self, name: str, change: SiteUpdate) -> SitePublic:
        """Change some fields of a site."""
        body = change.model_dump(mode="json", exclude_unset=True)
        return SitePublic.model_validate(self._write("PATCH", f"/sites/{name}", body, True))

    def delete_site(self, name: str) -> None:
        """Remove a site."""
        self._send("DELETE", f"/sites/{name}", True)

    def list_maintenance(
        self, site: str | None = None, start: datetime | None = None, end: datetime | None = None
    ) -> list[MaintenanceWindowPublic]:
        """Maintenance windows, optionally of one site and overlapping [start, end)."""
        params = {"site": site, "start": _iso(start), "end": _iso(end)}
        return _list(MaintenanceWindowPublic, self._get("/maintenance", params))

    def add_maintenance(self, window: MaintenanceWindowIn) -> MaintenanceWindowPublic:
        """Declare downtime (stored once per site, start and end: safe to retry)."""
        body = self._write("POST", "/maintenance", window.model_dump(mode="json"), True)
        return MaintenanceWindowPublic.model_validate(body)

    def delete_maintenance(self, window_id: int) -> None:
        """Cancel a maintenance window."""
        self._send("DELETE", f"/maintenance/{window_id}", True)

    def add_observations(
        self, observations: Sequence[ObservationIn], batch_size: int = 10000, parallel: int = 2
    ) -> int:
        """Insert observations, `batch_size` per request, up to `parallel` requests at a time.

        Each batch is all-or-nothing; when one fails, the others (earlier or later) may be
        stored, and the first failing batch's error is raised once all have finished.
        """
        batches = [
            observations[offset : offset + batch_size]
            for offset in range(0, len(observations), batch_size)
        ]
        if len(batches) <= 1 or parallel <= 1:
            return sum(map(self._add_observation_batch, batches))
        # While the server validates one batch, the database copies another in.
        with ThreadPoolExecutor(min(parallel, len(batches))) as pool:
            pending = [pool.submit(self._add_observation_batch, batch) for batch in batches]
            wait(pending)
        return sum(future.result() for future in pending)

    def _add_observation_batch(self, batch: Sequence[ObservationIn]) -> int:
        # Serialised in one pass by pydantic-core: per-item dumps dominate large batches.
        body = _OBSERVATION_LIST.dump_json(list(batch))
        answer = self._send("POST", "/observations", False, data=body, headers=JSON_CONTENT)
        return Inserted.model_validate(answer).inserted

    def get_observation(self, obs_id: int) -> ObservationPublic:
        """One observation."""
        return ObservationPublic.model_validate(self._get(f"/observations/{obs_id}"))

    def query_observations(self, **filters: Any) -> list[ObservationPublic]:
        """Observations by start_from/start_to and/or cone ra/dec/radius; `limit`."""
        params = {k: _iso(v) if isinstance(v, datetime) else v for k, v in filters.items()}
        return _list(ObservationPublic, self._get("/observations", params))

    def add_tiles(self, tiles: Sequence[TileIn]) -> int:
        """Insert tiles with their observation ids (all or none)."""
        body = [t.model_dump(mode="json") for t in tiles]
        return Inserted.model_validate(self._write("POST", "/tiles", body, False)).inserted

    def get_tile(self, tile_id: int) -> TilePublic:
        """One tile."""
        return TilePublic.model_validate(self._get(f"/tiles/{tile_id}"))

    def query_tiles(self, **filters: Any) -> list[TilePublic]:
        """Tiles by cone ra/dec/radius and/or obs_id; `limit`."""
        return _list(TilePublic, self._get("/tiles", filters))

    def store_plan(self, plan: PlanIn) -> PlanPublic:
        """Store a plan version."""
        body = self._write("POST", "/plans", plan.model_dump(mode="json"), False)
        return PlanPublic.model_validate(body)

    def current_plan(self) -> PlanPublic:
        """The plan in force."""
        return PlanPublic.model_validate(self._get("/plans/current"))

    def get_plan(self, version: int) -> PlanPublic:
        """One plan version."""
        return PlanPublic.model_validate(self._get(f"/plans/{version}"))

    def list_plans(self) -> list[PlanPublic]:
        """Every plan version, newest first."""
        return _list(PlanPublic, self._get("/plans"))

    def list_assignments(
        self, version: int, site: str | None = None, role: str | None = None
    ) -> list[AssignmentPublic]:
        """Assignments of a plan version."""
        params = {"site": site, "role": role}
        return _list(AssignmentPublic, self._get(f"/plans/{version}/assignments", params))

    def diff_plans(self, from_version: int, to_version: int) -> PlanDiff:
        """What moved between two plan versions."""
        return PlanDiff.model_validate(self._get(f"/plans/{from_version}/diff/{to_version}"))

    def register_product(self, product: ProductIn) -> ProductPublic:
        """Register a product (idempotent: the stored row when id and checksum match)."""
        body = self._write("POST", "/products", product.model_dump(mode="json"), True)
        return ProductPublic.model_validate(body)

    def get_product(self, product_id: str) -> ProductPublic:
        """One product."""
        return ProductPublic.model_validate(self._get(f"/products/{product_id}"))

    def query_products(
        self,
        metadata: dict[str, Any] | None = None,
        cursor: str | None = None,
        **filters: Any,
    ) -> ProductPage:
        """One page of products: type, obs_id, tile_id, version, created_from/to, limit."""
        params = {k: _iso(v) if isinstance(v, datetime) else v for k, v in filters.items()}
        params["meta"] = [f"{k}={_meta_text(v)}" for k, v in (metadata or {}).items()]
        params["cursor"] = cursor
        return ProductPage.model_validate(self._get("/products", params))

    def iter_products(
        self, metadata: dict[str, Any] | None = None, **filters: Any
    ) -> Iterator[ProductPublic]:
        """Every matching product, following the cursor page by page."""
        cursor: str | None = None
        while True:
            page = self.query_products(metadata=metadata, cursor=cursor, **filters)
            yield from page.items
            if page.next_cursor is None:
                return
            cursor = page.next_cursor

    def add_replica(
        self, product_id: str, replica: ReplicaIn, exclusive: bool = False
    ) -> ReplicaPublic:
        """Record a copy of a product at a site (idempotent for the same URL).

        `exclusive`: Conflict when the site already has a row for the product (a claim; not
        retried, since a retry after a lost answer would find its own row).
        """
        path = f"/products/{product_id}/replicas" + ("?exclusive=true" if exclusive else "")
        body = self._write("POST", path, replica.model_dump(mode="json"), not exclusive)
        return ReplicaPublic.model_validate(body)

    def set_replica_state(
        self, replica_id: int, state: str, expected_state: str | None = None
    ) -> ReplicaPublic:
        """Change a replica's state; with `expected_state`, only from that state (Conflict)."""
        change = {"state": state, "expected_state": expected_state}
        body = self._write("PATCH", f"/replicas/{replica_id}", change, expected_state is None)
        return ReplicaPublic.model_validate(body)

    def list_replicas(self, **filters: Any) -> list[ReplicaPublic]:
        """Replicas by site, state, product_id; `limit`, `after_id`."""
        return _list(ReplicaPublic, self._get("/replicas", filters))

    def iter_replicas(self, **filters: Any) -> Iterator[ReplicaPublic]:
        """Every matching replica, page by page (by id)."""
        after_id: int | None = None
        while True:
            page = self.list_replicas(after_id=after_id, **filters)
            yield from page
            if not page:
                return
            after_id = page[-1].id

    def record_lineage(self, lineage: LineageIn) -> int:
        """Store used/generated edges; returns the job id (retried only for a known job)."""
        body = lineage.model_dump(mode="json")
        answer = self._write("POST", "/lineage", body, lineage.job_id is not None)
        return LineageRecorded.model_validate(answer).job_id

    def lineage(
        self, product_id: str, direction: str = "ancestors", depth: int = 3
    ) -> LineageGraph:
        """Ancestors or descendants of a product to a depth."""
        params = {"direction": direction, "depth": depth}
        return LineageGraph.model_validate(self._get(f"/products/{product_id}/lineage", params))


def _body_or_raise(response: requests.Response) -> Any:
    if response.status_code == 204:
        return None
    if response.ok:
        return response.json()
    error = ERRORS_BY_STATUS.get(response.status_code, ArchiveError)
    try:
        detail = response.json().get("detail", response.text)
    except ValueError:
        detail = response.text
    if not isinstance(detail, str):  # FastAPI's validation errors are a list
        detail = "; ".join(
            f"{'.'.join(str(p) for p in d.get('loc', []))}: {d.get('msg')}" for d in detail
        )
    raise error(f"HTTP {response.status_code}: {detail}")


def _list(model: type[Model], body: Any) -> list[Model]:
    return TypeAdapter(list[model]).validate_python(body)  # type: ignore[valid-type]


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _meta_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)
