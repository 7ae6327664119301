"""Whether an RSE can take the DSS's uploads: pure checks that say what is wrong and the fix."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dss.backend import StorageMisconfigured

DOMAIN_JSON = (
    '\'{"lan": {"read": 1, "write": 1, "delete": 1}, "wan": {"read": 1, "write": 1, '
    '"delete": 1, "third_party_copy_read": 1, "third_party_copy_write": 1}}\''
)


class RseMisconfigured(StorageMisconfigured):
    """The RSE or the account's quota on it does not allow the DSS to store files."""


def write_protocol_problem(info: Mapping[str, Any]) -> str | None:
    """Why no file can be written to the RSE described by `info` (get_rse's answer), or None."""
    rse = info.get("rse", "?")
    if info.get("availability_write") is False:
        return (
            f"RSE {rse} is not available for writing; fix: "
            f"`rucio rse update {rse} --key availability_write --value true`"
        )
    for protocol in info.get("protocols") or []:
        domains = protocol.get("domains") or {}
        if any((domains.get(d) or {}).get("write") for d in ("lan", "wan")):
            return None
    schemes = ", ".join(p.get("scheme", "?") for p in info.get("protocols") or []) or "none"
    return (
        f"RSE {rse} has no protocol with a write priority (protocols: {schemes}); fix: "
        f"`rucio rse protocol remove {rse} --scheme SCHEME` then `rucio rse protocol add {rse} "
        f"... --domain-json {DOMAIN_JSON}` (rucio stores NULL priorities unless given)"
    )


def quota_problem(
    account: str, rse: str, local_limit: float | None, global_limit: bool
) -> str | None:
    """Why `account` may not store on `rse`, or None.

    `local_limit` is the account's limit on the RSE (None: never set; -1 or inf: unlimited);
    `global_limit` says whether a global limit's RSE expression covers the RSE.
    """
    if global_limit or (local_limit is not None and local_limit != 0):
        return None
    return (
        f"account {account} has no quota on RSE {rse}; fix: "
        f"`rucio account limit set {account} --rse {rse} --bytes infinity` (or a size)"
    )
