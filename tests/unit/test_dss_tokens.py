"""Tokens: the access rules, the static token file, the archive verifier and its cache."""

from __future__ import annotations

from pathlib import Path

import pytest

from dss.archive_tokens import ArchiveTokenVerifier
from dss.static_tokens import StaticTokenVerifier, TokenFileError
from dss.tokens import (
    Access,
    Identity,
    Role,
    Verdict,
    VerifierUnavailable,
    authorize,
    token_digest,
)
from tests.dss_fixtures import WhoamiArchive

READ, WRITE = Access.READ, Access.WRITE
FR_AGENT = Identity("agent-fr", Role.AGENT, "SDC-FR")


@pytest.mark.parametrize(
    ("identity", "access", "verdict"),
    [
        (None, READ, Verdict.UNAUTHENTICATED),
        (None, WRITE, Verdict.UNAUTHENTICATED),
        (Identity("r", Role.READER), READ, Verdict.ALLOWED),
        (Identity("r", Role.READER), WRITE, Verdict.FORBIDDEN),
        (Identity("p", Role.PLANNER), WRITE, Verdict.FORBIDDEN),
        (FR_AGENT, WRITE, Verdict.ALLOWED),
        (Identity("agent-es", Role.AGENT, "SDC-ES"), WRITE, Verdict.FORBIDDEN),
        (Identity("agent-es", Role.AGENT, "SDC-ES"), READ, Verdict.ALLOWED),
        (Identity("agent-x", Role.AGENT, None), WRITE, Verdict.FORBIDDEN),
        (Identity("root", Role.ADMIN), WRITE, Verdict.ALLOWED),
    ],
)
def test_access_rules_on_the_dss_of_sdc_fr(
    identity: Identity | None, access: Access, verdict: Verdict
) -> None:
    assert authorize(identity, access, "SDC-FR").verdict is verdict


def test_wrong_site_reason_names_both_sites() -> None:
    decision = authorize(Identity("agent-es", Role.AGENT, "SDC-ES"), WRITE, "SDC-FR")
    assert "SDC-ES" in decision.reason and "SDC-FR" in decision.reason


def test_static_token_file(tmp_path: Path) -> None:
    path = tmp_path / "tokens.yaml"
    path.write_text(
        f"tokens:\n  - {{sha256: {token_digest('s3cret')}, name: a, role: agent, site: SDC-FR}}\n"
    )
    verifier = StaticTokenVerifier.from_file(path)
    assert verifier.identify("s3cret", READ) == FR_AGENT.__class__("a", Role.AGENT, "SDC-FR")
    assert verifier.identify("other", READ) is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("tokens: [unclosed", "malformed YAML"),
        ("other: 1", "'tokens:' list"),
        ("tokens:\n  - {sha256: abc, name: a, role: agent}", r"tokens\[0\]: 'sha256'"),
        (f"tokens:\n  - {{sha256: {'a' * 64}, name: a, role: boss}}", "role 'boss'"),
        (f"tokens:\n  - {{sha256: {'a' * 64}, role: reader}}", "'name'"),
    ],
)
def test_bad_token_file_is_named(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "tokens.yaml"
    path.write_text(text)
    with pytest.raises(TokenFileError, match=message) as info:
        StaticTokenVerifier.from_file(path)
    assert str(path) in str(info.value)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_archive_unreachable_and_nothing_cached() -> None:
    verifier = ArchiveTokenVerifier("http://127.0.0.1:9", timeout=1, clock=Clock())
    with pytest.raises(VerifierUnavailable, match="unreachable"):
        verifier.identify("t", READ)


def test_archive_answer_with_unknown_role_is_refused() -> None:
    with WhoamiArchive({"t": {"name": "x", "role": "overlord", "site": None}}) as archive:
        verifier = ArchiveTokenVerifier(archive.url, clock=Clock())
        with pytest.raises(VerifierUnavailable, match="overlord"):
            verifier.identify("t", READ)
