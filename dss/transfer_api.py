"""`POST /api/v1/transfers`: this DSS pulls a product from another site's DSS.

The bytes go DSS to DSS; the agent or the CLI only asks. Only this site's agents and admins
may ask (the same rule as writing). The DSS acts with the caller's own token: the archive
lets an agent register replicas of its own site only, and any known token may read another
site's DSS, so the DSS needs no credential of its own.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import requests
from fastapi import APIRouter, Depends, Header, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from dss.backend import StorageBackend
from dss.client import StorageClient
from dss.config import DssConfig
from dss.replication import Destination, TransferPolicy, replicate
from dss.tokens import Identity
from dss.transfer import TransferOutcome
from eas.client import ArchiveClient
from eas.errors import ArchiveError


class TransferRequest(BaseModel):
    """Which product to bring to this site."""

    product_id: str = Field(min_length=1, max_length=128)
    wait_seconds: float | None = Field(
        default=None,
        ge=0,
        description="How long to wait for another transfer of the same product here "
        "(at most the DSS's own transfer_wait_seconds)",
    )


class NoArchive(Exception):
    """This DSS was started without an archive, so it cannot find sources or register."""


class ArchiveUnreachable(Exception):
    """The archive did not answer."""


def transfer_router(
    config: DssConfig, storage: StorageBackend, writer: Callable[..., Identity]
) -> APIRouter:
    """The transfers route of the DSS of `config.site` over `storage`."""
    router = APIRouter()
    policy = TransferPolicy(
        wait_seconds=config.transfer_wait_seconds, stale_seconds=config.transfer_stale_seconds
    )

    @router.post("/api/v1/transfers", dependencies=[Depends(writer)])
    def transfer(request: TransferRequest, authorization: str = Header(default="")) -> Response:
        """Copy the product here from its best source; 201 copied, 200 already here."""
        if not config.archive_url:
            raise NoArchive("this DSS has no archive (--archive-url) to find sources with")
        token = authorization.partition(" ")[2].strip()  # the writer check accepted it
        here = Destination(
            site=str(config.site),
            storage=storage,
            source_dss=lambda url: StorageClient(url, token),
        )
        wait = policy.wait_seconds
        if request.wait_seconds is not None:
            wait = min(wait, request.wait_seconds)
        try:
            with ArchiveClient(config.archive_url, token) as archive:
                result = replicate(
                    request.product_id, archive, here, replace(policy, wait_seconds=wait)
                )
        except requests.RequestException as exc:
            raise ArchiveUnreachable(f"archive unreachable at {config.archive_url}: {exc}") from exc
        status = 201 if result.outcome is TransferOutcome.COPIED else 200
        return JSONResponse(result.as_json(), status_code=status)

    return router


def archive_error_status(exc: ArchiveError) -> int:
    """The archive's refusal passed on as is; its own failures are a bad gateway."""
    return exc.status if 400 <= exc.status < 500 else 502
