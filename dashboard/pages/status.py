"""The status page for operators: per source its health, plus the scoring backlog and quarantine.

Shows errors and counts only — never message text, so no personal data."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import dash
from dash import Input, Output, State, callback, dcc, html

from dashboard.context import current
from dashboard.i18n import pick_language, t
from storage.db import session_scope
from storage.health import all_health
from storage.messages import quarantine_counts
from storage.scores import ModelUse, count_unscored, scored_by_model

dash.register_page(__name__, path="/status", title="CX Pulse — status", name="Status")


def layout(lang: str | None = None, **_query: str) -> html.Div:
    language = pick_language(lang, current().settings.dashboard.language)
    return html.Div(
        className="status-page",
        children=[
            dcc.Store(id="status-lang", data=language),
            dcc.Interval(id="status-tick", interval=10_000),
            html.H1(t("status_title", language)),
            html.Div(id="status-body"),
        ],
    )


def _when(moment: datetime | None, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).strftime("%d-%m %H:%M:%S") if moment else "–"


@callback(
    Output("status-body", "children"),
    Input("status-tick", "n_intervals"),
    State("status-lang", "data"),
)
def refresh(_n: int | None, language: str) -> list[html.Component]:
    context = current()
    zone = ZoneInfo(context.settings.dashboard.timezone)
    with session_scope(context.engine) as session:
        health = {row.source: row for row in all_health(session)}
        waiting = count_unscored(session)
        quarantine = quarantine_counts(session)
        models = scored_by_model(session, datetime.now(UTC) - timedelta(hours=24))
    header = [
        "source",
        "type",
        "state",
        "last_success",
        "items_fetched",
        "failures",
        "last_error",
        "next_attempt",
        "quarantined",
    ]
    rows = []
    for source in context.settings.sources:
        row = health.get(source.key)
        failing = bool(row and row.consecutive_failures)
        state = "never_run" if row is None else ("failing" if failing else "ok")
        rows.append(
            html.Tr(
                className=f"source-{state}",
                id=f"source-{source.key}",
                children=[
                    html.Td(source.key),
                    html.Td(source.type),
                    html.Td(t(state, language)),
                    html.Td(_when(row.last_success_at if row else None, zone)),
                    html.Td(row.items_fetched if row else 0),
                    html.Td(row.consecutive_failures if row else 0),
                    html.Td((row.last_error or "") if failing and row else ""),
                    html.Td(_when(row.next_attempt_at if row else None, zone)),
                    html.Td(quarantine.get(source.key, 0)),
                ],
            )
        )
    now = datetime.now(UTC).astimezone(zone).strftime("%H:%M:%S")
    return [
        html.P(f"{t('unscored', language)}: {waiting} · {t('updated', language, time=now)}"),
        html.Table(
            className="status-table",
            children=[
                html.Thead(html.Tr([html.Th(t(h, language)) for h in header])),
                html.Tbody(rows),
            ],
        ),
        html.H2(t("models_title", language)),
        _models_table(models, language, zone),
    ]


def _models_table(models: list[ModelUse], language: str, zone: ZoneInfo) -> html.Component:
    """Which model (name@revision) scored how much: after `cxpulse models use` the new one
    rises to the top; with language routes each route's model has its own row."""
    if not models:
        return html.P(t("no_scores", language), id="models-none")
    return html.Table(
        className="status-table",
        id="models-table",
        children=[
            html.Thead(
                html.Tr([html.Th(t(h, language)) for h in ("model", "scored", "last_scored")])
            ),
            html.Tbody(
                [
                    html.Tr(
                        [
                            html.Td(m.model),
                            html.Td(m.messages),
                            html.Td(_when(m.last_scored_at, zone)),
                        ]
                    )
                    for m in models
                ]
            ),
        ],
    )
