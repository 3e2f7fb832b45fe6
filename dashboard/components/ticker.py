"""The live ticker: the latest scored messages (already redacted at ingest), newest first."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from dash import html

from dashboard.components.journey import BAD, GOOD, NEUTRAL, fmt_score
from dashboard.i18n import t
from storage.queries import TickerItem

LABEL_COLOURS = {"positive": GOOD, "negative": BAD, "neutral": NEUTRAL}


def ticker_item(
    item: TickerItem,
    language: str,
    brand_names: dict[str, str],
    phase_names: dict[str, str],
    zone: ZoneInfo,
    id_prefix: str = "msg",
) -> html.Li:
    colour = LABEL_COLOURS.get(item.label or "neutral", NEUTRAL)
    chips = [
        html.Span(phase_names.get(p, t("general", language)), className="chip") for p in item.phases
    ]
    return html.Li(
        className="ticker-item",
        id=f"{id_prefix}-{item.id}",  # a stable id is React's key: only new items slide in
        style={"borderLeftColor": colour},
        children=[
            html.Div(
                className="ticker-head",
                children=[
                    html.Span(className=f"channel-icon channel-icon-{item.channel}"),
                    html.Span(
                        t(item.channel, language), className=f"channel channel-{item.channel}"
                    ),
                    html.Span(
                        ", ".join(brand_names.get(b, b) for b in item.brands), className="brand"
                    ),
                    html.Span(item.created_at.astimezone(zone).strftime("%H:%M"), className="time"),
                    html.Span(
                        fmt_score(item.sentiment), className="score", style={"color": colour}
                    ),
                ],
            ),
            html.Div(item.text, className="ticker-text"),
            html.Div(chips, className="chips"),
        ],
    )


def model_names(items: list[TickerItem]) -> list[str]:
    """The models behind the ticker, newest first, without revisions: with language routes
    (Dutch to one model, English to another) the header names each, not just the newest."""
    return list(dict.fromkeys(i.model.split("@")[0] for i in items if i.model))


def models_header(items: list[TickerItem]) -> list[html.Span | str]:
    """The model names, comma-separated, each in a span that never wraps inside it (a name
    like all-MiniLM-L6-v2 would otherwise break at a hyphen on the wall screen); "–" while
    nothing in view is scored."""
    parts: list[html.Span | str] = []
    for name in model_names(items):
        if parts:
            parts.append(", ")
        parts.append(html.Span(name, className="model-name"))
    return parts or ["–"]
