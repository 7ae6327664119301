"""`sdc dss transfer` and `sdc dss audit` in a subprocess against a real archive and DSSs."""

from __future__ import annotations

import io
import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests import archive_support
from tests.acceptance.cli import run_sdc
from tests.federation import Federation, sqlite_federation

sqlite_template = archive_support.sqlite_template
DATA = os.urandom(256 * 1024)


@pytest.fixture
def world(sqlite_template: Path, tmp_path: Path) -> Iterator[Federation]:
    with sqlite_federation(sqlite_template, tmp_path) as world:
        yield world


def sdc_dss(world: Federation, *args: str, token: str = "admin") -> tuple[int, str, str]:
    """`sdc dss ARGS` with the archive and token given through the settings' environment."""
    env = {"SDC_DSS__ARCHIVE_URL": world.archive, "SDC_DSS__TOKEN": world.tokens[token]}
    result = run_sdc("dss", *args, env=env, timeout=120)
    return result.returncode, result.stdout, result.stderr


def test_transfer_from_the_command_line(world: Federation) -> None:
    world.publish("P-1", DATA, "SDC-FR")
    code, out, err = sdc_dss(world, "transfer", "P-1", "--to", "SDC-ES", "--json")
    assert code == 0, err
    assert json.loads(out)["outcome"] == "copied" and json.loads(out)["source"] == "SDC-FR"
    assert world.states("P-1")["SDC-ES"] == "AVAILABLE"


def test_transfer_bad_input_is_named(world: Federation) -> None:
    world.publish("P-2", DATA, "SDC-FR")
    code, _, err = sdc_dss(world, "transfer", "P-NOPE", "--to", "SDC-ES")
    assert code == 1 and "P-NOPE" in err
    code, _, err = sdc_dss(world, "transfer", "P-2", "--to", "SDC-XX")
    assert code == 1 and "unknown site 'SDC-XX'" in err
    assert "SDC-ES" not in world.states("P-2")
    unreachable = run_sdc(
        "dss", "transfer", "P-2", "--to", "SDC-ES",
        "--archive-url", "http://127.0.0.1:9", "--token", world.tokens["admin"],
    )  # fmt: skip
    assert unreachable.returncode == 1
    assert "cannot reach the archive at http://127.0.0.1:9" in unreachable.stderr


def test_audit_finds_dark_lost_and_bad_checksum_and_fix_is_idempotent(world: Federation) -> None:
    fr = world.roots["SDC-FR"]
    world.publish("P-good", DATA, "SDC-FR")
    lost = world.publish("P-lost", DATA[:1000], "SDC-FR")
    (fr / lost).unlink()
    bad = world.publish("P-bad", DATA[:2000], "SDC-FR")
    (fr / bad).write_bytes(bytes(2000))  # other bytes, same size: the kept checksums follow
    with world.storage("SDC-FR") as dss:
        dss.put("stray/dark.fits", io.BytesIO(b"nobody registered me"))

    code, out, err = sdc_dss(world, "audit", "--site", "SDC-FR", "--json", token="reader")
    assert code == 1, err
    found = json.loads(out)
    assert found["dark"] == ["stray/dark.fits"]
    assert found["lost"] == [lost] and found["bad_checksum"] == [bad]

    code, out, err = sdc_dss(world, "audit", "--site", "SDC-FR", "--fix", token="agent_fr")
    assert code == 0, out + err
    assert world.states("P-lost")["SDC-FR"] == "BAD" and world.states("P-bad")["SDC-FR"] == "BAD"
    assert world.states("P-good")["SDC-FR"] == "AVAILABLE"
    (kept,) = (fr / ".dss" / "quarantine").rglob("dark.fits")
    assert kept.read_bytes() == b"nobody registered me"  # quarantined, never deleted

    code, out, _ = sdc_dss(world, "audit", "--site", "SDC-FR", "--fix")  # again: nothing to do
    assert code == 0 and "agree" in out and "quarantine" not in out
