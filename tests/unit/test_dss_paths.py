"""Path safety: traversal, absolute paths, the reserved area and symlink escapes."""

from __future__ import annotations

from pathlib import Path

import pytest

from dss.paths import UnsafePath, inside_root, storage_path, storage_prefix


@pytest.mark.parametrize(
    "bad",
    ["", "/etc/passwd", "../x", "a/../../x", "a/./b", "a//b", "a/", ".dss/tmp/x", "a\\b", "a\0b"],
)
def test_unsafe_paths_are_refused(bad: str) -> None:
    with pytest.raises(UnsafePath):
        storage_path(bad)


@pytest.mark.parametrize("good", ["a", "a/b/c.fits", "EUC_VIS_0001.fits", "..a/b..", ".hidden"])
def test_ordinary_paths_pass(good: str) -> None:
    assert storage_path(good) == good


def test_prefix_may_be_empty_or_end_in_slash() -> None:
    assert storage_prefix("") == ""
    assert storage_prefix("tile/") == "tile/"
    with pytest.raises(UnsafePath):
        storage_prefix("../")


def test_symlink_out_of_the_root_is_refused(tmp_path: Path) -> None:
    root, outside = tmp_path / "root", tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    (outside / "secret").write_text("x")
    (root / "escape").symlink_to(outside)
    with pytest.raises(UnsafePath, match="outside the root"):
        inside_root(root, "escape/secret")


def test_symlink_inside_the_root_is_followed(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    (tmp_path / "alias").symlink_to(tmp_path / "real")
    assert inside_root(tmp_path, "alias/f") == (tmp_path / "real" / "f").resolve()


def test_symlink_into_the_reserved_area_is_refused(tmp_path: Path) -> None:
    (tmp_path / ".dss" / "tmp").mkdir(parents=True)
    (tmp_path / "peek").symlink_to(tmp_path / ".dss" / "tmp")
    with pytest.raises(UnsafePath, match="reserved"):
        inside_root(tmp_path, "peek/x")
