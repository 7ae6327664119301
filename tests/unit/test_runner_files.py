"""The runner's file work: checksums learnt by opening, job directories made with few syscalls."""

from __future__ import annotations

import zlib
from pathlib import Path

import pytest

from sdc_agents.drm.protocol import JobSpec, make_job_dirs
from sdc_agents.pipeline import ComputingResources
from sdc_agents.pipeline.provenance import MISSING, ChecksumCache, files_of


def test_files_and_sums_of_a_file_a_directory_a_list_and_a_missing_path(tmp_path: Path) -> None:
    single = tmp_path / "a.fits"
    single.write_bytes(b"abc")
    directory = tmp_path / "frames"
    (directory / "sub").mkdir(parents=True)
    (directory / "sub" / "b.fits").write_bytes(b"b")
    (directory / "c.fits").write_bytes(b"")
    missing = tmp_path / "nothing"
    cache = ChecksumCache()
    value = [str(single), str(directory), str(missing)]
    assert cache.files(value) == files_of(value)
    assert cache.sums(str(single)) == {str(single): f"{zlib.adler32(b'abc'):08x}"}
    assert cache.of(directory / "c.fits") == ("00000001", 0)
    assert cache.sums(str(missing)) == {str(missing): MISSING[0]}


def test_forgetting_a_directory_forgets_its_files(tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    (out / "x").write_bytes(b"old")
    cache = ChecksumCache()
    before = cache.sums(str(out))
    (out / "x").write_bytes(b"new")
    (out / "y").write_bytes(b"more")
    assert cache.sums(str(out)) == before  # cached within a run
    cache.forget(str(out))
    assert cache.sums(str(out)) == {
        str(out / "x"): f"{zlib.adler32(b'new'):08x}",
        str(out / "y"): f"{zlib.adler32(b'more'):08x}",
    }


def _job(home: Path) -> JobSpec:
    return JobSpec("n", ["true"], home, home, home / "tmp", ComputingResources(), (home / "out",))


def test_job_dirs_are_made_with_their_parents_and_fresh_ones_emptied(tmp_path: Path) -> None:
    home = tmp_path / "nodes" / "each[3]" / "noop"
    make_job_dirs(_job(home))
    assert (home / "tmp").is_dir() and (home / "out").is_dir()
    (home / "out" / "stale").write_text("from an earlier attempt")
    (home / "tmp" / "kept").write_text("tmp is not fresh")
    make_job_dirs(_job(home))
    assert list((home / "out").iterdir()) == []
    assert (home / "tmp" / "kept").exists()


def test_a_file_where_a_job_directory_should_be_is_an_error(tmp_path: Path) -> None:
    home = tmp_path / "node"
    home.write_text("not a directory")
    with pytest.raises(FileExistsError):
        make_job_dirs(_job(home))
