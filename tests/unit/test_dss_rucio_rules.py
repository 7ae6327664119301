"""The rucio backend's pure decisions: DID names, whether an RSE can take uploads."""

from __future__ import annotations

import pytest

from dss.paths import UnsafePath
from dss.rucio_backend import did_name
from dss.rucio_rse import RseMisconfigured, quota_problem, write_protocol_problem
from dss.rucio_store import upload_failure


def test_a_dss_path_is_the_did_name_when_rucio_allows_it() -> None:
    assert did_name("products/P1.fits") == "products/P1.fits"
    assert did_name("tile_0042/EUC-VIS.v1.fits") == "tile_0042/EUC-VIS.v1.fits"
    for bad in ("with space.fits", "a+b", "x" * 251, "ümlaut"):
        with pytest.raises(UnsafePath, match="cannot be a Rucio DID name"):
            did_name(bad)


def rse(*domains: dict[str, dict[str, int | None]], writable: bool = True) -> dict[str, object]:
    protocols = [{"scheme": "file", "domains": d} for d in domains]
    return {"rse": "SDC-DE_DISK", "availability_write": writable, "protocols": protocols}


def test_write_protocol_problems_name_the_fix() -> None:
    assert write_protocol_problem(rse({"wan": {"read": 1, "write": 1}})) is None
    assert write_protocol_problem(rse({"lan": {"write": 2}, "wan": {"write": None}})) is None
    problem = write_protocol_problem(rse({"lan": {"read": 1, "write": None}, "wan": {}}))
    assert problem is not None and "no protocol with a write priority (protocols: file)" in problem
    assert "rucio rse protocol remove SDC-DE_DISK --scheme SCHEME" in problem
    assert "--domain-json" in problem
    assert "protocols: none" in str(write_protocol_problem(rse()))
    closed = write_protocol_problem(rse({"wan": {"write": 1}}, writable=False))
    assert closed is not None and "not available for writing" in closed


def test_quota_problems_name_the_fix() -> None:
    assert quota_problem("root", "X_DISK", -1, False) is None  # infinity
    assert quota_problem("root", "X_DISK", 10**12, False) is None
    assert quota_problem("root", "X_DISK", None, True) is None  # a global limit covers it
    for none in (None, 0):
        problem = quota_problem("sdc", "X_DISK", none, False)
        assert problem is not None
        assert "rucio account limit set sdc --rse X_DISK --bytes infinity" in problem


def test_upload_failures_say_which_setup_is_wrong() -> None:
    quota = upload_failure("X", ["There is insufficient quota on any of the target RSE's"])
    assert isinstance(quota, RseMisconfigured) and "no quota left on RSE X" in str(quota)
    protocol = upload_failure("X", ["RSE does not support requested protocol."])
    assert isinstance(protocol, RseMisconfigured) and "refused the write" in str(protocol)
    assert "see the DSS log" in str(upload_failure("X", []))
