"""The journey strip: one tile per phase in journey order, score against the promise, and a chart.

Colours are colour-blind safe (blue/orange) and always paired with an arrow and a number."""

from __future__ import annotations

from dataclasses import dataclass

import plotly.graph_objects as go
from dash import html

from dashboard.i18n import t
from storage.queries import PhaseStat

GOOD = "#2c7fb8"  # blue: at or above the promise
BAD = "#e6550d"  # orange: below the promise
NEUTRAL = "#9e9e9e"
ARROWS = {"good": "▲", "bad": "▼", "none": "•"}
# A handoff counts as a drop when sentiment falls this much from one phase to the next: about
# twice the day-to-day wobble of a phase mean at demo volumes, so noise is not flagged.
DROP = -0.15


def fmt_score(value: float | None) -> str:
    # Adding 0.0 to the rounded value turns -0.00 into +0.00.
    return "–" if value is None else f"{round(value, 2) + 0.0:+.2f}"


def phase_name(stat: PhaseStat, language: str) -> str:
    return stat.name_nl if language == "nl" else stat.name_en


def gap_state(gap: float | None) -> str:
    """ "good" at or above the promise, "bad" below it, "none" when nothing was said."""
    return "none" if gap is None else ("good" if gap >= 0 else "bad")


def gap_words(gap: float, language: str) -> str:
    """Above, on or below the promise, for a gap as PhaseStat.gap gives it (two decimals)."""
    return t("gap_above" if gap > 0 else ("gap_on" if gap == 0 else "gap_below"), language)


def phase_tile(stat: PhaseStat, language: str) -> html.Div:
    gap = stat.gap
    state = gap_state(gap)
    arrow = ARROWS[state]
    gap_text = (
        t("no_messages", language)
        if gap is None
        else f"{arrow} {fmt_score(gap)} {gap_words(gap, language)}"
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


def wall_tile(stat: PhaseStat, previous: PhaseStat | None, language: str) -> html.Div:
    """A phase on the wall: the gap to the promise as the headline, then score, trend, volume.

    Compact on purpose (eight side by side); the view's legend says what the arrows mean."""
    state = gap_state(stat.gap)
    if stat.mean is None or previous is None or previous.mean is None:
        trend = "–"
    else:
        delta = stat.mean - previous.mean
        trend = f"{'↗' if delta > 0.02 else ('↘' if delta < -0.02 else '→')} {fmt_score(delta)}"
    if stat.gap is None:
        headline: list[html.Span | str] = [t("no_messages", language)]
        below = ""
    else:
        headline = [html.Span(ARROWS[state], className="tile-arrow"), fmt_score(stat.gap)]
        below = gap_words(stat.gap, language)
    return html.Div(
        className=f"tile wall-tile tile-{state}",
        id=f"tile-{stat.phase}",
        **{"data-phase": stat.phase},  # type: ignore[arg-type]  # data-* props are not typed
        children=[
            html.Div(phase_name(stat, language), className="tile-name"),
            html.Div(headline, className="tile-gap"),
            html.Div(below, className="tile-gap-label"),
            html.Div(
                [
                    html.Span(fmt_score(stat.mean), className="tile-score"),
                    f" {t('wall_now', language)}",
                ],
                className="tile-now",
            ),
            html.Div(f"{t('target', language)} {fmt_score(stat.target)}", className="tile-target"),
            html.Div(trend, className="tile-trend"),
            html.Div(f"{stat.count} {t('messages', language)}", className="tile-meta"),
        ],
    )


@dataclass(frozen=True)
class Handoff:
    """The change in sentiment from one phase to the next: where the experience breaks."""

    before: str
    after: str
    delta: float | None  # None when either phase has no messages
    biggest: bool = False  # the largest drop along the journey

    @property
    def state(self) -> str:
        if self.delta is None:
            return "none"
        return "drop" if self.delta <= DROP else ("rise" if self.delta > -DROP else "flat")


def handoffs(stats: list[PhaseStat]) -> list[Handoff]:
    """One handoff between each pair of consecutive phases, the biggest drop marked."""
    pairs = [
        (a, b, None if a.mean is None or b.mean is None else b.mean - a.mean)
        for a, b in zip(stats, stats[1:], strict=False)
    ]
    drops = [delta for _, _, delta in pairs if delta is not None and delta <= DROP]
    worst = min(drops) if drops else None
    return [
        Handoff(a.phase, b.phase, delta, biggest=delta is not None and delta == worst)
        for a, b, delta in pairs
    ]
