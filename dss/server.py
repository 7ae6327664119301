"""The site's storage service over HTTP: `create_app(config)` builds the FastAPI app."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI, Header, HTTPException, Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect

from dss.backend import (
    ChecksumMismatch,
    ContentConflict,
    CorruptStoredFile,
    FileMissing,
    FileStat,
    PutOutcome,
    StorageBackend,
    StorageFull,
    StorageMisconfigured,
    StorageUnavailable,
)
from dss.config import DssConfig
from dss.paths import UnsafePath, storage_path, storage_prefix
from dss.receive import (
    BadUpload,
    StalledUpload,
    TruncatedUpload,
    declared_checksums,
    expected_length,
    receive_upload,
)
from dss.registry import open_backend, open_verifier
from dss.replication import SourceFailed, TransferRefused
from dss.responses import checksum_headers, file_response
from dss.rucio_config import RucioConfig
from dss.socket_body import CloseTakenConnections
from dss.tokens import Access, Identity, TokenVerifier, Verdict, VerifierUnavailable, authorize
from dss.transfer_api import ArchiveUnreachable, NoArchive, archive_error_status, transfer_router
from eas.errors import ArchiveError

log = logging.getLogger(__name__)

ERROR_HEADER = "X-DSS-Error"
STATUS_OF: dict[type[Exception], int] = {
    UnsafePath: 400,
    BadUpload: 400,
    TruncatedUpload: 400,
    StalledUpload: 408,
    FileMissing: 404,
    ContentConflict: 409,
    ChecksumMismatch: 422,
    StorageFull: 507,
    StorageMisconfigured: 507,
    CorruptStoredFile: 502,
    StorageUnavailable: 503,
    VerifierUnavailable: 503,
    TransferRefused: 409,
    NoArchive: 501,
    SourceFailed: 502,
    ArchiveUnreachable: 503,
}


def create_app(
    config: DssConfig,
    *,
    backend: StorageBackend | None = None,
    verifier: TokenVerifier | None = None,
    rucio: RucioConfig | None = None,
) -> FastAPI:
    """The DSS of `config.site`; backend and verifier default to what `config` names
    (`rucio`: the Rucio settings, for the rucio backend)."""
    if not config.site:
        raise ValueError("the DSS needs the name of the site it serves (--site / dss.site)")
    site = config.site
    store = backend if backend is not None else open_backend(config, rucio)
    tokens = verifier if verifier is not None else open_verifier(config)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        swept = await run_in_threadpool(store.sweep_temporaries)
        log.info("DSS %s: swept %d interrupted upload(s) at start", site, swept)
        yield

    app = FastAPI(title=f"DSS {site}", lifespan=lifespan)
    app.add_middleware(CloseTakenConnections)
    for kind, status in STATUS_OF.items():
        app.add_exception_handler(kind, _error_as(status))
    app.add_exception_handler(ArchiveError, _archive_refusal)
    reader = _access_dependency(tokens, Access.READ, site)
    writer = _access_dependency(tokens, Access.WRITE, site)
    app.include_router(transfer_router(config, store, writer))

    @app.get("/api/v1/health")
    def health() -> dict[str, str]:
        """Liveness: which site this is (no token needed)."""
        return {"site": site, "status": "ok"}

    @app.get("/api/v1/files", dependencies=[Depends(reader)])
    def list_files(prefix: str = "") -> dict[str, object]:
        """Every stored file whose path starts with `prefix`."""
        files = list(store.list(storage_prefix(prefix)))
        return {"site": site, "prefix": prefix, "files": [_as_json(f) for f in files]}

    @app.put("/api/v1/files/{path:path}")
    async def put_file(path: str, request: Request, who: Identity = Depends(writer)) -> Response:
        """Stream the body to a temporary, verify the declared checksums, publish atomically."""
        target = storage_path(path)
        declared = declared_checksums(request.headers)
        length = expected_length(request.headers)
        upload = await run_in_threadpool(store.begin_upload, target)
        try:
            idle = config.body_idle_timeout_seconds
            outcome, stat = await receive_upload(
                request.scope, request.receive, upload, declared, length, idle
            )
        except ClientDisconnect:
            log.info("DSS %s: client went away during PUT %s; upload dropped", site, target)
            return Response(status_code=400)
        log.info("DSS %s: %s PUT %s: %s", site, who.name, target, outcome.value)
        status = 201 if outcome is PutOutcome.CREATED else 200
        return JSONResponse(_as_json(stat), status_code=status, headers=checksum_headers(stat))

    @app.head("/api/v1/files/{path:path}", dependencies=[Depends(reader)])
    def head_file(path: str) -> Response:
        """Size and kept checksums, no body."""
        stat = store.stat(storage_path(path))
        headers = checksum_headers(stat) | {"Content-Length": str(stat.size)}
        return Response(headers=headers | {"Accept-Ranges": "bytes"})

    @app.get("/api/v1/files/{path:path}", dependencies=[Depends(reader)])
    def get_file(path: str, range: str | None = Header(default=None)) -> Response:
        """The bytes (sendfile where possible), honouring a `Range`."""
        stat = store.stat(storage_path(path))
        return file_response(store, stat, range, config.body_idle_timeout_seconds)

    @app.post("/api/v1/quarantine/{path:path}")
    def quarantine_file(path: str, who: Identity = Depends(writer)) -> dict[str, str]:
        """Move a stored file under `.dss/quarantine/`: the audit's fix for dark files."""
        target = storage_path(path)
        where = store.quarantine(target)
        log.info("DSS %s: %s quarantined %s as %s", site, who.name, target, where)
        return {"path": target, "quarantined_as": where}

    @app.delete("/api/v1/files/{path:path}", status_code=204)
    def delete_file(path: str, who: Identity = Depends(writer)) -> Response:
        """Remove a stored file."""
        target = storage_path(path)
        store.delete(target)
        log.info("DSS %s: %s deleted %s", site, who.name, target)
        return Response(status_code=204)

    return app


def _access_dependency(
    tokens: TokenVerifier, access: Access, site: str
) -> Callable[[str | None], Identity]:
    def check(authorization: str | None = Header(default=None)) -> Identity:
        token = _bearer(authorization)
        identity = None if token is None else tokens.identify(token, access)
        decision = authorize(identity, access, site)
        if decision.verdict is not Verdict.ALLOWED or identity is None:
            headers = {"WWW-Authenticate": "Bearer"}
            raise HTTPException(decision.verdict.value, decision.reason, headers=headers)
        return identity

    return check


def _bearer(authorization: str | None) -> str | None:
    if authorization is None:
        return None
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def _archive_refusal(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ArchiveError)
    return _error_as(archive_error_status(exc))(request, exc)


def _error_as(status: int) -> Callable[[Request, Exception], Response]:
    def handler(request: Request, exc: Exception) -> Response:
        # The header repeats the reason for HEAD, whose answers carry no body.
        reason = str(exc).encode("ascii", "backslashreplace").decode()[:500]
        return JSONResponse(
            {"detail": str(exc)}, status_code=status, headers={ERROR_HEADER: reason}
        )

    return handler


def _as_json(stat: FileStat) -> dict[str, object]:
    return {"path": stat.path, "size": stat.size, "adler32": stat.adler32, "md5": stat.md5}
