"""What a site's storage service is configured with (one field of `sdc.settings.Settings`)."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field


class DssConfig(BaseModel):
    """One site's DSS: where it stores, where it listens, how it checks tokens."""

    site: str | None = Field(default=None, description="The SDC this DSS serves, e.g. SDC-FR")
    backend: str = Field(default="posix", description="Storage backend name (posix, memory)")
    root: Path | None = Field(default=None, description="Root directory of the posix backend")
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
        default=120.0, gt=0, description="A PUT whose body stalls this long is dropped (408)"
    )
