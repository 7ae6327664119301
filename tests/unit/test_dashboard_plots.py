"""The dashboard's pure parts: pictures from plain rows, share binning, small helpers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from sdc.dashboard.auth import safe_next
from sdc.dashboard.jobs import log_tail
from sdc.dashboard.pages import size, when
from sdc.dashboard.plots import (
    LineageNode,
    PlacedObservation,
    Window,
    lineage_picture,
    maintenance_timeline,
    share_over_time,
    shares_by_bin,
    site_colours,
    sky_map,
)
from sdc.dashboard.queries import SiteOverview

PNG = b"\x89PNG\r\n\x1a\n"
T0 = datetime(2027, 1, 1, tzinfo=UTC)


def _obs(hours: float, site: str, ra: float = 10.0) -> PlacedObservation:
    return PlacedObservation(T0 + timedelta(hours=hours), ra, 0.0, site)


def test_pictures_are_pngs_even_with_no_rows() -> None:
    observations = [_obs(h, ("A", "B")[h % 2], ra=h * 15.0) for h in range(24)]
    windows = [Window("A", T0, T0 + timedelta(days=1))]
    for png in (
        maintenance_timeline(["A", "B"], windows, T0),
        maintenance_timeline([], [], T0),
        sky_map(observations),
        sky_map([]),
        share_over_time(observations),
        share_over_time([]),
    ):
        assert png.startswith(PNG) and len(png) > 1000


def test_lineage_pictures_of_a_lone_product_and_a_wide_fan_in() -> None:
    alone = lineage_picture([LineageNode("raw-0", "RAW_FRAME", 0)], [])
    inputs = [LineageNode(f"raw-{i}", "RAW_FRAME", -1) for i in range(30)]
    wide = lineage_picture(
        [LineageNode("mosaic-" + "x" * 40, "MOSAIC", 0), *inputs],
        [(n.product_id, "mosaic-" + "x" * 40) for n in inputs] + [("gone", "raw-1")],
    )
    assert alone.startswith(PNG) and wide.startswith(PNG) and len(wide) > len(alone)


def test_shares_split_each_time_bin_between_sites() -> None:
    # First half of the day all at A, second half alternating A/B.
    observations = [_obs(h, "A") for h in range(12)]
    observations += [_obs(12 + h, "A" if h % 2 else "B") for h in range(12)]
    shares = shares_by_bin(observations, bins=2)
    assert shares.by_site == {"A": [1.0, 0.5], "B": [0.0, 0.5]}
    assert shares.centres == [T0 + timedelta(hours=5.75), T0 + timedelta(hours=17.25)]


def test_few_observations_get_fewer_bins_and_one_instant_one_bin() -> None:
    assert len(shares_by_bin([_obs(h, "A") for h in range(6)], bins=20).centres) == 2
    same_time = shares_by_bin([_obs(0, "A"), _obs(0, "B"), _obs(0, "B")], bins=5)
    assert same_time.by_site == {"A": [pytest.approx(1 / 3)], "B": [pytest.approx(2 / 3)]}
    assert shares_by_bin([]).by_site == {}


def test_site_colours_are_stable_and_distinct() -> None:
    names = [f"SDC-{i}" for i in range(9)]
    colours = site_colours(list(reversed(names)))
    assert colours == site_colours(names) and len(set(colours.values())) == 9


def test_log_tail_reads_the_end_of_local_logs_only(tmp_path: Path) -> None:
    log = tmp_path / "job 7.log"  # a space: the URL is percent-encoded
    log.write_text("".join(f"line {i}\n" for i in range(1000)))
    tail = log_tail(log.as_uri(), limit=100)
    assert tail is not None and tail.endswith("line 999\n") and len(tail) <= 100
    assert tail.startswith("line ")  # the cut first line is dropped
    short = tmp_path / "short.log"
    short.write_text("only\n")
    assert log_tail(short.as_uri()) == "only\n"
    assert log_tail("https://logs.example/7") is None
    assert log_tail((tmp_path / "gone.log").as_uri()) is None
    assert log_tail(None) is None


def test_login_returns_only_to_paths_on_this_server() -> None:
    assert safe_next("/jobs?state=QUEUED") == "/jobs?state=QUEUED"
    for target in (None, "", "//evil.example", "https://evil.example", "jobs"):
        assert safe_next(target) == "/"


def test_filters_for_sizes_and_times() -> None:
    assert [size(v) for v in (None, 12, 4_000_000, 1.5e12, 3e15)] == [
        "",
        "12 B",
        "4.0 MB",
        "1.5 TB",
        "3000.0 TB",
    ]
    assert when(T0) == "2027-01-01 00:00 UTC" and when(None) == ""


def test_site_state_and_storage_share() -> None:
    site = SiteOverview("X", "FR", 10, 2.0, True, None, None, {}, [], 500_000_000_000)
    assert site.state == "active" and site.used_percent == 25.0
    down = SiteOverview("X", "FR", 10, 0.0, True, "upgrade", T0, {}, [], 5)
    assert down.state == "in maintenance" and down.used_percent == 0.0
    off = SiteOverview("X", "FR", 10, 1.0, False, None, None, {}, [], 0)
    assert off.state == "inactive"
