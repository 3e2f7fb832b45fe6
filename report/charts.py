"""Static PNG charts for the weekly e-mail, drawn with matplotlib (no browser, no scripts).

Mail clients show images, not JavaScript; Figure objects (not pyplot) keep it thread-safe."""

from __future__ import annotations

import io
from collections.abc import Sequence

from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from report.summary import BrandWeek, WeeklySummary
from report.texts import WEEKDAYS, t

# The dashboard's colours: blue at/above the promise, orange below (safe for colour blindness).
GOOD, BAD, NEUTRAL, INK, GRID = "#2c7fb8", "#e6550d", "#9e9e9e", "#1f2937", "#e5e7eb"
BRAND_COLOURS = ("#1f2937", "#7b3294", "#008837", "#c2a5cf", "#a6dba0")
WIDTH_PX = 600  # as shown in the e-mail; drawn at twice the size for sharp screens
DPI = 200


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI, facecolor="white")
    return buffer.getvalue()


def _style(axes) -> None:  # type: ignore[no-untyped-def]
    for side in ("top", "right", "left"):
        axes.spines[side].set_visible(False)
    axes.spines["bottom"].set_color(NEUTRAL)
    axes.tick_params(colors=INK, labelsize=8, length=0)
    axes.grid(axis="x", color=GRID, linewidth=0.8)
    axes.set_axisbelow(True)


def journey_chart(brand: BrandWeek, language: str) -> bytes:
    """Per phase, in journey order: this week's score (bar), the target (|), last week (o)."""
    rows = list(brand.phases)
    height = 0.42 * len(rows) + 0.9
    figure = Figure(figsize=(WIDTH_PX / 100, height))
    axes = figure.subplots()
    positions = list(range(len(rows)))[::-1]  # first phase on top
    scores = [r.score or 0.0 for r in rows]
    colours = [NEUTRAL if r.gap is None else (GOOD if r.gap >= 0 else BAD) for r in rows]
    axes.barh(positions, scores, color=colours, height=0.62)
    axes.scatter(
        [r.target for r in rows], positions, marker="|", s=260, color=INK, linewidths=2, zorder=3
    )
    previous = [
        (r.previous, p) for r, p in zip(rows, positions, strict=True) if r.previous is not None
    ]
    if previous:
        axes.scatter(
            [v for v, _ in previous],
            [p for _, p in previous],
            marker="o",
            s=28,
            facecolors="white",
            edgecolors=INK,
            linewidths=1.2,
            zorder=4,
        )
    axes.axvline(0, color=NEUTRAL, linewidth=0.8)
    axes.set_yticks(positions, [r.name(language) for r in rows])
    axes.set_xlim(-1, 1)
    _style(axes)
    # A figure legend above the axes, so it spans the whole width and is never cut off.
    figure.legend(
        handles=[
            Patch(color=GOOD, label=t("above", language)),
            Patch(color=BAD, label=t("below", language)),
            Line2D(
                [],
                [],
                color=INK,
                marker="|",
                linestyle="",
                markersize=10,
                markeredgewidth=2,
                label=t("target", language),
            ),
            Line2D(
                [],
                [],
                color=INK,
                marker="o",
                linestyle="",
                markerfacecolor="white",
                label=t("previous_week", language),
            ),
        ],
        loc="upper center",
        ncol=4,
        frameon=False,
        fontsize=8,
    )
    figure.tight_layout(rect=(0, 0, 1, 1 - 0.35 / height))
    return _png(figure)


def trend_chart(summary: WeeklySummary, language: str) -> bytes:
    """Overall sentiment per day of the week, one line per brand (own brands bold)."""
    figure = Figure(figsize=(WIDTH_PX / 100, 2.6))
    axes = figure.subplots()
    days = list(range(len(summary.days)))
    for i, column in enumerate(summary.comparison):
        values: Sequence[float | None] = summary.daily.get(column.brand, ())
        points = [(d, v) for d, v in zip(days, values, strict=False) if v is not None]
        if not points:
            continue
        axes.plot(
            [d for d, _ in points],
            [v for _, v in points],
            color=BRAND_COLOURS[i % len(BRAND_COLOURS)],
            linewidth=2.6 if column.own else 1.4,
            linestyle="-" if column.own else "--",
            marker="o",
            markersize=3.5,
            label=column.name,
        )
    axes.axhline(0, color=NEUTRAL, linewidth=0.8)
    labels = WEEKDAYS.get(language, WEEKDAYS["en"])
    axes.set_xticks(days, [f"{labels[d.weekday()]} {d.day}" for d in summary.days])
    _style(axes)
    axes.grid(axis="y", color=GRID, linewidth=0.8)
    axes.grid(axis="x", visible=False)
    figure.legend(loc="upper center", ncol=5, frameon=False, fontsize=8)
    figure.tight_layout(rect=(0, 0, 1, 1 - 0.35 / 2.6))
    return _png(figure)
