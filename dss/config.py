"""What a site's storage service is configured with (one field of `sdc.settings.Settings`)."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field


class DssConfig(BaseModel):
    """One site's DSS: where it stores, where it listens, how it checks tokens."""

    model_config = ConfigDict(extra="forbid")  # a misspelt key is an error

    site: str | None = Field(default=None, description="The SDC this DSS serves, e.g. SDC-FR")
    backend: str = Field(default="posix", description="Storage backend (posix, memory, rucio)")
    root: Path | None = Field(
        default=None,
        description="posix: the files; rucio: local work directory (staging, read cache, "
        "quarantine)",
    )
    rse: str | None = Field(
        default=None, description="rucio backend: the RSE (default rucio.site_rses[site])"
    )
    rucio_scope: str | None = Field(
        default=None, description="rucio backend: scope of the DIDs (default rucio.default_scope)"
    )
    rucio_cache_bytes: int = Field(
        default=10 * 1024**3, ge=0, description="rucio backend: size of the local read cache"
    )
    memory_capacity_bytes: int | None = Field(default=None, description="memory backend limit")
    host: str = "127.0.0.1"
    port: int = 8101
    archive_url: str | None = Field(default=None, description="Archive that verifies tokens")
    tokens_file: Path | None = Field(default=None, description="YAML of hashed tokens")
    token_cache_seconds: float = Field(
        default=30.0, gt=0, description="How long an archive answer about a token is trusted"
    )
    archive_outage_grace_seconds: float = Field(
        default=600.0,
        ge=0,
        description="How long past its TTL a cached identity still allows reads "
        "while the archive is unreachable",
    )
    archive_timeout_seconds: float = Field(default=5.0, gt=0)
    token: str | None = Field(
        default=None, description="Bearer token `sdc dss transfer/audit` present (SDC_DSS__TOKEN)"
    )
    transfer_wait_seconds: float = Field(
        default=600.0, ge=0, description="How long a transfer waits for another copy of the same"
    )
    transfer_stale_seconds: float = Field(
        default=300.0,
        gt=0,
        description="A COPYING replica untouched this long is taken over (copies refresh "
        "theirs every tenth of it)",
    )
    body_idle_timeout_seconds: float = Field(
        default=120.0,
        gt=0,
        description="A PUT whose body stalls this long is dropped (408); a client that stops "
        "reading a large GET this long is disconnected",
    )
