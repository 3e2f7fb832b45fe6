"""The CX manager's explorer (login required): filter, see why a phase is red, read the
verbatims behind any chart element, handle them, export. All filter state lives in the URL."""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import dash
import dash_ag_grid as dag
import flask
from dash import ALL, Input, Output, State, callback, clientside_callback, ctx, dcc, html
from dash.exceptions import PreventUpdate

from dashboard import auth
from dashboard.components import explore_charts as charts
from dashboard.components.explore_alerts import alert_list
from dashboard.components.explore_corrections import (
    FIX,
    FIX_PHASE,
    button_class,
    chosen,
    correction_panel,
    label_lines,
    parse_key,
    recorded,
)
from dashboard.components.explore_drivers import estimate
from dashboard.components.explore_export import CSV_PATH, XLSX_PATH
from dashboard.components.explore_filters import (
    CHANNELS,
    PRESETS,
    FilterState,
    from_filter,
    parse_query,
    to_filter,
    to_query,
)
from dashboard.components.explore_filters import state_from_controls as controls_state
from dashboard.components.explore_terms import top_terms
from dashboard.components.explore_verbatims import PAGE_SIZE, column_defs, detail_view, grid_row
from dashboard.context import DAY_CACHE_KEY, current
from dashboard.i18n import pick_language, t
from storage.alert_queries import alerts_for_explorer
from storage.db import session_scope
from storage.explore import (
    DayCache,
    ExploreFilter,
    Overview,
    bin_hours_for,
    filter_options,
    message_detail,
    negative_units,
    overview,
    phases,
    rated_messages,
    set_handling,
    verbatims,
)
from storage.labels import LabelError, add_label, labels_for_message
from storage.queries import brands
from storage.rollups import NO_BRAND

log = logging.getLogger(__name__)

dash.register_page(__name__, path="/explore", title="CX Pulse — explore", name="Explore")

GENERAL = "general"


def _zone() -> ZoneInfo:
    return ZoneInfo(current().settings.dashboard.timezone)


def _day_cache() -> DayCache:
    """This web process's cache of whole days of rollup sums (see storage.explore.DayCache)."""
    config = flask.current_app.config
    cache = config.get(DAY_CACHE_KEY)
    if cache is None:
        cache = config[DAY_CACHE_KEY] = DayCache(_zone())
    return cache  # type: ignore[no-any-return]


def _names(language: str) -> tuple[dict[str, str], dict[str, str]]:
    """Display names of brands and phases (catalogue tables, a few rows each)."""
    with session_scope(current().engine) as session:
        brand_names = {b.key: b.name for b in brands(session)}
        phase_names = {p.key: p.name(language) for p in phases(session)}
    brand_names[NO_BRAND] = t("ex_no_brand", language)
    phase_names[GENERAL] = t("general", language)
    return brand_names, phase_names


# --- layout ----------------------------------------------------------------------------------


def _field(label: str, control: Any) -> html.Div:
    return html.Div([html.Label(label, className="field-label"), control], className="field")


def _filters(state: FilterState, language: str) -> html.Aside:
    brand_names, phase_names = _names(language)
    with session_scope(current().engine) as session:
        options = filter_options(session)
    period_options = [{"label": t(f"ex_period_{p}", language), "value": p} for p in PRESETS]
    period_options.append({"label": t("ex_period_custom", language), "value": "custom"})
    return html.Aside(
        className="explore-filters",
        children=[
            _field(
                t("ex_brands", language),
                dcc.Dropdown(
                    id="explore-brands",
                    options=[{"label": n, "value": k} for k, n in brand_names.items()],
                    value=list(state.brands),
                    multi=True,
                    placeholder=t("ex_all", language),
                ),
            ),
            _field(
                t("ex_phases", language),
                dcc.Dropdown(
                    id="explore-phases",
                    options=[{"label": n, "value": k} for k, n in phase_names.items()],
                    value=list(state.phases),
                    multi=True,
                    placeholder=t("ex_all", language),
                ),
            ),
            _field(
                t("ex_channels", language),
                dcc.Checklist(
                    id="explore-channels",
                    options=[{"label": t(c, language), "value": c} for c in CHANNELS],
                    value=list(state.channels),
                    inline=True,
                ),
            ),
            _field(
                t("ex_sources", language),
                dcc.Dropdown(
                    id="explore-sources",
                    options=[{"label": s, "value": s} for s in options["sources"]],
                    value=list(state.sources),
                    multi=True,
                    placeholder=t("ex_all", language),
                ),
            ),
            _field(
                t("ex_languages", language),
                dcc.Checklist(
                    id="explore-languages",
                    options=[{"label": v.upper(), "value": v} for v in options["languages"]],
                    value=list(state.languages),
                    inline=True,
                ),
            ),
            _field(
                t("ex_period", language),
                dcc.RadioItems(
                    id="explore-period", options=period_options, value=state.period, inline=True
                ),
            ),
            dcc.DatePickerRange(
                id="explore-dates",
                start_date=state.start[:10] or None,
                end_date=state.end[:10] or None,
                display_format="DD-MM-YYYY",
                first_day_of_week=1,
                disabled=state.period != "custom",
                className="explore-dates",
            ),
            _field(
                t("ex_score", language),
                dcc.RangeSlider(
                    id="explore-score",
                    min=-1,
                    max=1,
                    step=0.1,
                    value=[state.score_min, state.score_max],
                    marks={-1: "-1", -0.2: "-0.2", 0.2: "+0.2", 1: "+1"},
                    allowCross=False,
                    tooltip={"placement": "bottom"},
                ),
            ),
            _field(
                t("ex_search", language),
                dcc.Input(
                    id="explore-search",
                    type="search",
                    value=state.search,
                    debounce=True,
                    placeholder=t("ex_search_hint", language),
                    className="explore-search",
                ),
            ),
            dcc.Checklist(
                id="explore-unhandled",
                options=[{"label": t("ex_unhandled", language), "value": "1"}],
                value=["1"] if state.unhandled else [],
            ),
            html.A(t("ex_reset", language), href=f"/explore?lang={language}", className="reset"),
            html.Div(
                className="export",
                children=[
                    html.H3(t("ex_export", language)),
                    html.Button("CSV", id="explore-export-csv", className="button"),
                    html.Button("Excel", id="explore-export-xlsx", className="button"),
                    html.Div(
                        className="progress",
                        children=html.Div(id="explore-export-bar", className="progress-bar"),
                    ),
                    html.Div(id="explore-export-status", className="export-status"),
                    html.P(t("ex_export_hint", language), className="hint"),
                ],
            ),
        ],
    )


def _graph(graph_id: str, title: str) -> html.Div:
    return html.Div(
        className="card",
        children=[
            html.H3(title),
            dcc.Loading(
                dcc.Graph(id=graph_id, config={"displayModeBar": False}), type="dot", delay_show=400
            ),
        ],
    )


def _handle_form(language: str, user: auth.SessionUser) -> html.Div:
    disabled = not user.can_handle
    return html.Div(
        id="explore-handle",
        className="handle",
        children=[
            html.H4(t("ex_handle", language)),
            dcc.Checklist(
                id="explore-handled",
                options=[{"label": t("ex_handled", language), "value": "1", "disabled": disabled}],
                value=[],
            ),
            dcc.Input(
                id="explore-assignee",
                placeholder=t("ex_assignee", language),
                disabled=disabled,
                className="explore-assignee",
            ),
            dcc.Textarea(
                id="explore-note",
                placeholder=t("ex_note", language),
                disabled=disabled,
                className="explore-note",
            ),
            html.Button(
                t("ex_save", language), id="explore-save", className="button", disabled=disabled
            ),
            html.Div(
                t("ex_viewer_readonly", language) if disabled else "",
                id="explore-handle-status",
                className="handle-status",
            ),
        ],
    )


def layout(lang: str | None = None, **query: str) -> html.Div:
    settings = current().settings
    language = pick_language(lang, settings.dashboard.language)
    user = auth.current_user(current().engine)
    if user is None:  # the guard redirects page loads; this covers in-app navigation
        return html.Div(dcc.Location(id="explore-login-redirect", href="/login?next=/explore"))
    state = parse_query({**query, **({"lang": lang} if lang else {})})
    return html.Div(
        className="explore",
        children=[
            dcc.Store(id="explore-lang", data=language),
            dcc.Store(id="explore-extra", data=state.extra),
            dcc.Store(id="explore-query", data=to_query(state)),
            dcc.Store(id="explore-drill", data=None),
            dcc.Store(id="explore-message", data=None),
            dcc.Store(id="explore-saved", data=0),
            dcc.Store(id="explore-export-urls", data=None),
            html.Div(id="explore-history", hidden=True),
            html.Div(id="explore-purged", hidden=True),
            html.Header(
                className="explore-header",
                children=[
                    html.H1(f"{settings.own_brand.name} · {t('ex_title', language)}"),
                    html.Div(
                        className="who",
                        children=[
                            html.Span(
                                f"{user.username} ({t('ex_role_' + user.role, language)})",
                                id="explore-user",
                            ),
                            html.A(
                                "EN" if language == "nl" else "NL",
                                href=f"/explore?{to_query(_with_lang(state, language))}",
                                className="lang-switch",
                            ),
                            html.Form(
                                method="post",
                                action="/logout",
                                className="logout",
                                children=[
                                    dcc.Input(
                                        type="hidden", name="csrf_token", value=auth.csrf_token()
                                    ),
                                    html.Button(
                                        t("ex_logout", language),
                                        type="submit",
                                        id="explore-logout",
                                        className="button link",
                                    ),
                                ],
                            ),
                        ],
                    ),
                ],
            ),
            html.Div(
                className="explore-body",
                children=[
                    _filters(state, language),
                    html.Main(
                        className="explore-main",
                        children=[
                            html.Section(
                                className="card alerts",
                                children=[
                                    html.H3(
                                        [
                                            t("ex_alerts", language),
                                            html.Span(
                                                t("ex_alerts_hint", language), className="hint"
                                            ),
                                        ]
                                    ),
                                    html.Div(id="explore-alerts", className="alert-list"),
                                    dcc.Interval(
                                        id="explore-alerts-tick", interval=60_000, n_intervals=0
                                    ),
                                ],
                            ),
                            html.Div(id="explore-kpis", className="kpis"),
                            html.Div(id="explore-note-sampled", className="sampled"),
                            html.Div(
                                className="charts",
                                children=[
                                    _graph("explore-trend", t("ex_trend", language)),
                                    _graph("explore-heatmap", t("ex_heatmap", language)),
                                    _graph("explore-journey", t("ex_journey", language)),
                                    _graph("explore-channel", t("ex_channel", language)),
                                    _graph("explore-distribution", t("ex_distribution", language)),
                                ],
                            ),
                            html.Section(
                                className="card complaints",
                                children=[
                                    html.H3(t("ex_complaints", language)),
                                    html.P(t("ex_complaints_hint", language), className="hint"),
                                    dcc.Loading(html.Div(id="explore-terms"), type="dot"),
                                ],
                            ),
                            html.Section(
                                className="card drivers",
                                children=[
                                    html.H3(t("ex_drivers", language)),
                                    html.Div(id="explore-drivers-summary", className="hint"),
                                    dcc.Loading(
                                        dcc.Graph(
                                            id="explore-drivers",
                                            config={"displayModeBar": False},
                                        ),
                                        type="dot",
                                    ),
                                    html.P(t("ex_drivers_method", language), className="method"),
                                ],
                            ),
                            html.Section(
                                className="card verbatims",
                                children=[
                                    html.H3(t("ex_verbatims", language)),
                                    html.Div(
                                        className="selection",
                                        children=[
                                            html.Span(id="explore-selection"),
                                            html.Button(
                                                t("ex_clear", language),
                                                id="explore-clear",
                                                className="button link",
                                            ),
                                        ],
                                    ),
                                    dag.AgGrid(
                                        id="explore-grid",
                                        rowModelType="infinite",
                                        columnDefs=column_defs(language),
                                        defaultColDef={"resizable": True},
                                        dashGridOptions={
                                            "cacheBlockSize": PAGE_SIZE,
                                            "maxBlocksInCache": 20,
                                            "rowSelection": {
                                                "mode": "singleRow",
                                                "checkboxes": False,
                                                "enableClickSelection": True,
                                            },
                                            "tooltipShowDelay": 300,
                                        },
                                        className="ag-theme-quartz explore-grid",
                                        style={"height": "430px"},
                                    ),
                                    html.Div(
                                        className="detail-pane",
                                        children=[
                                            html.Div(id="explore-detail", className="detail"),
                                            _handle_form(language, user),
                                        ],
                                    ),
                                ],
                            ),
                        ],
                    ),
                ],
            ),
        ],
    )


def _with_lang(state: FilterState, language: str) -> FilterState:
    other = "en" if language == "nl" else "nl"
    return FilterState(**{**state.__dict__, "extra": {**state.extra, "lang": other}})


# --- filter → URL ----------------------------------------------------------------------------


@callback(
    Output("explore-query", "data"),
    Output("explore-dates", "disabled"),
    Input("explore-brands", "value"),
    Input("explore-phases", "value"),
    Input("explore-channels", "value"),
    Input("explore-sources", "value"),
    Input("explore-languages", "value"),
    Input("explore-period", "value"),
    Input("explore-dates", "start_date"),
    Input("explore-dates", "end_date"),
    Input("explore-score", "value"),
    Input("explore-search", "value"),
    Input("explore-unhandled", "value"),
    State("explore-extra", "data"),
    State("explore-query", "data"),
)
def sync_query(  # type: ignore[no-untyped-def]
    brands_,
    phases_,
    channels,
    sources,
    languages,
    period,
    start,
    end,
    score,
    search,
    unhandled,
    extra,
    previous,
):
    state = controls_state(
        brands_,
        phases_,
        channels,
        sources,
        languages,
        period,
        start,
        end,
        score,
        search,
        unhandled,
        extra or {},
    )
    # A phrase comes only from a link (a clicked complaint term); the panel keeps it.
    kept = parse_query(previous or "")
    if kept.phrase:
        state = FilterState(**{**state.__dict__, "phrase": kept.phrase})
    # The date pickers know days only: a link's exact times (an alert's window) stay as long as
    # the days shown are the link's.
    if (
        state.period == "custom"
        and kept.period == "custom"
        and (state.start, state.end) == (kept.start[:10], kept.end[:10])
    ):
        state = FilterState(**{**state.__dict__, "start": kept.start, "end": kept.end})
    return to_query(state), period != "custom"


# The URL follows the filter without a page reload (pushState: Back returns to the previous
# filter). Dash's own Location would re-render the whole page on every change.
clientside_callback(
    """
    function(query) {
        if (window.location.pathname !== '/explore') { return ''; }
        const want = query ? '?' + query : '';
        if (window.location.search !== want) {
            window.history.pushState(null, '', '/explore' + want);
        }
        return '';
    }
    """,
    Output("explore-history", "children"),
    Input("explore-query", "data"),
)


def _filter_of(query: str | None) -> ExploreFilter:
    return to_filter(parse_query(query or ""), _zone())


# --- charts ----------------------------------------------------------------------------------


def _kpis(result: Overview, language: str) -> list[html.Div]:
    total = result.total
    share = total.negative / total.count if total.count else None
    items = [
        (
            "explore-kpi-mentions",
            t("ex_kpi_mentions", language),
            f"{total.count:,}".replace(",", "."),
        ),
        ("explore-kpi-mean", t("ex_kpi_mean", language), charts.fmt_score(total.mean)),
        (
            "explore-kpi-negative",
            t("ex_kpi_negative", language),
            "–" if share is None else f"{share:.0%}",
        ),
    ]
    return [
        html.Div(
            className="kpi",
            id=kpi_id,
            children=[html.Div(value, className="kpi-value"), html.Div(label)],
        )
        for kpi_id, label, value in items
    ]


@callback(
    Output("explore-kpis", "children"),
    Output("explore-note-sampled", "children"),
    Output("explore-trend", "figure"),
    Output("explore-heatmap", "figure"),
    Output("explore-journey", "figure"),
    Output("explore-channel", "figure"),
    Output("explore-distribution", "figure"),
    Input("explore-query", "data"),
    State("explore-lang", "data"),
)
def refresh_charts(query: str, language: str):  # type: ignore[no-untyped-def]
    started = time.perf_counter()
    f = _filter_of(query)
    zone = _zone()
    with session_scope(current().engine) as session:
        result = overview(session, f, zone, _day_cache())
        phase_list = phases(session)
    brand_names, _ = _names(language)
    notes = []
    if result.sampled:
        notes.append(t("ex_sampled", language))
    elif result.histogram_sampled:
        notes.append(t("ex_histogram_sampled", language))
    figures = (
        charts.trend_figure(result, phase_list, f.since, f.until, zone, language),
        charts.heatmap_figure(result, phase_list, brand_names, language),
        charts.journey_figure(result, phase_list, language),
        charts.channel_figure(result, f.since, f.until, zone, language),
        charts.distribution_figure(result, language),
    )
    log.debug("explore charts in %.0f ms", (time.perf_counter() - started) * 1000)
    return (_kpis(result, language), " ".join(notes), *figures)


@callback(
    Output("explore-terms", "children"),
    Input("explore-query", "data"),
    State("explore-lang", "data"),
)
def refresh_terms(query: str, language: str) -> list[html.Component]:
    f = _filter_of(query)
    brand_names, phase_names = _names(language)
    with session_scope(current().engine) as session:
        units = negative_units(session, f)
        order = [p.key for p in phases(session)] + [GENERAL]
    ignore = [w for name in brand_names.values() for w in name.lower().split()]
    terms = top_terms(units, ignore=ignore)
    if not terms:
        return [html.P(t("ex_no_complaints", language), className="hint")]
    blocks = []
    for phase in [p for p in order if terms.get(p)]:
        blocks.append(
            html.Div(
                className="term-block",
                children=[
                    html.H4(phase_names.get(phase, phase)),
                    html.Div(
                        [
                            html.Button(
                                f"{term.term} ({term.count})",
                                id={"type": "explore-term", "index": f"{phase}|{term.term}"},
                                className="term",
                            )
                            for term in terms[phase]
                        ]
                    ),
                ],
            )
        )
    return blocks


@callback(
    Output("explore-drivers", "figure"),
    Output("explore-drivers-summary", "children"),
    Input("explore-query", "data"),
    State("explore-lang", "data"),
)
def refresh_drivers(query: str, language: str):  # type: ignore[no-untyped-def]
    f = _filter_of(query)
    with session_scope(current().engine) as session:
        rated = rated_messages(session, f)
        phase_list = phases(session)
    result = estimate(rated.ratings, rated.phase_scores, [p.key for p in phase_list])
    if result.mean_rating is None:
        return charts.empty_figure(t("ex_no_ratings", language)), ""
    summary = t(
        "ex_drivers_summary",
        language,
        n=result.messages,
        mean=f"{result.mean_rating:.2f}",
        r2="–" if result.r_squared is None else f"{result.r_squared:.2f}",
    )
    if rated.capped:
        summary += " " + t("ex_drivers_capped", language)
    return charts.drivers_figure(result, phase_list, language), summary


# --- alerts ----------------------------------------------------------------------------------


@callback(
    Output("explore-alerts", "children"),
    Input("explore-query", "data"),
    Input("explore-alerts-tick", "n_intervals"),
    State("explore-lang", "data"),
)
def refresh_alerts(query: str, _tick: int, language: str) -> list[html.Component]:
    """Open alerts and those of the period, for the filter's brands and phases; each links to
    the filter behind it."""
    state = parse_query(query or "")
    f = to_filter(state, _zone())
    with session_scope(current().engine) as session:
        alerts = alerts_for_explorer(session, f.since, f.until, f.brands, f.phases)
    brand_names, phase_names = _names(language)
    return alert_list(
        alerts,
        state,
        current().settings.alerts.window_minutes,
        _zone(),
        datetime.now(UTC),
        language,
        brand_names,
        phase_names,
    )


# --- chart click → the verbatims behind it ---------------------------------------------------


def _first_point(click: dict[str, Any] | None) -> list[Any] | None:
    if not click or not click.get("points"):
        return None
    data = click["points"][0].get("customdata")
    return data if isinstance(data, list) else None


def drill_from_click(
    source: str, point: list[Any], bin_hours: int, zone: ZoneInfo
) -> dict[str, Any] | None:
    """What a click on a chart element narrows the verbatims to."""
    if source == "explore-trend":
        start, end = charts.bin_window(point[1], bin_hours, zone)
        return {"phase": point[0], "start": start.isoformat(), "end": end.isoformat()}
    if source == "explore-heatmap":
        return {"brand": point[0], "phase": point[1]}
    if source == "explore-journey":
        return {"phase": point[0]}
    if source == "explore-channel":
        start, end = charts.bin_window(point[1], bin_hours, zone)
        return {"channel": point[0], "start": start.isoformat(), "end": end.isoformat()}
    if source == "explore-distribution":
        return {"min": float(point[0]), "max": float(point[1])}
    if source == "explore-drivers":
        return {"phase": point[0], "max": -0.2}
    return None


def narrow(f: ExploreFilter, drill: dict[str, Any] | None) -> ExploreFilter:
    """The filter narrowed by a chart click (never widened: each part intersects)."""
    if not drill:
        return f
    changes: dict[str, Any] = {}
    if drill.get("phase"):
        changes["phases"] = (drill["phase"],)
    if drill.get("brand"):
        changes["brands"] = (drill["brand"],)
    if drill.get("channel"):
        changes["channels"] = (drill["channel"],)
    if drill.get("start"):
        changes["since"] = max(f.since, datetime.fromisoformat(drill["start"]).astimezone(UTC))
    if drill.get("end"):
        changes["until"] = min(f.until, datetime.fromisoformat(drill["end"]).astimezone(UTC))
    if drill.get("min") is not None:
        changes["score_min"] = max(f.score_min, float(drill["min"]))
    if drill.get("max") is not None:
        changes["score_max"] = min(f.score_max, float(drill["max"]))
    if drill.get("phrase"):
        changes["phrase"] = drill["phrase"]
    return f.narrowed(**changes)


def describe(drill: dict[str, Any] | None, language: str) -> str:
    if not drill:
        return t("ex_selection_all", language)
    brand_names, phase_names = _names(language)
    zone = _zone()
    parts = []
    if drill.get("phase"):
        parts.append(phase_names.get(drill["phase"], drill["phase"]))
    if drill.get("brand"):
        parts.append(brand_names.get(drill["brand"], drill["brand"]))
    if drill.get("channel"):
        parts.append(t(drill["channel"], language))
    if drill.get("start"):
        start = datetime.fromisoformat(drill["start"]).astimezone(zone)
        end = datetime.fromisoformat(drill["end"]).astimezone(zone)
        parts.append(f"{start:%d-%m %H:%M} – {end:%d-%m %H:%M}")
    if drill.get("min") is not None or drill.get("max") is not None:
        low, high = drill.get("min", -1.0), drill.get("max", 1.0)
        parts.append(f"{t('ex_score', language)} {low:+.1f} … {high:+.1f}")
    if drill.get("phrase"):
        parts.append(f"“{drill['phrase']}”")
    return t("ex_selection", language, what=" · ".join(parts))


@callback(
    Output("explore-drill", "data"),
    Output("explore-selection", "children"),
    Input("explore-trend", "clickData"),
    Input("explore-heatmap", "clickData"),
    Input("explore-journey", "clickData"),
    Input("explore-channel", "clickData"),
    Input("explore-distribution", "clickData"),
    Input("explore-drivers", "clickData"),
    Input({"type": "explore-term", "index": ALL}, "n_clicks"),
    Input("explore-clear", "n_clicks"),
    Input("explore-query", "data"),
    State("explore-lang", "data"),
)
def choose_drill(*args: Any):  # type: ignore[no-untyped-def]
    query, language = args[-2], args[-1]
    trigger = ctx.triggered_id
    drill: dict[str, Any] | None = None
    if isinstance(trigger, dict) and trigger.get("type") == "explore-term":
        if not ctx.triggered[0].get("value"):
            raise PreventUpdate  # a term button was rendered, not clicked
        phase, _, term = str(trigger["index"]).partition("|")
        drill = {"phase": phase, "phrase": term, "max": -0.2}
    elif trigger in {
        "explore-trend",
        "explore-heatmap",
        "explore-journey",
        "explore-channel",
        "explore-distribution",
        "explore-drivers",
    }:
        point = _first_point(ctx.triggered[0]["value"])
        if point is None:
            raise PreventUpdate
        f = _filter_of(query)
        drill = drill_from_click(str(trigger), point, bin_hours_for(f.since, f.until), _zone())
    return drill, describe(drill, language)


# A new filter, click or saved handling: the grid forgets its cached pages and asks again.
# The key remembered on the grid's API object skips the first call after the grid mounted
# (it has just loaded this very view) and calls that change nothing.
clientside_callback(
    """
    function(query, drill, saved) {
        const key = JSON.stringify([query, drill, saved]);
        if (window.dash_ag_grid && dash_ag_grid.getApiAsync) {
            dash_ag_grid.getApiAsync('explore-grid').then(function(api) {
                if (api.__cxpulseKey === undefined) { api.__cxpulseKey = key; return; }
                if (api.__cxpulseKey === key) { return; }
                api.__cxpulseKey = key;
                api.purgeInfiniteCache();
            });
        }
        return '';
    }
    """,
    Output("explore-purged", "children"),
    Input("explore-query", "data"),
    Input("explore-drill", "data"),
    Input("explore-saved", "data"),
)


@callback(
    Output("explore-grid", "getRowsResponse"),
    Input("explore-grid", "getRowsRequest"),
    State("explore-query", "data"),
    State("explore-drill", "data"),
    State("explore-lang", "data"),
)
def grid_rows(request: dict[str, Any] | None, query: str, drill: Any, language: str):  # type: ignore[no-untyped-def]
    if not request:
        raise PreventUpdate
    start = int(request.get("startRow") or 0)
    end = int(request.get("endRow") or start + PAGE_SIZE)
    sort_model = request.get("sortModel") or [{"colId": "created_at", "sort": "desc"}]
    sort = str(sort_model[0].get("colId", "created_at"))
    descending = sort_model[0].get("sort") != "asc"
    f = narrow(_filter_of(query), drill)
    brand_names, phase_names = _names(language)
    zone = _zone()
    with session_scope(current().engine) as session:
        rows = verbatims(session, f, start, end - start, sort, descending)
    data = [grid_row(v, language, zone, brand_names, phase_names) for v in rows]
    response: dict[str, Any] = {"rowData": data}
    if len(rows) < end - start:  # the last page: now the grid knows how many there are
        response["rowCount"] = start + len(rows)
    return response


@callback(
    Output("explore-message", "data"),
    Input("explore-grid", "selectedRows"),
    prevent_initial_call=True,
)
def choose_message(selected: list[dict[str, Any]] | None) -> int:
    if not selected or not isinstance(selected, list) or selected[0].get("id") is None:
        raise PreventUpdate
    return int(selected[0]["id"])


@callback(
    Output("explore-detail", "children"),
    Output("explore-handled", "value"),
    Output("explore-assignee", "value"),
    Output("explore-note", "value"),
    Output("explore-handle", "className"),
    Input("explore-message", "data"),
    State("explore-lang", "data"),
)
def show_message(message_id: int | None, language: str):  # type: ignore[no-untyped-def]
    if message_id is None:
        return html.P(t("ex_pick_message", language), className="hint"), [], "", "", "handle hidden"
    brand_names, phase_names = _names(language)
    with session_scope(current().engine) as session:
        detail = message_detail(session, int(message_id))
        labels = labels_for_message(session, int(message_id)) if detail else []
    if detail is None:
        return html.P(t("ex_gone", language)), [], "", "", "handle hidden"
    m = detail.message
    user = auth.current_user()
    panel = correction_panel(
        detail, labels, phase_names, bool(user and user.can_correct), _zone(), language
    )
    return (
        detail_view(detail, language, _zone(), brand_names, phase_names)
        + ([panel] if panel else []),
        ["1"] if m.handled else [],
        m.assignee or "",
        m.note or "",
        "handle",
    )


@callback(
    Output("explore-handle-status", "children"),
    Output("explore-saved", "data"),
    Input("explore-save", "n_clicks"),
    State("explore-message", "data"),
    State("explore-handled", "value"),
    State("explore-assignee", "value"),
    State("explore-note", "value"),
    State("explore-saved", "data"),
    State("explore-lang", "data"),
    prevent_initial_call=True,
)
def save_handling(  # type: ignore[no-untyped-def]
    _clicks, message_id, handled, assignee, note, saved, language
):
    user = auth.current_user()
    # Checked here, on the server: a viewer who re-enables the button in the browser still
    # cannot change anything.
    if user is None or not user.can_handle:
        return t("ex_viewer_denied", language), dash.no_update
    if message_id is None:
        raise PreventUpdate
    with session_scope(current().engine) as session:
        set_handling(
            session,
            int(message_id),
            user.username,
            handled=bool(handled),
            assignee=assignee or "",
            note=note or "",
        )
    log.info("message %s handling set by %s", message_id, user.username)
    now = datetime.now(UTC).astimezone(_zone())
    return t("ex_saved", language, time=f"{now:%H:%M:%S}"), (saved or 0) + 1


# --- correcting a misread sentence or message -----------------------------------------------


@callback(
    Output("explore-labels", "children"),
    Output("explore-fix-status", "children"),
    Output({"type": FIX, "index": ALL}, "className"),
    Input({"type": FIX, "index": ALL}, "n_clicks"),
    Input({"type": FIX_PHASE, "index": ALL}, "value"),
    State("explore-lang", "data"),
    prevent_initial_call=True,
)
def record_correction(_clicks, _phases, language):  # type: ignore[no-untyped-def]
    """One click on a polarity, or a picked phase, stores a label for that sentence or the whole
    message. Like handling it goes through the same guarded, same-origin JSON callback."""
    trigger = ctx.triggered_id
    buttons = [item["id"]["index"] for item in ctx.outputs_list[2]]
    unchanged = [dash.no_update] * len(buttons)
    if not isinstance(trigger, dict) or not ctx.triggered[0].get("value"):
        raise PreventUpdate  # the panel was drawn, nothing was clicked
    user = auth.current_user()
    # Checked here, on the server: an enabled button in a viewer's browser changes nothing.
    if user is None or not user.can_correct:
        return dash.no_update, t("ex_fix_denied", language), unchanged
    index = str(trigger.get("index", ""))
    polarity: str | None = None
    phase: str | None = None
    if trigger.get("type") == FIX:
        key, _, polarity = index.rpartition("|")
    else:
        key, phase = index, str(ctx.triggered[0]["value"])
    _, phase_names = _names(language)
    zone = _zone()
    try:
        message_id, position = parse_key(key)
        if phase is not None and phase not in phase_names:
            raise LabelError(f"phase {phase!r} is not configured")
        with session_scope(current().engine) as session:
            label = add_label(
                session,
                created_by=user.username,
                message_id=message_id,
                unit_position=position,
                polarity=polarity,
                phase=phase,
                origin="explorer",
            )
            labels = labels_for_message(session, message_id)
            detail = message_detail(session, message_id)
            now = datetime.now(UTC).astimezone(zone)
            status = recorded(label, phase_names, language, f"{now:%H:%M:%S}")
            lines = label_lines(labels, zone, phase_names, language)
            picked, _ = chosen(labels)
    except (LabelError, ValueError) as exc:
        return dash.no_update, t("ex_fix_failed", language, error=str(exc)), unchanged
    log.info("label on message %s unit %s by %s", message_id, position, user.username)
    said = {f"{message_id}:m": detail.message.label if detail else None}
    said.update({f"{message_id}:{u.position}": u.label for u in (detail.units if detail else [])})
    classes = []
    for button in buttons:
        button_key, _, button_polarity = button.rpartition("|")
        classes.append(button_class(button_key, button_polarity, said.get(button_key), picked))
    return lines, status, classes


# --- export ----------------------------------------------------------------------------------


@callback(
    Output("explore-export-urls", "data"),
    Input("explore-query", "data"),
    Input("explore-drill", "data"),
)
def export_links(query: str, drill: Any) -> dict[str, str]:
    """The export URLs of what the table shows: the filter, narrowed by a chart click."""
    zone = _zone()
    state = parse_query(query or "")
    if drill:
        state = from_filter(narrow(to_filter(state, zone), drill), zone, state.extra)
    encoded = to_query(state)
    return {"csv": f"{CSV_PATH}?{encoded}", "xlsx": f"{XLSX_PATH}?{encoded}"}


# The download runs in the browser (assets/explore.js): it streams the file, shows rows or
# bytes received against the total the server announces, then saves it.
clientside_callback(
    "function(a, b, urls) { return window.cxpulseExport(dash_clientside.callback_context, urls); }",
    Output("explore-export-status", "children"),
    Input("explore-export-csv", "n_clicks"),
    Input("explore-export-xlsx", "n_clicks"),
    State("explore-export-urls", "data"),
    prevent_initial_call=True,
)
