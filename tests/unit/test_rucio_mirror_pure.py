"""The Rucio mirror's decisions without a server: naming, what a sync adds, the audit."""

from __future__ import annotations

from eas.rucio_mirror import ProductRecord, compare, file_meta, plan_sync
from eas.rucio_mirror.audit import ArchiveCopy, RucioCopy
from eas.rucio_mirror.sync import ReplicaSeen, RucioState, attachment_batches

TILE = ("wide", "tile-7")


def _product(pid: str, obs: int | None = 1, tile: int | None = None, adler: str = "00000001"):
    return ProductRecord(pid, "wide", "RAW", "1.0", 10, adler, obs_id=obs, tile_id=tile)


def test_file_meta_carries_the_product_and_drops_rucio_reserved_keys() -> None:
    p = ProductRecord(
        "p", "wide", "CAL", "2.1", 5, "00000001", obs_id=3, metadata={"band": "H", "name": "x"}
    )
    assert file_meta(p) == {"band": "H", "product_type": "CAL", "version": "2.1", "obs_id": 3}


def test_sync_plans_replicas_datasets_and_attachments_then_nothing() -> None:
    products = [_product("a", 1, 7), _product("b", 1), _product("c", None, None)]
    plan = plan_sync(products, RucioState())
    assert [p.product_id for p in plan.new_replicas] == ["a", "b", "c"]
    assert plan.new_datasets == [("wide", "obs-1"), ("wide", "tile-7")]
    assert plan.attachments == {
        ("wide", "obs-1"): [("wide", "a"), ("wide", "b")],
        ("wide", "tile-7"): [("wide", "a")],
    }
    assert plan.attached_files == 3 and plan.meta_updates == []
    done = RucioState(
        {
            ("wide", "a"): ReplicaSeen(
                "00000001", frozenset({("wide", "obs-1"), ("wide", "tile-7")})
            ),
            ("wide", "b"): ReplicaSeen("00000001", frozenset({("wide", "obs-1")})),
            ("wide", "c"): ReplicaSeen("00000001"),
        },
        frozenset({("wide", "obs-1"), ("wide", "tile-7")}),
    )
    again = plan_sync(products, done)
    assert again.changes == 0 and again.in_place == 3


def test_sync_reattaches_a_file_left_unattached_and_skips_a_mismatch() -> None:
    state = RucioState(
        {("wide", "a"): ReplicaSeen("00000001"), ("wide", "m"): ReplicaSeen("ffffffff")},
        frozenset({("wide", "obs-1")}),
    )
    plan = plan_sync([_product("a"), _product("m")], state)
    assert plan.new_replicas == [] and plan.new_datasets == []
    assert plan.attachments == {("wide", "obs-1"): [("wide", "a")]}
    # a file Rucio has outside its datasets (a Rucio-backed DSS wrote it): metadata set too
    assert [p.product_id for p in plan.meta_updates] == ["a"]
    assert [(m.product.product_id, m.rucio_adler32) for m in plan.mismatches] == [("m", "ffffffff")]


def test_attachment_batches_never_exceed_the_size() -> None:
    attachments = {("s", f"d{i}"): [("s", f"f{i}-{j}") for j in range(700)] for i in range(3)}
    batches = list(attachment_batches(attachments, 1000))
    assert all(sum(len(f) for _, f in b) <= 1000 for b in batches)
    assert sum(len(f) for b in batches for _, f in b) == 2100


def test_audit_finds_each_kind_of_difference() -> None:
    archive = {
        "same": ArchiveCopy("same", "00000001", "/d/same", "AVAILABLE"),
        "ours": ArchiveCopy("ours", "00000001", "/d/ours", "AVAILABLE"),
        "bad": ArchiveCopy("bad", "00000001", "/d/bad", "AVAILABLE"),
        "known": ArchiveCopy("known", "00000002", None, None),
        "copying": ArchiveCopy("copying", "00000002", None, "COPYING"),
    }
    rucio = {
        pid: RucioCopy("wide", pid, adler, f"file:///{pid}", "AVAILABLE")
        for pid, adler in (
            ("same", "00000001"),
            ("bad", "0000beef"),
            ("known", "00000002"),
            ("copying", "00000002"),
            ("stranger", "00000003"),
        )
    }
    report = compare("SDC-DE", "SDC-DE_DISK", archive, rucio)
    kinds = {d.product_id: (d.kind, d.fixable) for d in report.differences}
    assert kinds == {
        "ours": ("archive_only", False),
        "bad": ("checksum_mismatch", False),
        "known": ("rucio_only", True),
        "copying": ("rucio_only", False),
        "stranger": ("rucio_only", False),
    }
    assert report.agreeing == 1


def test_a_known_product_with_another_checksum_in_rucio_is_a_mismatch_not_fixable() -> None:
    archive = {"k": ArchiveCopy("k", "00000001", None, None)}
    rucio = {"k": RucioCopy("wide", "k", "00000009", None, "AVAILABLE")}
    (only,) = compare("S", "R", archive, rucio).differences
    assert only.kind == "checksum_mismatch" and not only.fixable


def test_attachment_batches_keep_datasets_in_name_order() -> None:
    attachments = {("s", name): [("s", f"{name}-{j}") for j in range(3)] for name in "cab"}
    batches = list(attachment_batches(attachments, 4))
    assert [[ds for ds, _ in batch] for batch in batches] == [
        [("s", "a")],
        [("s", "b")],
        [("s", "c")],
    ]
