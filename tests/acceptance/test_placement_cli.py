"""`sdc placement` end to end, in a subprocess, as a user runs it."""

from __future__ import annotations

import csv
import json
import re
import subprocess
from pathlib import Path

import pytest

from tests.acceptance.cli import run_sdc

CONFIG = Path(__file__).resolve().parents[2] / "config"
SITES = ["--sites", str(CONFIG / "sites.yaml"), "--maintenance", str(CONFIG / "maintenance.yaml")]


@pytest.fixture(scope="module")
def survey(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("survey")
    result = run_sdc(
        "placement", "generate-survey", "--days", "10", "--seed", "3", "--out", str(out)
    )
    assert result.returncode == 0, result.stderr
    return out


def test_solve_then_check_report_explain(survey: Path, tmp_path: Path) -> None:
    plan = tmp_path / "plan.json"
    solved = run_sdc(
        "placement",
        "solve",
        "--survey",
        str(survey),
        *SITES,
        "--out",
        str(plan),
        "--time-limit",
        "4",
        "--workers",
        "1",
    )
    assert solved.returncode == 0, solved.stderr
    checked = run_sdc("placement", "check", str(plan), "--survey", str(survey), *SITES, "--json")
    assert checked.returncode == 0, checked.stdout + checked.stderr
    verdict = json.loads(checked.stdout)
    stats = json.loads(plan.read_text())["stats"]
    assert verdict["ok"] and verdict["metrics"]["copies_gb"] == pytest.approx(stats["copies_gb"])
    report = run_sdc(
        "placement",
        "report",
        str(plan),
        "--survey",
        str(survey),
        *SITES,
        "--out",
        str(tmp_path / "r"),
    )
    assert report.returncode == 0, report.stderr
    assert (tmp_path / "r" / "sky_map.png").stat().st_size > 0
    assert "copies_fraction" in (tmp_path / "r" / "summary.md").read_text()
    explained = run_sdc(
        "placement", "explain", "OBS-000004", str(plan), "--survey", str(survey), *SITES
    )
    assert explained.returncode == 0 and "primary" in explained.stdout
    tile = run_sdc(
        "placement", "explain", "TILE-000001", str(plan), "--survey", str(survey), *SITES
    )
    assert tile.returncode == 0 and "processed at" in tile.stdout
    unknown = run_sdc("placement", "explain", "NOPE", str(plan), "--survey", str(survey), *SITES)
    assert unknown.returncode == 1 and "NOPE" in unknown.stderr


def test_a_broken_plan_fails_the_check(survey: Path, tmp_path: Path) -> None:
    plan = tmp_path / "rr.json"
    made = run_sdc(
        "placement",
        "baseline",
        "--method",
        "round-robin",
        "--survey",
        str(survey),
        *SITES,
        "--out",
        str(plan),
    )
    assert made.returncode == 0, made.stderr
    data = json.loads(plan.read_text())
    first = next(iter(data["observations"].values()))
    first["secondary"] = first["primary"]
    plan.write_text(json.dumps(data))
    checked = run_sdc("placement", "check", str(plan), "--survey", str(survey), *SITES)
    assert checked.returncode == 1
    assert "primary and secondary are both" in checked.stdout


def test_infeasible_input_exits_3_and_writes_nothing(survey: Path, tmp_path: Path) -> None:
    names = [f"SDC-{c}" for c in ("FR", "IT", "DE", "ES", "UK", "NL", "CH", "FI", "US")]
    down = "\n".join(
        f'  - {{site: {n}, start: "2026-12-30T00:00:00Z", end: "2027-01-03T00:00:00Z", '
        'reason: "all down"}'
        for n in names
    )
    maintenance = tmp_path / "m.yaml"
    maintenance.write_text("maintenance:\n" + down + "\n")
    plan = tmp_path / "plan.json"
    result = run_sdc(
        "placement",
        "solve",
        "--survey",
        str(survey),
        "--sites",
        str(CONFIG / "sites.yaml"),
        "--maintenance",
        str(maintenance),
        "--out",
        str(plan),
    )
    assert result.returncode == 3
    assert (
        "2027-01-01" in result.stderr
        and "SDC-FR" in result.stderr
        and "maintenance" in result.stderr
    )
    assert not plan.exists()


def _survey_with(survey: Path, out: Path, csv_name: str, column: str, value: str) -> Path:
    """A copy of `survey` whose first row of `csv_name` has `value` in `column`."""
    out.mkdir()
    for name in ("observations.csv", "tiles.csv"):
        with (survey / name).open(newline="") as stream:
            rows = list(csv.DictReader(stream))
        if name == csv_name:
            rows[0][column] = value
        with (out / name).open("w", newline="") as stream:
            writer = csv.DictWriter(stream, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
    return out


@pytest.mark.parametrize(
    ("csv_name", "column", "value"),
    [
        ("observations.csv", "ra_deg", "400.0"),
        ("observations.csv", "dec_deg", "-95"),
        ("tiles.csv", "dec_deg", "91"),
        ("observations.csv", "size_gb", "nan"),
    ],
)
def test_a_position_off_the_sky_or_a_nan_is_refused(
    survey: Path, tmp_path: Path, csv_name: str, column: str, value: str
) -> None:
    bad = _survey_with(survey, tmp_path / "bad", csv_name, column, value)
    plan = tmp_path / "plan.json"
    solved = run_sdc(
        "placement", "solve", "--survey", str(bad), *SITES, "--out", str(plan),
        "--time-limit", "5", "--workers", "1",
    )  # fmt: skip
    assert solved.returncode == 1, solved.stdout + solved.stderr
    assert f"{bad / csv_name}: line 2: field `{column}`" in solved.stderr
    assert "Traceback" not in solved.stderr
    assert not plan.exists()


def test_a_plan_for_another_survey_is_refused(survey: Path, tmp_path: Path) -> None:
    """Checking or publishing a plan against a survey it was not made for used to pass
    on the common ids (both surveys number from OBS-000000) and, for publish, store it."""
    other = tmp_path / "other"
    made = run_sdc(
        "placement", "generate-survey", "--days", "2", "--seed", "4", "--out", str(other)
    )
    assert made.returncode == 0, made.stderr
    plan = tmp_path / "plan.json"
    base = run_sdc(
        "placement", "baseline", "--method", "round-robin", "--survey", str(survey), *SITES,
        "--out", str(plan),
    )  # fmt: skip
    assert base.returncode == 0, base.stderr
    for command in ("check", "report", "publish"):
        extra = ["--out", str(tmp_path / "report")] if command == "report" else []
        result = run_sdc(
            "placement", command, str(plan), "--survey", str(other), *SITES, *extra,
            cwd=tmp_path,
        )  # fmt: skip
        assert result.returncode == 1, (command, result.stdout, result.stderr)
        assert "made for another survey" in result.stderr and str(plan) in result.stderr
    assert not (tmp_path / "report").exists()
    assert not (tmp_path / "sdc-data").exists()  # publish stored nothing


def test_counts_are_printed_as_counts(survey: Path, tmp_path: Path) -> None:
    """The metrics table printed 'violations 8.000' and 'observations 994.000'."""
    base = run_sdc(
        "placement", "baseline", "--method", "round-robin", "--survey", str(survey), *SITES,
        "--out", str(tmp_path / "rr.json"),
    )  # fmt: skip
    assert base.returncode == 0, base.stderr
    assert re.search(r"violations\s*│\s*\d+\s*│", base.stdout), base.stdout
    assert re.search(r"copies_gb\s*│\s*[\d,]+\.\d{3}\s*│", base.stdout), base.stdout


def test_a_missing_default_sites_file_says_it_is_the_default(survey: Path, tmp_path: Path) -> None:
    """Outside the repository 'config/sites.yaml: cannot read' did not say it was a default."""
    result = run_sdc("placement", "check", "plan.json", "--survey", str(survey), cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    assert "no --sites given" in result.stderr and "placement.sites_file" in result.stderr
    only_sites = run_sdc(
        "placement", "check", "plan.json", "--survey", str(survey),
        "--sites", str(CONFIG / "sites.yaml"), cwd=tmp_path,
    )  # fmt: skip
    assert only_sites.returncode == 1 and "no --maintenance given" in only_sites.stderr


def test_bad_input_and_publish(survey: Path, tmp_path: Path) -> None:
    missing = run_sdc(
        "placement", "check", str(tmp_path / "none.json"), "--survey", str(survey), *SITES
    )
    assert missing.returncode == 1 and "none.json" in missing.stderr
    publish = run_sdc("placement", "publish", str(tmp_path / "none.json"))
    assert publish.returncode == 2 and "--survey" in publish.stderr  # usage error
    publish = run_sdc(
        "placement", "publish", str(tmp_path / "none.json"), "--survey", str(survey), *SITES
    )
    assert publish.returncode == 1 and "none.json" in publish.stderr


def _with_outage(tmp_path: Path, name: str, site: str, start: str, end: str) -> Path:
    """The shipped calendar plus one new outage, as a user would edit it."""
    path = tmp_path / name
    extra = f'  - {{site: {site}, start: "{start}", end: "{end}", reason: "new outage"}}\n'
    path.write_text((CONFIG / "maintenance.yaml").read_text() + extra)
    return path


def _first_plan(survey: Path, tmp_path: Path) -> Path:
    """A plan of the survey with the shipped calendar, to re-plan from."""
    plan = tmp_path / "plan.json"
    first = run_sdc(
        "placement", "solve", "--survey", str(survey), *SITES, "--out", str(plan),
        "--time-limit", "4", "--workers", "1",
    )  # fmt: skip
    assert first.returncode == 0, first.stderr
    return plan


def _replan(
    survey: Path, previous: tuple[Path, str], maintenance: Path, out: Path
) -> subprocess.CompletedProcess[str]:
    """`solve --previous PLAN --frozen-until WHEN` with this calendar, 5 s, one worker."""
    plan, frozen_until = previous
    return run_sdc(
        "placement", "solve", "--survey", str(survey), "--sites", str(CONFIG / "sites.yaml"),
        "--maintenance", str(maintenance), "--out", str(out), "--time-limit", "5",
        "--workers", "1", "--previous", str(plan), "--frozen-until", frozen_until,
    )  # fmt: skip


@pytest.mark.slow
def test_replan_after_new_maintenance_then_frozen_work_on_a_down_site(
    survey: Path, tmp_path: Path
) -> None:
    sites = ["--sites", str(CONFIG / "sites.yaml")]
    plan = _first_plan(survey, tmp_path)
    later = _with_outage(
        tmp_path, "m2.yaml", "SDC-IT", "2027-01-06T00:00:00Z", "2027-01-08T00:00:00Z"
    )
    frozen = ["--previous", str(plan), "--frozen-until", "2027-01-02T00:00:00Z"]
    new = tmp_path / "new.json"
    replanned = run_sdc(
        "placement", "solve", "--survey", str(survey), *sites, "--maintenance", str(later),
        "--out", str(new), "--time-limit", "5", "--workers", "1", *frozen,
    )  # fmt: skip
    assert replanned.returncode == 0, replanned.stdout + replanned.stderr
    assert "HiGHS" not in replanned.stdout  # no solver banner in the user's output
    checked = run_sdc(
        "placement", "check", str(new), "--survey", str(survey), *sites,
        "--maintenance", str(later), *frozen, "--json",
    )  # fmt: skip
    assert checked.returncode == 0, checked.stdout
    assert json.loads(checked.stdout)["metrics"]["moved_observations"] > 0
    # the outage now starts while work frozen on SDC-IT is still being processed
    soon = _with_outage(
        tmp_path, "m3.yaml", "SDC-IT", "2027-01-03T00:00:00Z", "2027-01-05T00:00:00Z"
    )
    stuck = tmp_path / "stuck.json"
    refused = _replan(survey, (plan, "2027-01-03T12:00:00Z"), soon, stuck)
    assert refused.returncode == 3, refused.stdout + refused.stderr
    assert "frozen" in refused.stderr and "SDC-IT" in refused.stderr
    assert not stuck.exists()


@pytest.mark.slow
def test_replan_that_no_plan_can_balance_exits_3_naming_site_and_days(
    survey: Path, tmp_path: Path
) -> None:
    plan = _first_plan(survey, tmp_path)
    # SDC-FR (22%) down for all work after the frozen date (halfway): its
    # share of the one window (the whole 10 days) cannot reach 20%, whatever moves
    down = _with_outage(
        tmp_path, "m4.yaml", "SDC-FR", "2027-01-08T00:00:00Z", "2027-01-20T00:00:00Z"
    )
    out = tmp_path / "new.json"
    refused = _replan(survey, (plan, "2027-01-05T00:00:00Z"), down, out)
    assert refused.returncode == 3, refused.stdout + refused.stderr
    assert "balance" in refused.stderr and "SDC-FR" in refused.stderr
    assert re.search(r"2027-01-\d\d", refused.stderr)  # the days it concerns
    assert not out.exists()
