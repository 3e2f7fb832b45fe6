"""The wall screen: /wall and /wall/<screen>, rotating views readable from five metres, no chrome.

One refresh callback; pacing, rotation and the offline warning run in wall.js (docs/wall.md)."""

from __future__ import annotations

import json
import logging
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import dash
from dash import ClientsideFunction, Input, Output, State, callback, clientside_callback, dcc, html
from dash.development.base_component import Component
from sqlalchemy.exc import SQLAlchemyError

from config.settings import WALL_VIEWS, Settings
from dashboard.components.wall_data import (
    WallOptions,
    draw_alerts,
    drawn_views,
    freshness,
    token_ok,
    updated_text,
    version_of,
    wall_options,
)
from dashboard.context import current
from dashboard.i18n import pick_language, t
from storage.alerts import active_alerts
from storage.db import session_scope
from storage.wall import data_version

log = logging.getLogger(__name__)


def _title(screen: str | None = None, **_: Any) -> str:
    return f"CX Pulse — wall{f' · {screen}' if screen else ''}"


# ---------------------------------------------------------------------------------------------
# Layout


def _plain(message: str, theme: str = "dark") -> html.Div:
    """A page with one sentence and no data: wrong token, unknown screen."""
    return html.Div(
        className=f"wall wall-plain theme-{theme}", children=[html.P(message, id="wall-message")]
    )


class _Snapshot:
    """What one refresh found: the drawn views asked for, the alert band, the banners."""

    def __init__(self) -> None:
        self.views: dict[str, Any] = {}
        self.versions: dict[str, str] = {}
        self.alerts: tuple[list[Component], bool] | None = None
        self.stale: tuple[str, bool] = ("", True)


def _read(
    options: WallOptions,
    views: list[str],
    versions: dict[str, str],
    now: datetime,
) -> _Snapshot:
    """Draw the asked views whose version moved on, and the alert band if the alerts changed."""
    context = current()
    settings = context.settings
    snapshot = _Snapshot()
    with session_scope(context.engine) as session:
        last, alert_ids = data_version(session)
        alerts = active_alerts(session) if versions.get("alerts") != str(alert_ids) else None
    version = version_of(last, now)
    stale_views = [v for v in views if versions.get(v) != version]
    snapshot.views = drawn_views(stale_views, version, options, settings, context.engine, now)
    snapshot.versions = {**versions, **{v: version for v in stale_views}}
    if alerts is not None:
        snapshot.alerts = draw_alerts(alerts, settings, options.language)
        snapshot.versions["alerts"] = str(alert_ids)
    snapshot.stale = freshness(last, now, settings, options.language)
    return snapshot


def layout(screen: str | None = None, **query: str) -> html.Div:
    settings = current().settings
    if screen is not None and screen not in settings.dashboard.screens:
        language = pick_language(query.get("lang"), settings.dashboard.language)
        return _plain(t("wall_unknown_screen", language, screen=screen))
    options = wall_options(settings, screen, query)
    if not token_ok(settings, options.token):
        return _plain(t("wall_token_required", options.language), options.theme)
    language = options.language
    now = datetime.now(UTC)
    snapshot = _Snapshot()
    snapshot.stale = (t("waiting", language), False)
    try:
        snapshot = _read(options, list(options.views), {}, now)
    except SQLAlchemyError:
        # The page still comes up; the first refresh that reaches the database fills it in.
        log.exception("wall: could not read the database for the first paint")
    rendered = snapshot.views
    stale_text, stale_hidden = snapshot.stale
    updated = updated_text(now, settings, language)
    alerts, alerts_hidden = snapshot.alerts or ([], True)
    brand_name = next(b.name for b in settings.brands if b.key == options.brand)
    hours = settings.dashboard.window_hours
    titles = {
        "journey": t("wall_journey", language, hours=hours),
        "feed": t("wall_feed", language),
        "brands": t("wall_brands", language, brand=brand_name, hours=hours),
        "trend": t("wall_trend", language),
        "moments": t("wall_moments", language),
    }
    bodies: dict[str, Component] = {
        "journey": html.Div(rendered.get("journey"), id="wall-journey", className="view-body"),
        "feed": html.Ul(rendered.get("feed"), id="wall-feed", className="view-body feed-list"),
        "brands": html.Div(rendered.get("brands"), id="wall-brands", className="view-body"),
        "trend": html.Div(
            rendered.get("trend"),
            id="wall-trend",
            className="view-body trend-grid",
            # Two rows of panels, as many columns as that takes for the configured phases.
            style={"gridTemplateColumns": f"repeat({-(-len(settings.phases) // 2)}, 1fr)"},
        ),
        "moments": html.Div(
            rendered.get("moments"), id="wall-moments", className="view-body moments-grid"
        ),
    }
    sections = [
        html.Section(
            id=f"wall-view-{view}",
            className=f"wall-view view-{view}",
            hidden=view not in options.views,  # not in this screen's rotation: never shown
            children=[html.H2(titles[view], className="view-title"), bodies[view]],
        )
        for view in WALL_VIEWS
    ]
    return html.Div(
        id="wall-root",
        className=f"wall theme-{options.theme} show-{options.views[0]}",
        # wall.js reads its options here: pacing and rotation run outside Dash's callbacks.
        **{"data-options": json.dumps(asdict(options))},  # type: ignore[arg-type]
        lang=language,
        children=[
            dcc.Store(id="wall-options", data=asdict(options)),
            dcc.Store(id="wall-sent", data=None),
            dcc.Store(id="wall-answered", data=None),
            dcc.Store(
                id="wall-version",
                data={**snapshot.versions, **_banner_versions(snapshot.stale, updated)},
            ),
            dcc.Store(id="wall-seen"),
            html.Header(
                className="wall-header",
                children=[
                    html.H1([html.Span(brand_name, className="wall-brand"), t("title", language)]),
                    html.Div(
                        className="wall-dots",
                        children=[
                            html.Span(className=f"dot dot-{view}", title=view)
                            for view in options.views
                        ]
                        if len(options.views) > 1
                        else [],
                    ),
                    html.Div(updated, id="wall-updated"),
                ],
            ),
            html.Div(stale_text, id="wall-stale", className="wall-banner", hidden=stale_hidden),
            html.Div(id="wall-offline", className="wall-banner", hidden=True),
            html.Div(
                alerts,
                id="wall-alerts",
                className="wall-alerts",
                hidden=alerts_hidden,
            ),
            html.Main(sections, className="wall-views"),
        ],
    )


dash.register_page(__name__, path="/wall", title=_title, name="Wall", layout=layout)
dash.register_page(
    f"{__name__}_screen",
    path_template="/wall/<screen>",
    title=_title,
    name="Wall screen",
    layout=layout,
)


# ---------------------------------------------------------------------------------------------
# Callbacks


@callback(
    output={
        **{view: Output(f"wall-{view}", "children") for view in WALL_VIEWS},
        "alerts": Output("wall-alerts", "children"),
        "alerts_hidden": Output("wall-alerts", "hidden"),
        "stale": Output("wall-stale", "children"),
        "stale_hidden": Output("wall-stale", "hidden"),
        "updated": Output("wall-updated", "children"),
        "answered": Output("wall-answered", "data"),
        "versions": Output("wall-version", "data"),
    },
    inputs={"sent": Input("wall-sent", "data")},
    state={"stored": State("wall-options", "data"), "versions": State("wall-version", "data")},
    prevent_initial_call=True,
)
def refresh(
    sent: dict[str, Any] | None, stored: dict[str, Any], versions: dict[str, str] | None
) -> dict[str, Any]:
    """The view on screen (and the next one just before its turn), redrawn only if something new
    was scored; the banners only when they change. The browser says which views it needs."""
    settings = current().settings
    options = WallOptions(**{**stored, "views": tuple(stored["views"])})
    if not token_ok(settings, options.token) or not sent:
        raise dash.exceptions.PreventUpdate
    now = datetime.now(UTC)
    out: dict[str, Any] = {key: dash.no_update for key in (*WALL_VIEWS, "alerts", "alerts_hidden")}
    out["answered"] = sent.get("at")
    asked = [v for v in sent.get("views", ()) if v in options.views] or list(options.views)
    try:
        snapshot = _read(options, asked, versions or {}, now)
    except SQLAlchemyError:
        # Keep the last figures on screen and say how old they are; the next tick tries again.
        log.exception("wall: refresh could not read the database")
        stale = t("wall_error", options.language, time=_local_time(now, settings))
        versions = {**(versions or {}), "stale": f"False|{stale}"}
        return (
            out
            | {"stale": stale, "stale_hidden": False, "updated": dash.no_update}
            | {"versions": versions}
        )
    out |= snapshot.views
    if snapshot.alerts is not None:
        out["alerts"], out["alerts_hidden"] = snapshot.alerts
    updated = updated_text(now, settings, options.language)
    new_versions = {**snapshot.versions, **_banner_versions(snapshot.stale, updated)}
    old = versions or {}
    # Banners too go out only when they change: an unchanged refresh is a few bytes.
    if new_versions["stale"] != old.get("stale"):
        out["stale"], out["stale_hidden"] = snapshot.stale
    else:
        out["stale"] = out["stale_hidden"] = dash.no_update
    out["updated"] = updated if new_versions["updated"] != old.get("updated") else dash.no_update
    out["versions"] = new_versions if new_versions != old else dash.no_update
    return out


def _banner_versions(stale: tuple[str, bool], updated: str) -> dict[str, str]:
    return {"stale": f"{stale[1]}|{stale[0]}", "updated": updated}


def _local_time(moment: datetime, settings: Settings) -> str:
    return moment.astimezone(ZoneInfo(settings.dashboard.timezone)).strftime("%H:%M")


# Pacing, rotation and the offline warning run in wall.js on a plain browser timer: a Dash
# Interval would cost the renderer a round of callback bookkeeping on every tick, in proportion
# to the whole page. The timer asks for a refresh (set_props on wall-sent) every refresh_ms, but
# never while one is unanswered: Dash itself would send a new request each tick and drop the
# answer of the one in flight, piling requests up on a slow server. This callback tells the
# timer that an answer came.
clientside_callback(
    ClientsideFunction(namespace="cxpulse_wall", function_name="answered"),
    Output("wall-seen", "data"),
    Input("wall-answered", "data"),
    prevent_initial_call=True,
)
