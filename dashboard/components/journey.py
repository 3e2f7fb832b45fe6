"""The journey strip: one tile per phase in journey order, score against the promise, and a chart.

Colours are colour-blind safe (blue/orange) and always paired with an arrow and a number."""

from __future__ import annotations

import plotly.graph_objects as go
from dash import html

from dashboard.i18n import t
from storage.queries import PhaseStat

GOOD = "#2c7fb8"  # blue: at or above the promise
BAD = "#e6550d"  # orange: below the promise
NEUTRAL = "#9e9e9e"


def fmt_score(value: float | None) -> str:
    return "–" if value is None else f"{value:+.2f}"


def phase_name(stat: PhaseStat, language: str) -> str:
    return stat.name_nl if language == "nl" else stat.name_en


def phase_tile(stat: PhaseStat, language: str) -> html.Div:
    gap = stat.gap
    state = "none" if gap is None else ("good" if gap >= 0 else "bad")
    arrow = {"good": "▲", "bad": "▼", "none": "•"}[state]
    gap_text = (
        t("no_messages", language)
        if gap is None
        else f"{arrow} {fmt_score(gap)} {t('gap_above' if gap >= 0 else 'gap_below', language)}"
    )
    return html.Div(
        className=f"tile tile-{state}",
        id=f"tile-{stat.phase}",
        **{"data-phase": stat.phase},
        children=[
            html.Div(phase_name(stat, language), className="tile-name"),
            html.Div(fmt_score(stat.mean), className="tile-score"),
            html.Div(gap_text, className="tile-gap"),
            html.Div(
                f"{t('target', language)} {fmt_score(stat.target)} · "
                f"{stat.count} {t('messages', language)}",
                className="tile-meta",
            ),
        ],
    )


def journey_figure(stats: list[PhaseStat], language: str) -> go.Figure:
    """Sentiment along the ordered phases, the promise as a line: drops at handoffs stand out."""
    names = [phase_name(s, language) for s in stats]
    means = [s.mean for s in stats]
    colours = [NEUTRAL if s.gap is None else (GOOD if s.gap >= 0 else BAD) for s in stats]
    figure = go.Figure()
    figure.add_bar(
        x=names, y=means, marker_color=colours, name="sentiment", text=[fmt_score(m) for m in means]
    )
    figure.add_scatter(
        x=names,
        y=[s.target for s in stats],
        mode="markers+lines",
        line={"dash": "dot", "color": "#f0f0f0", "width": 2},
        marker={"symbol": "line-ew-open", "size": 28, "color": "#f0f0f0"},
        name=t("target", language),
    )
    figure.update_layout(
        template="plotly_dark",
        paper_bgcolor="rgba(0,0,0,0)",
        plot_bgcolor="rgba(0,0,0,0)",
        margin={"l": 50, "r": 20, "t": 10, "b": 40},
        yaxis={"range": [-1, 1], "zeroline": True, "zerolinecolor": "#666"},
        font={"size": 18},
        showlegend=False,
        uirevision="journey",  # keep zoom/state across live updates: no flicker
    )
    return figure
