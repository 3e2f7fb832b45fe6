"""The explorer's alert band: open alerts, and those of the filter's period, for its brands and
phases, each with its "why" and a link that sets the filter to that brand × phase × period."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from dash import dcc, html

from dashboard.components.explore_filters import FilterState, local_text, to_query
from dashboard.i18n import t
from storage.models import Alert


def alert_state(
    alert: Alert, window_minutes: int, zone: ZoneInfo, now: datetime, language: str
) -> FilterState:
    """The filter behind an alert: its brand and phase, from the start of the window that raised
    it to its end (or now, while it is open); the page rounds that out to whole hours."""
    start = alert.started_at - timedelta(minutes=window_minutes)
    end = alert.ended_at or now
    return FilterState(
        brands=(alert.brand,),
        phases=(alert.phase,),
        period="custom",
        start=local_text(start, zone),
        end=local_text(end, zone),
        extra={"lang": language},
    )


def _when(alert: Alert, zone: ZoneInfo, language: str) -> str:
    start = alert.started_at.astimezone(zone)
    if alert.ended_at is None:
        return t("ex_alert_since", language, start=f"{start:%d-%m %H:%M}")
    end = alert.ended_at.astimezone(zone)
    shown_end = f"{end:%H:%M}" if end.date() == start.date() else f"{end:%d-%m %H:%M}"
    return f"{start:%d-%m %H:%M} – {shown_end}"


def why(alert: Alert, window_minutes: int, language: str) -> str:
    """Observed against expected negatives in the window, in the reader's language (the stored
    `reason` is English; it is the line's tooltip)."""
    ratio = alert.observed / alert.expected if alert.expected > 0 else None
    text = t(
        "ex_alert_why",
        language,
        observed=round(alert.observed),
        minutes=window_minutes,
        expected=f"{alert.expected:.1f}",
    )
    return f"{text} ({ratio:.1f}×)" if ratio is not None else text


def alert_list(
    alerts: Sequence[Alert],
    current: FilterState,
    window_minutes: int,
    zone: ZoneInfo,
    now: datetime,
    language: str,
    brand_names: Mapping[str, str],
    phase_names: Mapping[str, str],
) -> list[html.Component]:
    """One clickable line per alert; the line whose view is the current filter is marked."""
    if not alerts:
        return [
            html.P(t("ex_no_alerts", language), className="alerts-none", id="explore-no-alerts")
        ]
    lines: list[html.Component] = []
    for alert in alerts:
        target = alert_state(alert, window_minutes, zone, now, language)
        selected = (current.brands, current.phases, current.start, current.end) == (
            target.brands,
            target.phases,
            target.start,
            target.end,
        )
        status = "open" if alert.ended_at is None else "ended"
        lines.append(
            dcc.Link(
                href=f"/explore?{to_query(target)}",
                id=f"explore-alert-{alert.id}",
                className=f"alert-item alert-{status}{' alert-selected' if selected else ''}",
                title=alert.reason,
                children=[
                    html.Span(t(f"ex_alert_{status}", language), className="alert-status"),
                    html.Span(
                        f"{brand_names.get(alert.brand, alert.brand)} · "
                        f"{phase_names.get(alert.phase, alert.phase)}",
                        className="alert-what",
                    ),
                    html.Span(why(alert, window_minutes, language), className="alert-why"),
                    html.Span(_when(alert, zone, language), className="alert-when"),
                    html.Span(t("ex_alert_show", language), className="alert-show"),
                ],
            )
        )
    return lines
