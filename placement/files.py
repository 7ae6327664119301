"""The planner's file formats (docs/placement.md): sites and maintenance YAML, survey CSVs, plan.

Every reader names the file, line and field of bad input in an `InputError`.
"""

from __future__ import annotations

import csv
import json
import math
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from placement.model import MaintenanceWindow, Plan, Site, Survey


class InputError(ValueError):
    """An input file is missing or malformed; the message names file, line and field."""


def parse_time(text: str, where: str) -> float:
    """ISO 8601 UTC (`Z` suffix, fractional seconds allowed) to Unix seconds."""
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise InputError(f"{where}: not an ISO 8601 time: {text!r}") from None
    if moment.utcoffset() is None or moment.utcoffset().total_seconds() != 0:  # type: ignore[union-attr]
        raise InputError(f"{where}: time must be UTC with a Z suffix: {text!r}")
    return moment.timestamp()


def format_time(seconds: float) -> str:
    """Unix seconds to ISO 8601 UTC with a Z suffix and milliseconds."""
    moment = datetime.fromtimestamp(seconds, UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _yaml_list(path: Path, key: str) -> list[dict[str, Any]]:
    try:
        data = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror}") from None
    except yaml.YAMLError as exc:
        raise InputError(f"{path}: malformed YAML: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get(key), list):
        raise InputError(f"{path}: expected a top-level `{key}:` list")
    entries: list[dict[str, Any]] = data[key]
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict):
            raise InputError(f"{path}: {key}[{i}]: expected a mapping")
    return entries


def _field(entry: dict[str, Any], name: str, where: str, kind: type) -> Any:
    if name not in entry:
        raise InputError(f"{where}: missing field `{name}`")
    value = entry[name]
    try:
        return kind(value)
    except (TypeError, ValueError):
        raise InputError(f"{where}: field `{name}` is not a {kind.__name__}: {value!r}") from None


def read_sites(path: Path) -> list[Site]:
    """Read `sites.yaml`: a `sites:` list of {name, country, cores, storage_tb[, weight]}."""
    sites: list[Site] = []
    for i, entry in enumerate(_yaml_list(path, "sites")):
        where = f"{path}: sites[{i}]"
        weight = entry.get("weight")
        site = Site(
            name=_field(entry, "name", where, str),
            country=str(entry.get("country", "")),
            cores=_field(entry, "cores", where, float),
            storage_tb=_field(entry, "storage_tb", where, float),
            weight=None if weight is None else _field(entry, "weight", where, float),
        )
        if (
            site.cores <= 0
            or site.storage_tb <= 0
            or (site.weight is not None and site.weight <= 0)
        ):
            raise InputError(f"{where}: cores, storage_tb and weight must be positive")
        sites.append(site)
    names = [s.name for s in sites]
    if len(set(names)) != len(names):
        raise InputError(f"{path}: duplicate site names")
    if len(sites) < 2:
        raise InputError(f"{path}: at least two sites are needed (primary != secondary)")
    return sites


def read_maintenance(path: Path, site_names: list[str]) -> list[MaintenanceWindow]:
    """Read `maintenance.yaml`: a `maintenance:` list of {site, start, end, reason}."""
    windows: list[MaintenanceWindow] = []
    for i, entry in enumerate(_yaml_list(path, "maintenance")):
        where = f"{path}: maintenance[{i}]"
        site = _field(entry, "site", where, str)
        if site not in site_names:
            raise InputError(f"{where}: unknown site {site!r}")
        start = parse_time(_field(entry, "start", where, str), f"{where}.start")
        end = parse_time(_field(entry, "end", where, str), f"{where}.end")
        if end <= start:
            raise InputError(f"{where}: end is not after start")
        windows.append(MaintenanceWindow(site, start, end, str(entry.get("reason", ""))))
    return windows


def _csv_rows(path: Path, columns: list[str]) -> list[tuple[int, dict[str, str]]]:
    try:
        with path.open(newline="") as stream:
            reader = csv.DictReader(stream)
            missing = [c for c in columns if c not in (reader.fieldnames or [])]
            if missing:
                raise InputError(f"{path}: missing column(s) {', '.join(missing)}")
            return [(i + 2, row) for i, row in enumerate(reader)]
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror}") from None


def _number(row: dict[str, str], name: str, where: str) -> float:
    try:
        value = float(row[name])
    except (TypeError, ValueError):
        raise InputError(f"{where}: field `{name}` is not a number: {row[name]!r}") from None
    if not math.isfinite(value):  # float() takes "nan" and "inf", which no check rejects
        raise InputError(f"{where}: field `{name}` is not a finite number: {row[name]!r}")
    return value


def _sky(row: dict[str, str], where: str) -> tuple[float, float]:
    """The row's (ra_deg, dec_deg), each within its range on the sky."""
    ra, dec = _number(row, "ra_deg", where), _number(row, "dec_deg", where)
    if not 0.0 <= ra <= 360.0:
        raise InputError(f"{where}: field `ra_deg` must be within 0..360 degrees: {ra}")
    if not -90.0 <= dec <= 90.0:
        raise InputError(f"{where}: field `dec_deg` must be within -90..90 degrees: {dec}")
    return ra, dec


def read_survey(directory: Path) -> Survey:
    """Read `observations.csv` and `tiles.csv` from a survey directory."""
    obs_path, tiles_path = directory / "observations.csv", directory / "tiles.csv"
    obs_rows = _csv_rows(obs_path, ["obs_id", "start_utc", "ra_deg", "dec_deg", "size_gb"])
    index: dict[str, int] = {}
    start, ra, dec, size = [], [], [], []
    for line, row in obs_rows:
        where = f"{obs_path}: line {line}"
        if row["obs_id"] in index:
            raise InputError(f"{where}: duplicate obs_id {row['obs_id']!r}")
        index[row["obs_id"]] = len(index)
        start.append(parse_time(row["start_utc"], f"{where}: field `start_utc`"))
        obs_ra, obs_dec = _sky(row, where)
        ra.append(obs_ra)
        dec.append(obs_dec)
        size.append(_number(row, "size_gb", where))
        if size[-1] <= 0:
            raise InputError(f"{where}: field `size_gb` must be positive")
    tile_rows = _csv_rows(tiles_path, ["tile_id", "ra_deg", "dec_deg", "obs_ids"])
    tile_ids: list[str] = []
    tile_ra, tile_dec, ptr, links = [], [], [0], []
    seen: set[str] = set()
    for line, row in tile_rows:
        where = f"{tiles_path}: line {line}"
        if row["tile_id"] in seen:
            raise InputError(f"{where}: duplicate tile_id {row['tile_id']!r}")
        seen.add(row["tile_id"])
        inputs = (row["obs_ids"] or "").split()
        if not inputs:
            raise InputError(f"{where}: field `obs_ids` is empty")
        for obs_id in inputs:
            if obs_id not in index:
                raise InputError(f"{where}: field `obs_ids`: unknown observation {obs_id!r}")
        tile_ids.append(row["tile_id"])
        ra_deg, dec_deg = _sky(row, where)
        tile_ra.append(ra_deg)
        tile_dec.append(dec_deg)
        links.extend(sorted({index[o] for o in inputs}))
        ptr.append(len(links))
    return Survey(
        obs_ids=list(index),
        obs_start=np.array(start, dtype=np.float64),
        obs_ra=np.array(ra, dtype=np.float64),
        obs_dec=np.array(dec, dtype=np.float64),
        obs_size_gb=np.array(size, dtype=np.float64),
        tile_ids=tile_ids,
        tile_ra=np.array(tile_ra, dtype=np.float64),
        tile_dec=np.array(tile_dec, dtype=np.float64),
        tile_ptr=np.array(ptr, dtype=np.int64),
        tile_obs=np.array(links, dtype=np.int64),
    )


def write_survey(survey: Survey, directory: Path) -> None:
    """Write `observations.csv` and `tiles.csv` into `directory` (created if needed)."""
    directory.mkdir(parents=True, exist_ok=True)
    with (directory / "observations.csv").open("w", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(["obs_id", "start_utc", "ra_deg", "dec_deg", "size_gb"])
        for i, obs_id in enumerate(survey.obs_ids):
            writer.writerow(
                [
                    obs_id,
                    format_time(float(survey.obs_start[i])),
                    f"{survey.obs_ra[i]:.5f}",
                    f"{survey.obs_dec[i]:.5f}",
                    f"{survey.obs_size_gb[i]:.3f}",
                ]
            )
    with (directory / "tiles.csv").open("w", newline="") as stream:
        writer = csv.writer(stream)
        writer.writerow(["tile_id", "ra_deg", "dec_deg", "obs_ids"])
        for t, tile_id in enumerate(survey.tile_ids):
            inputs = " ".join(survey.obs_ids[o] for o in survey.tile_inputs(t))
            writer.writerow(
                [tile_id, f"{survey.tile_ra[t]:.5f}", f"{survey.tile_dec[t]:.5f}", inputs]
            )


def plan_to_json(plan: Plan, survey: Survey, site_names: list[str]) -> dict[str, Any]:
    """The plan in its file form: site names keyed by observation and tile ids."""
    return {
        "observations": {
            obs_id: {
                "primary": site_names[int(plan.primary[i])],
                "secondary": site_names[int(plan.secondary[i])],
            }
            for i, obs_id in enumerate(survey.obs_ids)
        },
        "tiles": {
            tile_id: site_names[int(plan.tile_site[t])] for t, tile_id in enumerate(survey.tile_ids)
        },
        "stats": plan.stats,
    }


def write_plan(plan: Plan, survey: Survey, site_names: list[str], path: Path) -> None:
    """Write `plan.json` atomically (a temporary file renamed into place)."""
    text = json.dumps(plan_to_json(plan, survey, site_names), indent=1)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    tmp.replace(path)


def read_plan(path: Path, survey: Survey, site_names: list[str], exact: bool = False) -> Plan:
    """Read `plan.json`, mapping ids and site names back to indices; every entry must exist.

    exact: also refuse a plan naming observations or tiles the survey lacks (a plan made for
    another survey); a `--previous` plan may hold more, as the survey it re-plans changed.
    """
    try:
        data = json.loads(path.read_text())
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror}") from None
    except json.JSONDecodeError as exc:
        raise InputError(f"{path}: malformed JSON: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("observations"), dict):
        raise InputError(f"{path}: expected an object with `observations` and `tiles`")
    if not isinstance(data.get("tiles"), dict):
        raise InputError(f"{path}: expected an object with `observations` and `tiles`")
    site_index = {name: i for i, name in enumerate(site_names)}

    def site(name: object, where: str) -> int:
        if not isinstance(name, str) or name not in site_index:
            raise InputError(f"{path}: {where}: unknown site {name!r}")
        return site_index[name]

    observations, tiles = data["observations"], data["tiles"]
    if exact:
        _refuse_foreign(path, "observations", observations, survey.obs_ids)
        _refuse_foreign(path, "tiles", tiles, survey.tile_ids)
    primary = np.empty(survey.n_obs, dtype=np.int64)
    secondary = np.empty(survey.n_obs, dtype=np.int64)
    for i, obs_id in enumerate(survey.obs_ids):
        entry = observations.get(obs_id)
        if not isinstance(entry, dict):
            raise InputError(f"{path}: observations: no assignment for {obs_id!r}")
        primary[i] = site(entry.get("primary"), f"observations.{obs_id}.primary")
        secondary[i] = site(entry.get("secondary"), f"observations.{obs_id}.secondary")
    tile_site = np.empty(survey.n_tiles, dtype=np.int64)
    for t, tile_id in enumerate(survey.tile_ids):
        if tile_id not in tiles:
            raise InputError(f"{path}: tiles: no assignment for {tile_id!r}")
        tile_site[t] = site(tiles[tile_id], f"tiles.{tile_id}")
    stats = data.get("stats") if isinstance(data.get("stats"), dict) else {}
    return Plan(primary, secondary, tile_site, dict(stats or {}))


def _refuse_foreign(path: Path, kind: str, entries: dict[str, Any], ids: list[str]) -> None:
    foreign = set(entries) - set(ids)
    if foreign:
        raise InputError(
            f"{path}: {kind}: {len(foreign)} of the plan's {len(entries)} are not in the survey"
            f" (e.g. {min(foreign)!r}): this plan was made for another survey"
        )
