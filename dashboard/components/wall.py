"""The wall screen's views as Dash components: journey strip, brands table, trend, moments, alerts.

Plain HTML and CSS, no plotly: sizes follow the screen, text stays sharp at 4K, drawing is cheap."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from dash import html
from dash.development.base_component import Component

from config.settings import PhaseConfig
from dashboard.components.journey import (
    Handoff,
    fmt_score,
    gap_state,
    handoffs,
    phase_name,
    wall_tile,
)
from dashboard.components.ticker import ticker_item
from dashboard.i18n import t
from storage.models import Alert
from storage.queries import PhaseStat, TickerItem, promise_gap
from storage.wall import ChatEndings, TrendPoint


def _from_bottom(value: float) -> str:
    """Where a sentiment in [-1, 1] sits on a chart, in percent from its bottom edge."""
    return f"{(max(-1.0, min(1.0, value)) + 1) * 50:.1f}%"


def _bar(value: float | None, state: str, label: str | None = None) -> list[Component]:
    """A bar from the zero line to `value`, with its number at the end of the bar."""
    if value is None:
        return []
    low, high = min(value, 0.0), max(value, 0.0)
    parts: list[Component] = [
        html.Div(
            className=f"bar bar-{state}",
            style={"bottom": _from_bottom(low), "height": f"{(high - low) * 50:.1f}%"},
        )
    ]
    if label is not None:
        edge = {"bottom": _from_bottom(high)} if value >= 0 else {"top": _from_bottom(-low)}
        parts.append(html.Div(label, className="bar-label", style=edge))
    return parts


def _gap_bar(value: float | None, target: float, state: str) -> list[Component]:
    """The gap drawn: a band from the promise to the actual value, the value as a thick mark."""
    if value is None:
        return []
    low, high = min(value, target), max(value, target)
    label = {"bottom": _from_bottom(high)} if value >= target else {"top": _from_bottom(-low)}
    return [
        html.Div(
            className=f"gap-band bar-{state}",
            style={"bottom": _from_bottom(low), "height": f"{(high - low) * 50:.1f}%"},
        ),
        html.Div(className=f"mean-mark bar-{state}", style={"bottom": _from_bottom(value)}),
        html.Div(fmt_score(value), className="bar-label", style=label),
    ]


def _axes(targets: Sequence[float]) -> list[Component]:
    lines: list[Component] = [html.Div(className="zero-line")]
    return lines + [
        html.Div(className="target-line", style={"bottom": _from_bottom(x)}) for x in targets
    ]


def journey_view(
    stats: list[PhaseStat], previous: list[PhaseStat], language: str, hours: int
) -> list[html.Div]:
    """Tiles in journey order, under them the journey's profile with each handoff between."""
    before = {s.phase: s for s in previous}
    steps = handoffs(stats)
    cells: list[Component] = []
    for index, stat in enumerate(stats):
        cells.append(
            html.Div(
                wall_tile(stat, before.get(stat.phase), language),
                className="strip-tile",
                style={"gridColumn": index + 1, "gridRow": 1},
            )
        )
        marker = [_handoff(steps[index], language)] if index < len(steps) else []
        cells.append(
            html.Div(
                className="profile-cell",
                id=f"profile-{stat.phase}",
                style={"gridColumn": index + 1, "gridRow": 2},
                children=[
                    html.Div(
                        className="profile-plot",
                        children=[
                            *_axes([stat.target]),
                            *_gap_bar(stat.mean, stat.target, gap_state(stat.gap)),
                        ],
                    ),
                    *marker,
                ],
            )
        )
    return [
        html.Div(
            className="journey-grid",
            style={"gridTemplateColumns": f"repeat({len(stats)}, minmax(0, 1fr))"},
            children=cells,
        ),
        html.Div(t("wall_journey_legend", language, hours=hours), className="view-legend"),
    ]


def _handoff(step: Handoff, language: str) -> html.Div:
    """The change from one phase to the next, drawn in the gap between their two bars."""
    arrow = {"drop": "▼", "rise": "▲", "flat": "→", "none": "→"}[step.state]
    return html.Div(
        className=f"handoff handoff-{step.state}" + (" handoff-biggest" if step.biggest else ""),
        id=f"handoff-{step.before}-{step.after}",
        children=[
            html.Div(arrow, className="handoff-arrow"),
            html.Div(
                "–" if step.delta is None else fmt_score(step.delta), className="handoff-delta"
            ),
            html.Div(
                t("wall_biggest_drop", language) if step.biggest else "",
                className="handoff-note",
            ),
        ],
    )


def brands_view(
    by_brand: Mapping[str, list[PhaseStat]],
    brand: str,
    brand_names: Mapping[str, str],
    language: str,
) -> html.Table:
    """Rows are phases, columns the screen's brand then its competitors, with the difference."""
    rivals = [key for key in by_brand if key != brand]
    head = html.Tr(
        [
            html.Th(t("wall_phase", language)),
            html.Th(
                [brand_names.get(brand, brand), html.Div(t("wall_own", language), className="sub")],
                className="own",
            ),
            *[html.Th(brand_names.get(key, key)) for key in rivals],
            html.Th(t("wall_vs_best_rival", language), className="diff"),
        ]
    )
    rows = []
    for index, stat in enumerate(by_brand[brand]):
        others = [by_brand[key][index] for key in rivals]
        best = max((o.mean for o in others if o.mean is not None), default=None)
        diff = None if stat.mean is None or best is None else stat.mean - best
        rows.append(
            html.Tr(
                id=f"brands-{stat.phase}",
                children=[
                    html.Th(
                        [
                            phase_name(stat, language),
                            html.Div(
                                f"{t('target', language)} {fmt_score(stat.target)}",
                                className="sub",
                            ),
                        ]
                    ),
                    _brand_cell(stat, own=True),
                    *[_brand_cell(o) for o in others],
                    html.Td(
                        "–" if diff is None else fmt_score(diff),
                        className="diff "
                        + ("none" if diff is None else ("ahead" if diff >= 0 else "behind")),
                    ),
                ],
            )
        )
    return html.Table(className="brands-table", children=[html.Thead(head), html.Tbody(rows)])


def _brand_cell(stat: PhaseStat, own: bool = False) -> html.Td:
    return html.Td(
        className=f"cell-{gap_state(stat.gap)}" + (" own" if own else ""),
        children=[
            html.Span(fmt_score(stat.mean), className="cell-score"),
            html.Span(f"{stat.count}", className="cell-count"),
        ],
    )


def trend_view(
    trend: Mapping[str, list[TrendPoint]], phases: Sequence[PhaseConfig], language: str
) -> list[html.Div]:
    """One small chart per phase: a bar per day, the promise as a dotted line across."""
    weekdays = t("wall_weekdays", language).split()
    panels = []
    for phase in phases:
        points = trend.get(phase.key, [])
        latest = next((p.mean for p in reversed(points) if p.mean is not None), None)
        bars = [
            html.Div(
                className="trend-day",
                children=[
                    *_bar(point.mean, gap_state(promise_gap(point.mean, phase.target))),
                    html.Div(weekdays[point.start.weekday()], className="trend-label"),
                ],
            )
            for point in points
        ]
        panels.append(
            html.Div(
                className=f"trend-panel trend-{gap_state(promise_gap(latest, phase.target))}",
                id=f"trend-{phase.key}",
                children=[
                    html.Div(phase.label(language), className="trend-name"),
                    html.Div(
                        className="trend-head",
                        children=[
                            html.Span(fmt_score(latest), className="trend-value"),
                            html.Span(
                                f"{t('target', language)} {fmt_score(phase.target)}",
                                className="trend-target",
                            ),
                        ],
                    ),
                    html.Div(
                        className="trend-chart",
                        children=[*_axes([phase.target]), html.Div(bars, className="trend-days")],
                    ),
                ],
            )
        )
    return panels


def moments_view(
    best: TickerItem | None,
    worst: TickerItem | None,
    endings: ChatEndings,
    language: str,
    brand_names: dict[str, str],
    phase_names: dict[str, str],
    zone: ZoneInfo,
) -> list[Component]:
    """The best and the worst message of today side by side, and how today's chats ended."""

    def card(kind: str, item: TickerItem | None) -> html.Div:
        body: Component = (
            html.Ul(ticker_item(item, language, brand_names, phase_names, zone, f"moment-{kind}"))
            if item is not None
            else html.Div(t("wall_no_moment", language), className="moment-empty")
        )
        return html.Div(
            className=f"moment moment-{kind}",
            id=f"moment-{kind}",
            children=[html.H3(t(f"wall_{kind}", language)), body],
        )

    total = endings.total
    segments = [
        html.Div(
            className=f"ending ending-{label}",
            style={"flexGrow": count},
            children=f"{count} {t(f'wall_{label}', language)}",
        )
        for label, count in (
            ("positive", endings.positive),
            ("neutral", endings.neutral),
            ("negative", endings.negative),
        )
        if count
    ]
    ending_body: Component = (
        html.Div(segments, className="ending-bar")
        if total
        else html.Div(t("wall_no_chats", language), className="moment-empty")
    )
    return [
        card("best", best),
        card("worst", worst),
        html.Div(
            className="endings",
            id="moment-endings",
            children=[
                html.H3(
                    [
                        t("wall_endings", language),
                        html.Span(f" · {total} {t('wall_conversations', language)}"),
                    ]
                ),
                ending_body,
            ],
        ),
    ]


def alert_band(
    alerts: Sequence[Alert],
    language: str,
    brand_names: Mapping[str, str],
    phase_names: Mapping[str, str],
    zone: ZoneInfo,
    limit: int = 2,
) -> list[Component]:
    """One line per open alert (newest first); the band never grows past `limit` lines."""
    lines: list[Component] = [
        html.Div(
            className="alert-line",
            id=f"alert-{alert.id}",
            children=[
                html.Span(f"⚠ {t('wall_alert', language)}", className="alert-tag"),
                html.Span(
                    f"{brand_names.get(alert.brand, alert.brand)} · "
                    f"{phase_names.get(alert.phase, alert.phase)}",
                    className="alert-what",
                ),
                html.Span(alert.reason, className="alert-reason"),
                html.Span(
                    t("wall_alert_since", language, time=_local(alert.started_at, zone)),
                    className="alert-since",
                ),
            ],
        )
        for alert in alerts[:limit]
    ]
    if len(alerts) > limit:
        lines.append(html.Div(f"+{len(alerts) - limit}", className="alert-more"))
    return lines


def _local(moment: datetime, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).strftime("%H:%M")
