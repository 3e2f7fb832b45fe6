"""The explorer's Plotly figures, built from one `Overview`; every clickable element carries
what the verbatim table needs in its customdata (phase, brand, channel, time bin, score range).

Figures are plain dicts: plotly.graph_objects validates and deep-copies its template on every
figure, which cost more than the database reads (about 40 ms a figure on the development VM)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from dashboard.components.explore_drivers import Drivers
from dashboard.components.journey import BAD, GOOD, NEUTRAL, fmt_score, handoffs
from dashboard.i18n import t
from storage.explore import Overview, PhaseInfo, bin_end, bin_starts, histogram_edges
from storage.queries import PhaseStat

# Okabe–Ito: distinguishable with every common colour-vision deficiency.
PHASE_COLOURS = (
    "#0072B2",
    "#E69F00",
    "#009E73",
    "#CC79A7",
    "#56B4E9",
    "#D55E00",
    "#000000",
    "#F0E442",
    "#999999",
)
CHANNEL_COLOURS = {"review": "#0072B2", "social": "#E69F00", "chat": "#009E73"}
GAP_SCALE = [[0.0, BAD], [0.5, "#f7f7f7"], [1.0, GOOD]]


Figure = dict[str, Any]
AXIS = {
    "gridcolor": "#e6e9ec",
    "zerolinecolor": "#b8c0c8",
    "linecolor": "#b8c0c8",
    "automargin": True,  # long phase and brand names get the room they need
}


def _figure(traces: list[dict[str, Any]], height: int = 320, **extra: Any) -> Figure:
    layout: dict[str, Any] = {
        "height": height,
        "margin": {"l": 50, "r": 16, "t": 16, "b": 40},
        "font": {"size": 13, "family": "DejaVu Sans, Segoe UI, Arial, sans-serif"},
        "legend": {"orientation": "h", "y": -0.18, "font": {"size": 11}},
        "clickmode": "event",
        "hovermode": "closest",
        "paper_bgcolor": "#ffffff",
        "plot_bgcolor": "#ffffff",
        "xaxis": dict(AXIS),
        "yaxis": dict(AXIS),
    }
    for key, value in extra.items():
        layout[key] = {**layout.get(key, {}), **value} if "axis" in key else value
    return {"data": traces, "layout": layout}


def empty_figure(message: str) -> Figure:
    return _figure(
        [],
        height=260,
        annotations=[{"text": message, "showarrow": False, "font": {"size": 15, "color": "#666"}}],
        xaxis={"visible": False},
        yaxis={"visible": False},
    )


def phase_stats(overview: Overview, phases: Sequence[PhaseInfo]) -> list[PhaseStat]:
    """The overview's per-phase totals in journey order, as the wall's PhaseStat."""
    stats = []
    for p in phases:
        cell = overview.phases.get(p.key)
        stats.append(
            PhaseStat(
                phase=p.key,
                position=p.position,
                name_nl=p.name_nl,
                name_en=p.name_en,
                target=p.target,
                count=cell.count if cell else 0,
                mean=cell.mean if cell else None,
                negative=cell.negative if cell else 0,
                positive=cell.positive if cell else 0,
            )
        )
    return stats


def trend_figure(
    overview: Overview,
    phases: Sequence[PhaseInfo],
    since: datetime,
    until: datetime,
    zone: ZoneInfo,
    language: str,
) -> Figure:
    """Mean sentiment per phase per time bin, each with its promise as a dotted line."""
    starts = bin_starts(since, until, overview.bin_hours, zone)
    xs = [s.isoformat() for s in starts]
    traces: list[dict[str, Any]] = []
    shown = [p for p in phases if p.key in overview.phases]
    for index, phase in enumerate(shown):
        colour = PHASE_COLOURS[index % len(PHASE_COLOURS)]
        cells = [overview.trend.get((start, phase.key)) for start in starts]
        name = phase.name(language)
        traces.append(
            {
                "type": "scatter",
                "x": xs,
                "y": [c.mean if c else None for c in cells],
                "mode": "lines+markers",
                "name": name,
                "legendgroup": phase.key,
                "line": {"color": colour, "width": 2},
                "marker": {"size": 6},
                "connectgaps": False,
                "customdata": [
                    [phase.key, x, c.count if c else 0] for x, c in zip(xs, cells, strict=True)
                ],
                "hovertemplate": f"{name}<br>%{{x}}<br>%{{y:+.2f}} · %{{customdata[2]}} "
                f"{t('messages', language)}<extra></extra>",
            }
        )
        traces.append(
            {
                "type": "scatter",
                "x": [xs[0], xs[-1]] if xs else [],
                "y": [phase.target, phase.target],
                "mode": "lines",
                "name": f"{t('target', language)} {name}",
                "legendgroup": phase.key,
                "showlegend": False,
                "line": {"color": colour, "width": 1, "dash": "dot"},
                "hoverinfo": "skip",
            }
        )
    if not shown:
        return empty_figure(t("ex_no_data", language))
    return _figure(traces, height=340, yaxis={"range": [-1, 1]}, xaxis={"type": "date"})


def heatmap_figure(
    overview: Overview,
    phases: Sequence[PhaseInfo],
    brand_names: dict[str, str],
    language: str,
) -> Figure:
    """Phase × brand: mean sentiment minus the phase's target (orange below, blue above)."""
    brands = [b for b in brand_names if any((b, p.key) in overview.matrix for p in phases)]
    if not brands:
        return empty_figure(t("ex_no_data", language))
    z, text, custom = [], [], []
    for brand in brands:
        row, row_text, row_custom = [], [], []
        for phase in phases:
            cell = overview.matrix.get((brand, phase.key))
            gap = None if cell is None or cell.mean is None else cell.mean - phase.target
            row.append(gap)
            row_text.append("" if gap is None else f"{gap:+.2f}<br>n={cell.count if cell else 0}")
            row_custom.append([brand, phase.key])
        z.append(row)
        text.append(row_text)
        custom.append(row_custom)
    trace = {
        "type": "heatmap",
        "z": z,
        "x": [p.name(language) for p in phases],
        "y": [brand_names.get(b, b) for b in brands],
        "text": text,
        "texttemplate": "%{text}",
        "customdata": custom,
        "colorscale": GAP_SCALE,
        "zmid": 0,
        "zmin": -1,
        "zmax": 1,
        "colorbar": {"title": {"text": t("ex_gap", language)}, "thickness": 12},
        "hovertemplate": "%{y} · %{x}<br>%{z:+.2f}<extra></extra>",
        "xgap": 2,
        "ygap": 2,
    }
    return _figure([trace], height=300, xaxis={"tickangle": -25})


def journey_figure(overview: Overview, phases: Sequence[PhaseInfo], language: str) -> Figure:
    """Sentiment along the ordered phases with the promise; drops at handoffs marked."""
    stats = phase_stats(overview, phases)
    if not any(s.count for s in stats):
        return empty_figure(t("ex_no_data", language))
    names = [p.name(language) for p in phases]
    line = {
        "type": "scatter",
        "x": names,
        "y": [s.mean for s in stats],
        "mode": "lines+markers+text",
        "text": [fmt_score(s.mean) for s in stats],
        "textposition": "top center",
        "marker": {
            "size": 14,
            "color": [NEUTRAL if s.gap is None else (GOOD if s.gap >= 0 else BAD) for s in stats],
        },
        "line": {"color": "#555", "width": 2},
        "customdata": [[s.phase, s.count] for s in stats],
        "name": t("ex_sentiment", language),
        "hovertemplate": "%{x}<br>%{y:+.2f} · %{customdata[1]} "
        + t("messages", language)
        + "<extra></extra>",
    }
    promise = {
        "type": "scatter",
        "x": names,
        "y": [s.target for s in stats],
        "mode": "markers",
        "marker": {"symbol": "line-ew-open", "size": 26, "color": "#333", "line": {"width": 2}},
        "name": t("target", language),
        "hoverinfo": "skip",
    }
    annotations = [
        {
            "x": index + 0.5,
            "y": -0.9,
            "text": f"▼ {handoff.delta:+.2f}",
            "showarrow": False,
            "font": {"color": BAD, "size": 14 if handoff.biggest else 12},
            "bgcolor": "#fff3e8" if handoff.biggest else "rgba(0,0,0,0)",
        }
        for index, handoff in enumerate(handoffs(stats))
        if handoff.state == "drop" and handoff.delta is not None
    ]
    return _figure(
        [line, promise],
        height=320,
        yaxis={"range": [-1, 1]},
        xaxis={"tickangle": -25},
        showlegend=False,
        margin={"l": 50, "r": 16, "t": 16, "b": 90},
        annotations=annotations,
    )


def channel_figure(
    overview: Overview, since: datetime, until: datetime, zone: ZoneInfo, language: str
) -> Figure:
    """Phase mentions per channel per time bin, stacked."""
    starts = bin_starts(since, until, overview.bin_hours, zone)
    xs = [s.isoformat() for s in starts]
    channels = sorted({channel for _, channel in overview.channels})
    if not channels:
        return empty_figure(t("ex_no_data", language))
    traces = []
    for channel in channels:
        cells = [overview.channels.get((s, channel)) for s in starts]
        traces.append(
            {
                "type": "bar",
                "x": xs,
                "y": [c.count if c else 0 for c in cells],
                "name": t(channel, language),
                "marker": {"color": CHANNEL_COLOURS.get(channel, NEUTRAL)},
                "customdata": [[channel, x] for x in xs],
                "hovertemplate": f"{t(channel, language)}<br>%{{x}}<br>%{{y}}<extra></extra>",
            }
        )
    return _figure(traces, height=300, barmode="stack", xaxis={"type": "date"})


def distribution_figure(overview: Overview, language: str) -> Figure:
    """How the phase-mention scores spread over -1..1 (labels' bands coloured)."""
    if not any(overview.histogram):
        return empty_figure(t("ex_no_data", language))
    edges = histogram_edges()
    pairs = list(zip(edges, edges[1:], strict=False))
    centres = [(a + b) / 2 for a, b in pairs]
    trace = {
        "type": "bar",
        "x": centres,
        "y": overview.histogram,
        "width": 2 / len(centres) * 0.92,
        "marker": {
            "color": [BAD if c <= -0.2 else (GOOD if c >= 0.2 else NEUTRAL) for c in centres]
        },
        "customdata": [[a, b] for a, b in pairs],
        "hovertemplate": "%{customdata[0]:+.1f} … %{customdata[1]:+.1f}: %{y}<extra></extra>",
    }
    return _figure(
        [trace], height=300, showlegend=False, xaxis={"range": [-1.05, 1.05], "dtick": 0.2}
    )


def drivers_figure(drivers: Drivers, phases: Sequence[PhaseInfo], language: str) -> Figure:
    """Per phase: rating points per +1 sentiment (left) and rating lost to its complaints
    (right), each with its 95% bootstrap interval."""
    if not drivers.drivers:
        return empty_figure(t("ex_no_ratings", language))
    names = {p.key: p.name(language) for p in phases}
    ordered = sorted(drivers.drivers, key=lambda d: d.impact)
    labels = [names.get(d.phase, d.phase) for d in ordered]
    effect = {
        "type": "bar",
        "orientation": "h",
        "y": labels,
        "x": [d.effect for d in ordered],
        "name": t("ex_effect", language),
        "marker": {"color": "#0072B2"},
        "error_x": {
            "type": "data",
            "symmetric": False,
            "array": [d.effect_high - d.effect for d in ordered],
            "arrayminus": [d.effect - d.effect_low for d in ordered],
        },
        "customdata": [[d.phase] for d in ordered],
        "xaxis": "x",
        "hovertemplate": "%{y}: %{x:+.2f}<extra></extra>",
    }
    impact = {
        "type": "bar",
        "orientation": "h",
        "y": labels,
        "x": [d.impact for d in ordered],
        "name": t("ex_impact", language),
        "marker": {"color": BAD},
        "error_x": {
            "type": "data",
            "symmetric": False,
            "array": [d.impact_high - d.impact for d in ordered],
            "arrayminus": [d.impact - d.impact_low for d in ordered],
        },
        "customdata": [[d.phase] for d in ordered],
        "xaxis": "x2",
        "hovertemplate": "%{y}: +%{x:.3f}<extra></extra>",
    }
    return _figure(
        [effect, impact],
        height=max(260, 42 * len(ordered) + 80),
        xaxis={"domain": [0, 0.46], "title": {"text": t("ex_effect", language)}},
        xaxis2={"domain": [0.54, 1], "title": {"text": t("ex_impact", language)}, **AXIS},
        showlegend=False,
        margin={"l": 170, "r": 16, "t": 16, "b": 50},
    )


def bin_window(start_iso: str, bin_hours: int, zone: ZoneInfo) -> tuple[datetime, datetime]:
    start = datetime.fromisoformat(start_iso)
    return start, bin_end(start, bin_hours, zone)
