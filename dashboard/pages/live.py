"""The live page: per journey phase the own brand's sentiment against its promise, and a ticker.

Polls every `dashboard.refresh_seconds`; a message scored now is on screen within that interval."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import dash
from dash import Input, Output, State, callback, dcc, html

from dashboard.components.journey import journey_figure, phase_name, phase_tile
from dashboard.components.ticker import models_header, ticker_item
from dashboard.context import current
from dashboard.i18n import pick_language, t
from storage.db import session_scope
from storage.queries import brands, last_scored_at, latest_messages, phase_overview

dash.register_page(__name__, path="/", title="CX Pulse — live", name="Live")


def layout(lang: str | None = None, **_query: str) -> html.Div:
    settings = current().settings
    language = pick_language(lang, settings.dashboard.language)
    return html.Div(
        className="live",
        children=[
            dcc.Store(id="live-lang", data=language),
            dcc.Interval(id="live-tick", interval=int(settings.dashboard.refresh_seconds * 1000)),
            html.Header(
                className="live-header",
                children=[
                    html.H1(f"{settings.own_brand.name} · {t('title', language)}"),
                    html.Div(id="live-status", className="status"),
                ],
            ),
            html.Div(id="live-stale", className="stale", hidden=True),
            html.H2(id="live-journey-title", className="section-title"),
            html.Div(id="live-tiles", className="tiles"),
            html.Div(
                className="lower",
                children=[
                    dcc.Graph(id="live-chart", className="chart", config={"displayModeBar": False}),
                    html.Div(
                        className="ticker",
                        children=[html.H2(t("latest", language)), html.Ul(id="live-ticker")],
                    ),
                ],
            ),
        ],
    )


@callback(
    Output("live-tiles", "children"),
    Output("live-chart", "figure"),
    Output("live-ticker", "children"),
    Output("live-status", "children"),
    Output("live-stale", "children"),
    Output("live-stale", "hidden"),
    Output("live-journey-title", "children"),
    Input("live-tick", "n_intervals"),
    State("live-lang", "data"),
)
def refresh(_n: int | None, language: str):  # type: ignore[no-untyped-def]
    context = current()
    settings = context.settings.dashboard
    own = context.settings.own_brand
    now = datetime.now(UTC)
    zone = ZoneInfo(settings.timezone)
    with session_scope(context.engine) as session:
        stats = phase_overview(session, own.key, now - timedelta(hours=settings.window_hours))
        items = latest_messages(session, settings.ticker_size)
        last = last_scored_at(session)
        brand_names = {b.key: b.name for b in brands(session)}
    phase_names = {s.phase: phase_name(s, language) for s in stats}
    tiles = [phase_tile(s, language) for s in stats]
    ticker = [ticker_item(i, language, brand_names, phase_names, zone) for i in items]
    local_now = now.astimezone(zone).strftime("%H:%M:%S")
    status = [f"{t('updated', language, time=local_now)} · {t('model', language)}: "]
    status += models_header(items)
    if last is None:
        stale_text, stale_hidden = t("waiting", language), False
    elif now - last > timedelta(minutes=settings.stale_after_minutes):
        stale_text = t("stale", language, time=last.astimezone(zone).strftime("%d-%m %H:%M"))
        stale_hidden = False
    else:
        stale_text, stale_hidden = "", True
    title = t("journey", language, hours=settings.window_hours)
    return tiles, journey_figure(stats, language), ticker, status, stale_text, stale_hidden, title
