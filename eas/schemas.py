"""The archive API's request and response bodies (pydantic only; shared with the client)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal, NotRequired

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, TypeAdapter, model_validator
from typing_extensions import TypedDict

Role = Literal["reader", "planner", "agent", "admin"]
AssignmentRole = Literal["primary", "secondary", "processing"]
ReplicaState = Literal[
    "AVAILABLE", "COPYING", "UNAVAILABLE", "TEMPORARY_UNAVAILABLE", "BEING_DELETED", "BAD"
]
PlanStatus = Literal["DRAFT", "CURRENT", "SUPERSEDED"]
Direction = Literal["ancestors", "descendants"]
BIGINT_MAX = 2**63 - 1  # ids and sizes are 64-bit columns
# Constrained field types, shared by the models and the bulk row shapes below.
NonNegativeBigInt = Annotated[int, Field(ge=0, le=BIGINT_MAX)]
RightAscension = Annotated[float, Field(ge=0, lt=360)]
Declination = Annotated[float, Field(ge=-90, le=90)]
Footprint = list[list[float]] | None


def _site_field() -> Any:
    # ORM attributes are named `site_name`; the API says `site`. The ORM name is tried first
    # because some rows also carry a `site` relationship, which is not the site's name.
    return Field(validation_alias=AliasChoices("site_name", "site"))


class Schema(BaseModel):
    """Base: reads ORM attributes, refuses unknown fields."""

    model_config = ConfigDict(from_attributes=True, extra="forbid")


class SiteIn(Schema):
    """A science data centre as declared in sites.yaml."""

    name: str = Field(min_length=1, max_length=64)
    country: str = Field(min_length=1, max_length=8)
    cores: int = Field(ge=0)
    storage_tb: float = Field(ge=0)
    dss_url: str | None = None
    active: bool = True


class SitePublic(SiteIn):
    """A stored site."""


class SiteUpdate(Schema):
    """Fields of a site to change; absent ones stay."""

    country: str | None = Field(default=None, min_length=1, max_length=8)
    cores: int | None = Field(default=None, ge=0)
    storage_tb: float | None = Field(default=None, ge=0)
    dss_url: str | None = None
    active: bool | None = None


class MaintenanceWindowIn(Schema):
    """A period in which a site takes no work."""

    site: str = _site_field()
    start: datetime
    end: datetime
    reason: str = ""

    @model_validator(mode="after")
    def _ends_after_start(self) -> MaintenanceWindowIn:
        if self.end <= self.start:
            raise ValueError(
                f"end {self.end.isoformat()} is not after start {self.start.isoformat()}"
            )
        return self


class MaintenanceWindowPublic(MaintenanceWindowIn):
    """A stored maintenance window."""

    id: int


class ObservationIn(Schema):
    """One observation: when, where on the sky, how big."""

    obs_id: NonNegativeBigInt
    start: datetime
    ra: RightAscension
    dec: Declination
    footprint: Footprint = None
    size_bytes: NonNegativeBigInt
    survey: str = "wide"


class ObservationRow(TypedDict):
    """`ObservationIn` as a plain dict: bulk bodies validate into these, with no model objects.

    Building and dumping 20,000 models cost four times what validating the JSON does.
    """

    __pydantic_config__ = ConfigDict(extra="forbid")  # type: ignore[misc]

    obs_id: NonNegativeBigInt
    start: datetime
    ra: RightAscension
    dec: Declination
    footprint: NotRequired[Footprint]
    size_bytes: NonNegativeBigInt
    survey: NotRequired[str]


# The validator of a bulk observation body.
OBSERVATION_ROWS = TypeAdapter(list[ObservationRow])


class ObservationPublic(ObservationIn):
    """A stored observation."""


class TileIn(Schema):
    """A sky tile and the observations it combines."""

    tile_id: int = Field(ge=0, le=BIGINT_MAX)
    ra: float = Field(ge=0, lt=360)
    dec: float = Field(ge=-90, le=90)
    radius_deg: float = Field(gt=0, le=180)
    healpix: list[int] | None = None
    obs_ids: list[int] = []


class TilePublic(TileIn):
    """A stored tile."""


class Inserted(Schema):
    """How many rows a bulk insert stored."""

    inserted: int


class AssignmentIn(Schema):
    """An observation's primary/secondary site, or a tile's processing site."""

    obs_id: int | None = None
    tile_id: int | None = None
    role: AssignmentRole
    site: str = _site_field()

    @model_validator(mode="after")
    def _one_subject(self) -> AssignmentIn:
        if (self.obs_id is None) == (self.tile_id is None):
            raise ValueError("an assignment names exactly one of obs_id or tile_id")
        if (self.tile_id is not None) != (self.role == "processing"):
            raise ValueError("tiles take role 'processing'; observations 'primary'/'secondary'")
        return self


class AssignmentPublic(AssignmentIn):
    """A stored assignment."""


class PlanIn(Schema):
    """A placement plan version to store; CURRENT supersedes the previous current plan."""

    version: int = Field(ge=1)
    parent_version: int | None = None
    solver: str
    status: PlanStatus = "CURRENT"
    stats: dict[str, Any] = {}
    objective: float | None = None
    assignments: list[AssignmentIn] = []


class PlanPublic(Schema):
    """A stored plan version (assignments are listed separately)."""

    version: int
    parent_version: int | None
    created: datetime
    solver: str
    status: PlanStatus
    stats: dict[str, Any]
    objective: float | None


class AssignmentChange(Schema):
    """One subject whose site differs between two plan versions (None: absent there)."""

    obs_id: int | None
    tile_id: int | None
    role: AssignmentRole
    from_site: str | None
    to_site: str | None


class PlanDiff(Schema):
    """What changed from one plan version to another."""

    from_version: int
    to_version: int
    unchanged: int
    changes: list[AssignmentChange]


class ProductIn(Schema):
    """A data product to register; `product_id` is its provenance hash."""

    product_id: str = Field(min_length=1, max_length=128)
    product_type: str = Field(min_length=1, max_length=64)
    obs_id: int | None = None
    tile_id: int | None = None
    version: str = Field(min_length=1, max_length=32)
    metadata: dict[str, Any] = Field(
        # ORM rows expose the column as `product_metadata`; their `metadata` is SQLAlchemy's.
        default={},
        validation_alias=AliasChoices("product_metadata", "metadata"),
    )
    size_bytes: int = Field(ge=0, le=BIGINT_MAX)
    adler32: str = Field(pattern=r"^[0-9a-f]{8}$")
    md5: str | None = Field(default=None, pattern=r"^[0-9a-f]{32}$")


class ProductPublic(ProductIn):
    """A stored data product."""

    created: datetime


class ProductQuery(BaseModel):
    """The filters of `GET /products` (query parameters); every one given must match.

    One model instead of ten separate parameters: FastAPI then validates them in one call,
    which halved the framework's share of a product query.
    """

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    product_type: str | None = Field(None, alias="type")
    obs_id: int | None = None
    tile_id: int | None = None
    version: str | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None
    meta: list[str] = Field([], description="metadata filters, key=value (repeatable)")
    cursor: str | None = None
    limit: int = Field(100, ge=1)


class ProductPage(Schema):
    """One page of a product query; pass `next_cursor` back for the next."""

    items: list[ProductPublic]
    next_cursor: str | None


class ReplicaIn(Schema):
    """A copy of a product at a site."""

    site: str = _site_field()
    # Where the site's storage keeps it: a URL, or a path inside that site's DSS.
    url: str = Field(min_length=1, max_length=1024, validation_alias=AliasChoices("url", "path"))
    state: ReplicaState = "AVAILABLE"


class ReplicaPublic(ReplicaIn):
    """A stored replica."""

    id: int
    product_id: str
    checked_at: datetime | None


class ReplicaStateChange(Schema):
    """The new state of a replica."""

    state: ReplicaState
    # Compare-and-set: change only a replica now in this state (409 otherwise), so a
    # replica row can serve as the lock of a transfer.
    expected_state: ReplicaState | None = None


class LineageIn(Schema):
    """Used/generated edges of one job; without `job_id` an activity row is recorded."""

    job_id: int | None = None
    pipeline: str | None = None
    site: str | None = None
    used: list[str] = []
    generated: list[str] = Field(min_length=1)

    @model_validator(mode="after")
    def _names_a_job(self) -> LineageIn:
        if self.job_id is None and not self.pipeline:
            raise ValueError("give job_id, or pipeline to record a new activity")
        return self


class LineageRecorded(Schema):
    """The job the edges hang on."""

    job_id: int


class LineageNode(Schema):
    """A product reached by a lineage walk, at its shortest distance."""

    product_id: str
    product_type: str
    depth: int


class LineageEdge(Schema):
    """Product `parent` was used by `job_id` to generate `child`."""

    parent: str
    child: str
    job_id: int


class LineageGraph(Schema):
    """Ancestors or descendants of one product to a depth."""

    product_id: str
    direction: Direction
    depth: int
    nodes: list[LineageNode]
    edges: list[LineageEdge]


class WhoAmI(Schema):
    """The caller as the archive knows it (the storage services verify tokens with this)."""

    name: str
    role: Role
    site: str | None
