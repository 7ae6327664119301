"""The pure parts of audit and transfer: findings and the choice of source replica."""

from __future__ import annotations

from dss.audit import (
    AuditReport,
    ExpectedReplica,
    Fix,
    FixKind,
    ReplicaState,
    compare,
    fixes_for,
)
from dss.backend import FileStat
from dss.transfer import (
    AlreadyThere,
    CopyFrom,
    CopyInProgress,
    NoSource,
    SiteReplica,
    choose_source,
)

AVAILABLE, COPYING, BAD = ReplicaState.AVAILABLE, ReplicaState.COPYING, ReplicaState.BAD


def on_disk(path: str, adler32: str = "0000000a", size: int = 10) -> FileStat:
    return FileStat(path, size, adler32, "0" * 32)


def expected(
    path: str, state: ReplicaState = AVAILABLE, adler32: str = "0000000a"
) -> ExpectedReplica:
    return ExpectedReplica(path, 10, adler32, state)


def test_agreement_is_clean() -> None:
    report = compare([on_disk("a"), on_disk("b")], [expected("a"), expected("b")])
    assert report.clean and report.checked == 2


def test_dark_lost_and_bad_checksum_are_told_apart() -> None:
    report = compare(
        [on_disk("dark"), on_disk("ok"), on_disk("rotten", adler32="deadbeef")],
        [expected("ok"), expected("gone"), expected("rotten")],
    )
    assert report == AuditReport(
        dark=("dark",), lost=("gone",), bad_checksum=("rotten",), checked=4
    )


def test_size_difference_counts_as_bad() -> None:
    report = compare([on_disk("a", size=9)], [expected("a")])
    assert report.bad_checksum == ("a",)


def test_copying_and_bad_replicas_are_neither_lost_nor_dark() -> None:
    report = compare([on_disk("half")], [expected("half", COPYING), expected("dead", BAD)])
    assert report.clean


def test_fixes_mark_bad_and_quarantine_never_delete() -> None:
    plan = fixes_for(AuditReport(dark=("d",), lost=("l",), bad_checksum=("b",)))
    assert plan.steps == (
        Fix(FixKind.MARK_BAD, "l"),
        Fix(FixKind.MARK_BAD, "b"),
        Fix(FixKind.QUARANTINE, "d"),
    )


def replica(site: str, state: ReplicaState = AVAILABLE, cost: float = 1.0) -> SiteReplica:
    return SiteReplica(site, state, f"p/{site}", cost)


def test_cheapest_available_source_outside_maintenance_wins() -> None:
    replicas = [
        replica("SDC-FR", cost=1.0),
        replica("SDC-IT", cost=0.5),
        replica("SDC-DE", BAD, cost=0.1),
        replica("SDC-NL", COPYING, cost=0.1),
        replica("SDC-UK", cost=0.2),
    ]
    decision = choose_source(replicas, "SDC-ES", in_maintenance={"SDC-UK"})
    assert decision == CopyFrom(replica("SDC-IT", cost=0.5))


def test_ties_break_on_site_name() -> None:
    decision = choose_source([replica("SDC-IT"), replica("SDC-DE")], "SDC-ES", ())
    assert isinstance(decision, CopyFrom) and decision.source.site == "SDC-DE"


def test_destination_already_has_it_or_is_copying() -> None:
    assert choose_source([replica("SDC-ES"), replica("SDC-FR")], "SDC-ES", ()) == AlreadyThere()
    copying = [replica("SDC-ES", COPYING), replica("SDC-FR")]
    assert choose_source(copying, "SDC-ES", ()) == CopyInProgress()


def test_no_source_says_why() -> None:
    only_maintained = choose_source([replica("SDC-FR")], "SDC-ES", {"SDC-FR"})
    assert isinstance(only_maintained, NoSource) and "maintenance" in only_maintained.reason
    nothing = choose_source([replica("SDC-FR", BAD)], "SDC-ES", ())
    assert nothing == NoSource("no AVAILABLE replica anywhere")
