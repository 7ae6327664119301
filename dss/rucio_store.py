"""One RSE and one scope as the DSS's `rucio` backend sees them: every call to Rucio is here.

Uploads and downloads go through rucio-clients' UploadClient and DownloadClient, so Rucio
computes and checks the adler32 itself (the upload verifies the stored file; the download
compares the bytes it received with the catalogue). Each worker thread gets its own clients
(rucio-clients keeps a `requests.Session` per client and is not documented as thread-safe);
they share the auth token through the token file.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rucio.client.downloadclient import DownloadClient
from rucio.client.uploadclient import UploadClient
from rucio.common import exception as rucio_errors
from rucio.rse import rsemanager

from dss.backend import ContentConflict, CorruptStoredFile, StorageUnavailable
from dss.rucio_client import RucioUnreachable, rucio_client, rucio_errors_named
from dss.rucio_config import RucioConfig
from dss.rucio_names import DSS_PATH_KEY
from dss.rucio_rse import RseMisconfigured, quota_problem, write_protocol_problem

log = logging.getLogger(__name__)

RSE_INFO_SECONDS = 60.0  # how long an RSE's protocols and quota check are trusted
REPLICA_BATCH = 500  # DIDs per list_replicas call


@dataclass(frozen=True)
class Replica:
    """A file DID with an AVAILABLE replica at the RSE, as the catalogue describes it."""

    name: str
    size: int
    adler32: str
    md5: str | None


class RottenReplica(CorruptStoredFile):
    """Rucio's download found bytes on the RSE that do not match the catalogue's adler32."""


class _Log:
    """The logger shape rucio-clients wants (`.log` and callable); keeps the last errors."""

    def __init__(self) -> None:
        self.errors: list[str] = []

    def log(self, level: int, msg: object, *args: object, **kwargs: object) -> None:
        text = str(msg) % args if args else str(msg)
        if level >= logging.WARNING:
            self.errors.append(" ".join(text.split())[:300])
        log.log(min(level, logging.INFO), "rucio-clients: %s", text)

    __call__ = log


class RucioStore:
    """Files of one scope on one RSE, through one Rucio account."""

    def __init__(
        self,
        config: RucioConfig,
        rse: str,
        scope: str,
        *,
        rse_check_seconds: float = RSE_INFO_SECONDS,
    ) -> None:
        self.config = config
        self.rse = rse
        self.scope = scope
        self.rse_check_seconds = rse_check_seconds
        self._local = threading.local()
        self._checked_at: float | None = None
        self._rse_info: dict[str, Any] = {}

    @property
    def url(self) -> str:
        """The Rucio server, for messages."""
        return self.config.url or "(no rucio.url)"

    def calls(self, doing: str) -> Any:
        """A context naming the server and `doing` in every failure."""
        return rucio_errors_named(self.config, doing)

    def client(self) -> Any:
        """This thread's logged-in client."""
        client = getattr(self._local, "client", None)
        if client is None:
            client = rucio_client(self.config)
            self._local.client = client
        return client

    def check_rse(self, *, force: bool = False) -> None:
        """Raise RseMisconfigured (saying how to fix it) when uploads to the RSE cannot work."""
        fresh = self._checked_at is not None and (
            time.monotonic() - self._checked_at < self.rse_check_seconds
        )
        if fresh and not force:
            return
        client = self.client()
        with self.calls(f"checking RSE {self.rse}"):
            try:
                info = client.get_rse(self.rse)
            except rucio_errors.RSENotFound:
                raise RseMisconfigured(
                    f"RSE {self.rse} does not exist at Rucio {self.url} "
                    f"(check --rse / dss.rse, or `rucio rse add {self.rse}`)"
                ) from None
            account = self.config.account or ""
            local = client.get_local_account_limit(account, self.rse).get(self.rse)
            global_rses: set[str] = set()
            for expression in client.get_global_account_limits(account):
                global_rses |= {r["rse"] for r in client.list_rses(expression)}
        problem = write_protocol_problem(info) or quota_problem(
            account, self.rse, local, self.rse in global_rses
        )
        if problem:
            raise RseMisconfigured(problem)
        # rucio-clients' uploads and downloads look the RSE up through a module-level cache
        # that would otherwise build a Client from rucio.cfg: fill it from our client.
        rsemanager.RSE_REGION.set(f"rse_info_{self.rse}:{client.vo}", info)
        self._rse_info = info
        self._checked_at = time.monotonic()

    def state_here(self, name: str) -> str | None:
        """The state of `name`'s replica on the RSE in any state (None: no replica row)."""
        with self.calls(f"reading the replicas of {self.scope}:{name}"):
            answer = list(
                self.client().list_replicas(
                    [{"scope": self.scope, "name": name}], rse_expression=self.rse, all_states=True
                )
            )
        return next((row["states"].get(self.rse) for row in answer if row.get("states")), None)

    def restore(self, name: str) -> None:
        """After the bytes of a released replica were uploaded again: AVAILABLE, with a rule."""
        client = self.client()
        did = {"scope": self.scope, "name": name}
        with self.calls(f"restoring {self.scope}:{name} at {self.rse}"):
            client.update_replicas_states(self.rse, [{**did, "state": "A"}])
            try:
                client.add_replication_rule([did], copies=1, rse_expression=self.rse)
            except rucio_errors.DuplicateRule:
                # our rule, deleted softly (it expires when Rucio's judge-cleaner runs): keep it
                for rule in self._our_rules(name):
                    client.update_replication_rule(rule["id"], {"lifetime": None})

    def replicas(self, names: list[str]) -> dict[str, Replica]:
        """Those of `names` with an AVAILABLE replica at the RSE."""
        found: dict[str, Replica] = {}
        client = self.client()
        for start in range(0, len(names), REPLICA_BATCH):
            dids = [{"scope": self.scope, "name": n} for n in names[start : start + REPLICA_BATCH]]
            with self.calls("listing replicas"):
                answer = list(client.list_replicas(dids, rse_expression=self.rse))
            for row in answer:
                if row.get("states", {}).get(self.rse) == "AVAILABLE":
                    found[row["name"]] = Replica(
                        row["name"], int(row["bytes"]), row["adler32"], row.get("md5")
                    )
        return found

    def catalogued(self, name: str) -> Replica | None:
        """The file DID `name` whatever its replicas (None when Rucio has no such DID)."""
        with self.calls(f"reading {self.scope}:{name}"):
            try:
                meta = self.client().get_metadata(self.scope, name)
            except rucio_errors.DataIdentifierNotFound:
                return None
        return Replica(name, int(meta["bytes"] or 0), meta["adler32"], meta.get("md5"))

    def names(self, prefix: str) -> Iterator[str]:
        """File DID names of the scope starting with `prefix` (any replica state)."""
        with self.calls("listing DIDs"):
            answer = list(
                self.client().list_dids(self.scope, {"name": f"{prefix}*"}, did_type="file")
            )
        return (n for n in answer if n.startswith(prefix))

    def stored_paths(self, prefix: str) -> dict[str, str]:
        """DID name -> `dss_path` metadata, for the file DIDs whose `dss_path` starts with
        `prefix` (one filtered listing, then their metadata 1,000 a call)."""
        client = self.client()
        paths: dict[str, str] = {}
        with self.calls("listing DIDs by DSS path"):
            names = list(
                client.list_dids(self.scope, {DSS_PATH_KEY: f"{prefix}*"}, did_type="file")
            )
            for start in range(0, len(names), 1000):
                dids = [{"scope": self.scope, "name": n} for n in names[start : start + 1000]]
                for meta in client.get_metadata_bulk(dids, plugin="JSON"):
                    path = meta.get(DSS_PATH_KEY)
                    if isinstance(path, str) and path.startswith(prefix):  # LIKE's '_' is loose
                        paths[meta["name"]] = path
        return paths

    def stored_path(self, name: str) -> str | None:
        """The `dss_path` metadata of `name` (None: not set, or no such DID)."""
        with self.calls(f"reading the metadata of {self.scope}:{name}"):
            try:
                meta = self.client().get_metadata(self.scope, name, plugin="JSON")
            except rucio_errors.DataIdentifierNotFound:
                return None
        path = meta.get(DSS_PATH_KEY)
        return path if isinstance(path, str) else None

    def keep_path(self, name: str, path: str) -> None:
        """Record `path` as the `dss_path` metadata of `name`."""
        with self.calls(f"setting the metadata of {self.scope}:{name}"):
            self.client().set_metadata(self.scope, name, DSS_PATH_KEY, path)

    def upload(self, local: Path, name: str) -> None:
        """Upload a verified local file as `scope:name` to the RSE (Rucio checks adler32)."""
        self.check_rse()
        logger = _Log()
        uploader = UploadClient(_client=self.client(), logger=logger, tracing=False)
        item = {
            "path": str(local),
            "rse": self.rse,
            "did_scope": self.scope,
            "did_name": name,
            "register_after_upload": True,  # nothing is catalogued unless the bytes landed
        }
        with self.calls(f"uploading {self.scope}:{name} to {self.rse}"):
            try:
                uploader.upload([item])
            except (rucio_errors.NoFilesUploaded, rucio_errors.NotAllFilesUploaded) as exc:
                raise upload_failure(self.rse, logger.errors) from exc
            except rucio_errors.InsufficientAccountLimit as exc:
                raise upload_failure(self.rse, [str(exc)]) from exc

    def download(self, name: str, base_dir: Path) -> Path:
        """Download `scope:name` from the RSE into `base_dir`; Rucio verifies adler32."""
        self.check_rse()
        target = base_dir / name
        target.parent.mkdir(parents=True, exist_ok=True)  # rucio-clients does not, for a/b names
        logger = _Log()
        downloader = self._downloader(logger)
        item = {"did": f"{self.scope}:{name}", "rse": self.rse, "base_dir": str(base_dir)}
        with self.calls(f"downloading {self.scope}:{name} from {self.rse}"):
            try:
                downloader.download_dids([{**item, "no_subdir": True}])
            except rucio_errors.NoFilesDownloaded as exc:
                detail = "; ".join(logger.errors[-2:]) or "see the DSS log"
                if "checksum" in " ".join(logger.errors).lower():
                    raise RottenReplica(
                        f"the replica of {self.scope}:{name} on {self.rse} failed Rucio's adler32 "
                        f"check ({detail}); declare it bad in Rucio (`rucio replica state update "
                        f"bad`) so another copy is used"
                    ) from exc
                raise RucioUnreachable(f"download of {self.scope}:{name} failed: {detail}") from exc
        return target

    def release(self, name: str) -> int:
        """Take `name` off the RSE as far as a client may: drop this account's rules there
        (purging, so Rucio's reaper frees the bytes) and mark the replica UNAVAILABLE.
        A rule of another account keeps the file: ContentConflict naming it. Returns the
        number of rules dropped."""
        client = self.client()
        with self.calls(f"deleting {self.scope}:{name} at {self.rse}"):
            rules = [
                r
                for r in client.list_did_rules(self.scope, name)
                if r["rse_expression"] == self.rse
            ]
            others = [r for r in rules if r["account"] != self.config.account]
            if others:
                held = ", ".join(f"{r['id']} of account {r['account']}" for r in others)
                raise ContentConflict(
                    f"{self.scope}:{name} is kept on {self.rse} by rules {held}; not deleted"
                )
            for rule in rules:
                client.delete_replication_rule(rule["id"], purge_replicas=True)
            client.update_replicas_states(
                self.rse, [{"scope": self.scope, "name": name, "state": "U"}]
            )
        # Free the bytes now rather than when a reaper runs: the DSS's DELETE means gone, and
        # a later upload of the same bytes would otherwise find the leftover and skip.
        self.check_rse()
        with suppress(rucio_errors.SourceNotFound), self.calls(f"deleting the bytes of {name}"):
            rsemanager.delete(self._rse_info, [{"scope": self.scope, "name": name}])
        return len(rules)

    def _rules_here(self, name: str) -> list[dict[str, Any]]:
        rules = self.client().list_did_rules(self.scope, name)
        return [r for r in rules if r["rse_expression"] == self.rse]

    def _our_rules(self, name: str) -> list[dict[str, Any]]:
        return [r for r in self._rules_here(name) if r["account"] == self.config.account]

    def _downloader(self, logger: _Log) -> Any:
        downloader = getattr(self._local, "downloader", None)
        if downloader is None:  # its constructor probes `unzip` and `tar`: make one per thread
            downloader = DownloadClient(client=self.client(), logger=logger, tracing=False)
            self._local.downloader = downloader
        downloader.logger = logger.log  # what its constructor keeps
        return downloader


def upload_failure(rse: str, errors: list[str]) -> Exception:
    """The clearest exception for a failed upload, from the errors rucio-clients logged."""
    text = "; ".join(errors[-3:]) or "see the DSS log"
    if "quota" in text.lower() or "account limit" in text.lower():
        return RseMisconfigured(f"no quota left on RSE {rse}: {text}")
    if "protocol" in text.lower():
        return RseMisconfigured(f"RSE {rse} refused the write: {text}")
    return StorageUnavailable(f"upload to {rse} failed: {text}")
