"""A Euclid-like synthetic survey: wide strips observed in patches, deep fields revisited.

Geometry lives in ecliptic coordinates (astropy converts to ICRS): the wide survey is rows
(strips) of ~0.5 deg² pointings at |β| in [25°, 65°]; MER-like tiles are 0.53° squares on
their own grid; deep fields near the ecliptic poles are revisited every `deep_cadence_days`.
Deterministic for a seed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from astropy import units as u
from astropy.coordinates import BarycentricMeanEcliptic, SkyCoord
from astropy.time import Time

from placement.model import SECONDS_PER_DAY, FloatArray, Survey

POINTING_STEP = 0.70  # degrees between pointing centres (0.7° x 0.7° ≈ 0.5 deg²)
FOOTPRINT_HALF = 0.375  # half side of a pointing including its 4 dithers
TILE_SIDE = 0.53
PATTERNS = ("sun", "raster", "interleaved")


@dataclass(frozen=True)
class SurveySpec:
    """What to generate; `pattern` is the order strips are observed in (see `PATTERNS`)."""

    days: int = 2190
    seed: int = 1
    obs_per_day: float = 17.0
    pattern: str = "sun"
    deep_fields: int = 3
    deep_cadence_days: int = 60
    start: str = "2027-01-01T00:00:00"


def _wide_pointings(count: int, pattern: str) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Ecliptic (λ, β) of the first `count` wide pointings in observing order, and their row."""
    rows = [b for b in np.arange(25.0, 65.0, POINTING_STEP)]
    rows = [r for pair in zip(rows, [-r for r in rows], strict=True) for r in pair]
    patch = 17
    segments: list[tuple[float, float, int, FloatArray]] = []  # (key1, key2, row, λ)
    for r, beta in enumerate(rows):
        n = int(360.0 * np.cos(np.radians(beta)) / POINTING_STEP)
        lam = np.arange(n) * 360.0 / n
        for k, first in enumerate(range(0, n, patch)):
            chunk = lam[first : first + patch]
            if pattern == "raster":
                key = (float(r), float(k))
            elif pattern == "interleaved":  # even rows first: neighbouring strips years apart
                key = (float(r % 4 // 2), float(r) * 1000 + k)
            else:  # "sun": rows in yearly groups, all rows of a group at one longitude in turn
                key = (float(r // 18), float(chunk[0] // 20.0) * 100 + r % 18)
            segments.append((key[0], key[1], r, chunk))
    segments.sort(key=lambda s: (s[0], s[1]))
    lam_out: list[float] = []
    beta_out: list[float] = []
    row_out: list[int] = []
    for _, _, r, chunk in segments:
        lam_out.extend(chunk)
        beta_out.extend([rows[r]] * len(chunk))
        row_out.extend([r] * len(chunk))
        if len(lam_out) >= count:
            break
    return (
        np.array(lam_out[:count]),
        np.array(beta_out[:count]),
        np.array(row_out[:count], dtype=np.float64),
    )


def _overlaps(
    lam: FloatArray, beta: FloatArray
) -> tuple[list[tuple[float, float]], list[list[int]]]:
    """Tiles (ecliptic centres) overlapping the given pointings, and their input indices."""
    reach = FOOTPRINT_HALF + TILE_SIDE / 2
    tiles: dict[tuple[int, int], list[int]] = {}
    for p in range(len(lam)):
        for row in range(
            int(np.floor((beta[p] - reach) / TILE_SIDE)),
            int(np.ceil((beta[p] + reach) / TILE_SIDE)) + 1,
        ):
            beta_t = (row + 0.5) * TILE_SIDE
            if abs(beta_t - beta[p]) >= reach or abs(beta_t) >= 90:
                continue
            m = max(1, int(360.0 * np.cos(np.radians(beta_t)) / TILE_SIDE))
            step = 360.0 / m
            width = reach / max(np.cos(np.radians(beta_t)), 1e-3)
            for j in range(
                int(np.floor((lam[p] - width) / step)), int(np.ceil((lam[p] + width) / step)) + 1
            ):
                lam_t = (j + 0.5) * step
                if abs(lam_t - lam[p]) < width:
                    tiles.setdefault((row, j % m), []).append(p)
    keys = sorted(tiles)
    centres = []
    for row, j in keys:
        beta_t = (row + 0.5) * TILE_SIDE
        m = max(1, int(360.0 * np.cos(np.radians(beta_t)) / TILE_SIDE))
        centres.append(((j + 0.5) * 360.0 / m, beta_t))
    return centres, [tiles[k] for k in keys]


def _deep_field(
    centre: tuple[float, float], visits: int, rng: np.random.Generator
) -> tuple[list[FloatArray], FloatArray, FloatArray, list[list[int]]]:
    """Pointing offsets (x, y in degrees) per visit and tiles on a local tangent grid."""
    grid = (np.arange(3) - 1) * POINTING_STEP
    base_x, base_y = np.meshgrid(grid, grid)
    per_visit = []
    for _ in range(visits):
        jitter = rng.normal(0, 0.04, size=(2, 9))
        per_visit.append(np.stack([base_x.ravel() + jitter[0], base_y.ravel() + jitter[1]]))
    edges = np.arange(-3, 3) * TILE_SIDE + TILE_SIDE / 2
    tx, ty = np.meshgrid(edges, edges)
    tx, ty = tx.ravel(), ty.ravel()
    reach = FOOTPRINT_HALF + TILE_SIDE / 2
    inputs: list[list[int]] = [[] for _ in tx]
    for v, xy in enumerate(per_visit):
        for p in range(9):
            hit = (np.abs(tx - xy[0, p]) < reach) & (np.abs(ty - xy[1, p]) < reach)
            for t in np.flatnonzero(hit):
                inputs[t].append(v * 9 + p)
    return per_visit, tx, ty, inputs


def generate_survey(spec: SurveySpec) -> Survey:
    """Generate the survey: observation times, positions, sizes and tiles with their inputs."""
    if spec.pattern not in PATTERNS:
        raise ValueError(
            f"unknown strip pattern {spec.pattern!r}; choose from {', '.join(PATTERNS)}"
        )
    rng = np.random.default_rng(spec.seed)
    t0 = Time(spec.start, scale="utc").unix
    per_day = rng.poisson(spec.obs_per_day, size=spec.days).clip(8, None)
    deep_days = {
        (int(rng.integers(0, spec.deep_cadence_days)) + k * spec.deep_cadence_days, f)
        for f in range(spec.deep_fields)
        for k in range(spec.days // spec.deep_cadence_days + 1)
    }
    deep_on = {}
    for day, f in sorted(deep_days):
        while day in deep_on:  # one deep visit a day at most
            day += 1
        if day < spec.days:
            deep_on[day] = f
    n_wide = int(per_day.sum()) - 9 * len(deep_on)
    lam, beta, _ = _wide_pointings(max(n_wide, 0), spec.pattern)
    lam += rng.normal(0, 0.01, size=len(lam))
    visits = [sum(1 for f in deep_on.values() if f == g) for g in range(spec.deep_fields)]
    centres = [
        ((137.5 * g) % 360.0, (88.0 - 4 * g) * (1 if g % 2 == 0 else -1))
        for g in range(spec.deep_fields)
    ]
    deep = [_deep_field(centres[g], visits[g], rng) for g in range(spec.deep_fields)]
    # Observing order: each day its wide patch, or a deep-field visit of 9 pointings.
    starts, kinds = [], []  # kind: ("wide", index) or ("deep", field, visit)
    wide_next, visit_next = 0, [0] * spec.deep_fields
    for day in range(spec.days):
        if day in deep_on:
            g = deep_on[day]
            items = [("deep", g, visit_next[g], p) for p in range(9)]
            visit_next[g] += 1
        else:
            take = min(int(per_day[day]), len(lam) - wide_next)
            items = [("wide", wide_next + i, 0, 0) for i in range(take)]
            wide_next += take
        slots = np.sort(rng.uniform(0, SECONDS_PER_DAY - 1200, size=len(items)))
        for item, slot in zip(items, slots, strict=True):
            starts.append(t0 + day * SECONDS_PER_DAY + slot)
            kinds.append(item)
    n = len(kinds)
    obs_lon, obs_lat = np.zeros(n), np.zeros(n)
    deep_index: dict[tuple[int, int], int] = {}
    for i, (kind, a, v, p) in enumerate(kinds):
        if kind == "wide":
            obs_lon[i], obs_lat[i] = lam[a], beta[a]
        else:
            deep_index[(a, v * 9 + p)] = i
    obs_coord = SkyCoord(obs_lon * u.deg, obs_lat * u.deg, frame=BarycentricMeanEcliptic()).icrs
    ra, dec = obs_coord.ra.deg.copy(), obs_coord.dec.deg.copy()
    wide_obs = [i for i, k in enumerate(kinds) if k[0] == "wide"]
    centres_t, inputs_t = _overlaps(obs_lon[wide_obs], obs_lat[wide_obs])
    tile_lon = [c[0] for c in centres_t]
    tile_lat = [c[1] for c in centres_t]
    tile_inputs = [[wide_obs[p] for p in ins] for ins in inputs_t]
    tile_radec: list[tuple[float, float]] = []
    for g, (per_visit, tx, ty, inputs) in enumerate(deep):
        centre = SkyCoord(
            centres[g][0] * u.deg, centres[g][1] * u.deg, frame=BarycentricMeanEcliptic()
        )
        frame = centre.skyoffset_frame()
        for v, xy in enumerate(per_visit):
            pos = SkyCoord(xy[0] * u.deg, xy[1] * u.deg, frame=frame).icrs
            for p in range(9):
                i = deep_index[(g, v * 9 + p)]
                ra[i], dec[i] = pos.ra.deg[p], pos.dec.deg[p]
        tpos = SkyCoord(tx * u.deg, ty * u.deg, frame=frame).icrs
        for t, ins in enumerate(inputs):
            if ins:
                tile_radec.append((float(tpos.ra.deg[t]), float(tpos.dec.deg[t])))
                tile_inputs.append([deep_index[(g, k)] for k in ins])
    tile_coord = SkyCoord(
        np.array(tile_lon) * u.deg, np.array(tile_lat) * u.deg, frame=BarycentricMeanEcliptic()
    ).icrs
    tile_ra = np.concatenate([tile_coord.ra.deg, [r for r, _ in tile_radec]])
    tile_dec = np.concatenate([tile_coord.dec.deg, [d for _, d in tile_radec]])
    links = np.array([o for ins in tile_inputs for o in sorted(set(ins))], dtype=np.int64)
    ptr = np.concatenate([[0], np.cumsum([len(set(x)) for x in tile_inputs])]).astype(np.int64)
    sizes = rng.normal(40.0, 8.0, size=n).clip(20.0, 60.0)
    return Survey(
        obs_ids=[f"OBS-{i:06d}" for i in range(n)],
        obs_start=np.array(starts, dtype=np.float64),
        obs_ra=np.asarray(ra, dtype=np.float64),
        obs_dec=np.asarray(dec, dtype=np.float64),
        obs_size_gb=np.round(sizes, 3),
        tile_ids=[f"TILE-{t:06d}" for t in range(len(tile_inputs))],
        tile_ra=np.asarray(tile_ra, dtype=np.float64),
        tile_dec=np.asarray(tile_dec, dtype=np.float64),
        tile_ptr=ptr,
        tile_obs=links,
    )
