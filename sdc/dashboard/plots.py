"""The dashboard's pictures: plain rows in, PNG bytes out (matplotlib, no database).

Figures are made with the object API (`Figure` + Agg canvas), never `pyplot`: the server
draws in worker threads and pyplot's global state is not thread-safe.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from matplotlib import dates as mdates
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

# One colour per site, stable across pictures (sites sorted by name pick in order).
PALETTE = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
)


@dataclass(frozen=True)
class Window:
    """A maintenance window of one site."""

    site: str
    start: datetime
    end: datetime


@dataclass(frozen=True)
class PlacedObservation:
    """An observation of a plan: when and where it was taken, and its primary site."""

    start: datetime
    ra: float
    dec: float
    site: str


def site_colours(sites: Sequence[str]) -> dict[str, str]:
    """A colour for each site name, by sorted name."""
    return {site: PALETTE[i % len(PALETTE)] for i, site in enumerate(sorted(set(sites)))}


def _png(figure: Figure) -> bytes:
    FigureCanvasAgg(figure)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    return buffer.getvalue()


# matplotlib.dates is untyped; these are the only calls into it.
_day_number = cast(Callable[[datetime], float], mdates.date2num)


def _date_axis(axes: Any) -> None:
    locator = mdates.AutoDateLocator()  # type: ignore[no-untyped-call]
    axes.xaxis.set_major_locator(locator)
    axes.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))  # type: ignore[no-untyped-call]


def maintenance_timeline(sites: Sequence[str], windows: Sequence[Window], now: datetime) -> bytes:
    """One row per site with its maintenance windows as bars; a line marks `now`."""
    rows = sorted(sites)
    figure = Figure(figsize=(9, 0.4 * len(rows) + 1.4))
    axes = figure.add_subplot()
    colours = site_colours(rows)
    for y, site in enumerate(rows):
        spans = [
            (_day_number(w.start), _day_number(w.end) - _day_number(w.start))
            for w in windows
            if w.site == site
        ]
        axes.broken_barh(spans, (y - 0.35, 0.7), facecolors=colours[site])
    axes.axvline(_day_number(now), color="black", linestyle="--", linewidth=1)
    axes.set_yticks(range(len(rows)), rows)
    axes.set_ylim(-0.8, len(rows) - 0.2)
    _date_axis(axes)
    axes.set_title("maintenance windows (dashed line: now)")
    return _png(figure)


def sky_map(observations: Sequence[PlacedObservation]) -> bytes:
    """Observations on the sky (Mollweide), coloured by primary site."""
    import numpy

    figure = Figure(figsize=(9, 5))
    axes = figure.add_subplot(projection="mollweide")
    colours = site_colours([o.site for o in observations])
    for site, colour in colours.items():
        mine = [o for o in observations if o.site == site]
        # Mollweide wants longitude in [-pi, pi]; astronomers draw RA increasing leftwards.
        ra = numpy.radians([(180.0 - o.ra) for o in mine])
        dec = numpy.radians([o.dec for o in mine])
        axes.scatter(ra, dec, s=6, color=colour, label=f"{site} ({len(mine)})")
    axes.grid(True, alpha=0.3)
    axes.set_xticklabels([])
    if colours:
        axes.legend(loc="lower center", bbox_to_anchor=(0.5, -0.3), ncol=5, fontsize=8)
    axes.set_title("observations by primary site")
    return _png(figure)


@dataclass(frozen=True)
class Shares:
    """Per-site shares of primaries in equal time bins (each bin's shares sum to 1)."""

    centres: list[datetime]
    by_site: dict[str, list[float]]


def shares_by_bin(observations: Sequence[PlacedObservation], bins: int = 20) -> Shares:
    """Split the observations' time span into bins; each site's share of each bin's primaries.

    Fewer bins than asked when there are few observations (at least ~3 a bin), or every
    share would be 0 or 1. An empty bin has share 0 for every site.
    """
    if not observations:
        return Shares([], {})
    bins = max(1, min(bins, len(observations) // 3))
    first = min(o.start for o in observations)
    span = max(o.start for o in observations) - first
    counts: dict[str, list[int]] = {s: [0] * bins for s in sorted({o.site for o in observations})}
    for o in observations:
        # All at one instant (span zero): everything falls in the first bin.
        index = min(int(bins * ((o.start - first) / span)), bins - 1) if span else 0
        counts[o.site][index] += 1
    totals = [sum(column) or 1 for column in zip(*counts.values(), strict=True)]
    return Shares(
        centres=[first + span * (i + 0.5) / bins for i in range(bins)],
        by_site={s: [c / t for c, t in zip(n, totals, strict=True)] for s, n in counts.items()},
    )


def share_over_time(observations: Sequence[PlacedObservation], bins: int = 20) -> bytes:
    """Each site's share of primaries per time bin, as stacked areas."""
    figure = Figure(figsize=(9, 4))
    axes = figure.add_subplot()
    shares = shares_by_bin(observations, bins)
    if shares.by_site:
        colours = site_colours(list(shares.by_site))
        names = list(shares.by_site)
        axes.stackplot(
            [_day_number(c) for c in shares.centres],
            [shares.by_site[s] for s in names],
            labels=names,
            colors=[colours[s] for s in names],
        )
        _date_axis(axes)
        axes.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8)
    axes.set_ylim(0, 1)
    axes.set_ylabel("share of primaries")
    axes.set_title("per-site share of primaries over time")
    return _png(figure)


@dataclass(frozen=True)
class LineageNode:
    """A product in a lineage picture: column 0 is the product asked about, negative
    columns its ancestors (hops up), positive its descendants (hops down)."""

    product_id: str
    product_type: str
    column: int


MAX_PER_COLUMN = 12  # more would be unreadable; the page's tables list them all


def lineage_picture(nodes: Sequence[LineageNode], edges: Sequence[tuple[str, str]]) -> bytes:
    """Products as labelled boxes in columns by hops, arrows from each input to its output."""
    columns: dict[int, list[LineageNode]] = {}
    for node in sorted(nodes, key=lambda n: (n.column, n.product_type, n.product_id)):
        columns.setdefault(node.column, []).append(node)
    where: dict[str, tuple[float, float]] = {}
    hidden: dict[int, int] = {}
    for column, members in columns.items():
        hidden[column] = max(0, len(members) - MAX_PER_COLUMN)
        for row, node in enumerate(members[:MAX_PER_COLUMN]):
            where[node.product_id] = (column * 3.0, -row * 1.0)
    tallest = max((min(len(m), MAX_PER_COLUMN) for m in columns.values()), default=1)
    figure = Figure(figsize=(2.6 * max(len(columns), 1) + 1, 0.55 * tallest + 1.2))
    axes = figure.add_subplot()
    for parent, child in edges:
        if parent in where and child in where:
            axes.annotate(
                "",
                xy=where[child],
                xytext=where[parent],
                arrowprops={"arrowstyle": "->", "color": "grey", "shrinkA": 28, "shrinkB": 28},
            )
    for node in nodes:
        if node.product_id not in where:
            continue
        x, y = where[node.product_id]
        name = node.product_id if len(node.product_id) <= 18 else node.product_id[:16] + "…"
        axes.text(
            x,
            y,
            f"{name}\n{node.product_type}",
            ha="center",
            va="center",
            fontsize=7,
            bbox={"boxstyle": "round", "facecolor": "#ffe9a8" if node.column == 0 else "white"},
        )
    for column, count in hidden.items():
        if count:
            axes.text(column * 3.0, -MAX_PER_COLUMN * 1.0, f"+{count} more", ha="center")
    xs = [x for x, _ in where.values()] or [0.0]
    ys = [y for _, y in where.values()] or [0.0]
    axes.set_xlim(min(xs) - 1.6, max(xs) + 1.6)
    axes.set_ylim(min(ys) - 1.2, max(ys) + 0.8)
    axes.set_axis_off()
    axes.set_title("lineage: inputs on the left, outputs on the right")
    return _png(figure)
