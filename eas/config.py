"""The archive's own settings (the `archive` field of the one Settings object)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class ArchiveConfig(BaseModel):
    """Tunables of the archive API; the database URL is passed beside it."""

    model_config = ConfigDict(extra="forbid")  # a misspelt key is an error

    max_page_size: int = Field(default=1000, ge=1, description="largest page a query returns")
    pool_size: int = Field(
        default=10,
        ge=1,
        description="database connections per pool (a server keeps up to three: docs/archive.md)",
    )
    token_cache_seconds: float = Field(
        default=10.0, ge=0, description="how long a verified token is trusted without a lookup"
    )
