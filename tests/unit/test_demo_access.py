"""What the demo prints last: where to look at the run, live or after --no-serve."""

from __future__ import annotations

from pathlib import Path

from sdc.demo.run import access_lines

URL, TOKEN = "http://127.0.0.1:41234", "sdc_reader"


def test_serving_prints_the_live_urls() -> None:
    lines = access_lines(URL, TOKEN, Path("/w"), True, "sqlite:////w/archive.sqlite")
    assert f"dashboard:   {URL}/" in lines and f"reader token: {TOKEN}" in lines


def test_no_serve_prints_how_to_serve_it_again_not_dead_urls() -> None:
    """`--no-serve` printed the URLs of servers it had just stopped."""
    database = "postgresql+psycopg2://demo:s3cret@db/sdc_demo"
    lines = access_lines(URL, TOKEN, Path("/w"), False, database)
    text = "\n".join(lines)
    assert URL not in text
    assert "sdc --config /w/agent.yaml server" in text
    assert "SDC_DATABASE_URL=postgresql+psycopg2://demo:***@db/sdc_demo" in text
    assert "s3cret" not in text and f"reader token: {TOKEN}" in lines
