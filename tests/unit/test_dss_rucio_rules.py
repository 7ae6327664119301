"""The rucio backend's pure decisions: DID names, whether an RSE can take uploads."""

from __future__ import annotations

import pytest

from dss.paths import UnsafePath
from dss.rucio_names import (
    did_name,
    may_hold_products,
    other_name_patterns,
    path_of_other,
    product_id_of,
)
from dss.rucio_rse import RseMisconfigured, quota_problem, write_protocol_problem
from dss.rucio_store import upload_failure


def test_a_product_path_is_the_product_id_as_the_mirror_names_it() -> None:
    assert did_name("products/CALIBRATED_FRAME/9f2c01ab.fits") == "9f2c01ab"
    assert did_name("products/MER_CATALOG/9f2c01ab") == "9f2c01ab"
    assert product_id_of("products/T/ab.fits") == "ab"
    # not the agents' layout: a name with two suffixes, a deeper path, no type directory
    for other in ("products/T/ab.fits.gz", "products/T/sub/ab.fits", "products/ab.fits"):
        assert product_id_of(other) is None and did_name(other) == other


def test_other_paths_are_named_by_the_path_and_never_collide_with_a_product_id() -> None:
    assert did_name("tile_0042/EUC-VIS.v1.fits") == "tile_0042/EUC-VIS.v1.fits"
    assert did_name("a") == "dss/a"  # a bare name could be a product id
    assert did_name("dss/a") == "dss/dss/a"  # ... so dss/ is taken, and shifted once more
    for path in ("tile_0042/x.fits", "a", "dss/a", "dss/dss/b"):
        assert path_of_other(did_name(path)) == path
    assert path_of_other("9f2c01ab") is None
    for bad in ("with space.fits", "a+b", "x/" + "x" * 250, "ümlaut"):
        with pytest.raises(UnsafePath, match="cannot be a Rucio DID name"):
            did_name(bad)


def test_a_listing_looks_where_the_paths_under_its_prefix_are_named() -> None:
    assert other_name_patterns("") == [""]
    assert other_name_patterns("logs/") == ["logs/"]
    assert other_name_patterns("a") == ["a", "dss/a"]
    assert other_name_patterns("dss/") == ["dss/dss/"]
    assert may_hold_products("") and may_hold_products("prod") and may_hold_products("products/T/")
    assert not may_hold_products("logs/") and not may_hold_products("products/T/x.fits/")


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
