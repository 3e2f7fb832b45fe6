"""The verbatims behind a chart: the paged table's columns and rows, and one message in full
with each sentence coloured by its sentiment, and a chat shown as the conversation it was."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from dash import html

from dashboard.components.journey import fmt_score
from dashboard.i18n import t
from sentiment.labels import label_for
from storage.explore import MessageDetail, Unit, Verbatim

PAGE_SIZE = 50


def column_defs(language: str) -> list[dict[str, object]]:
    """Only created_at, sentiment and rating sort (server-side, each backed by an index)."""
    fixed = {"sortable": False, "resizable": True}
    return [
        {
            "field": "created",
            "headerName": t("ex_col_time", language),
            "colId": "created_at",
            "sortable": True,
            "width": 150,
            "sort": "desc",
        },
        {"field": "channel", "headerName": t("ex_col_channel", language), "width": 90, **fixed},
        {"field": "brands", "headerName": t("ex_col_brand", language), "width": 110, **fixed},
        {"field": "phases", "headerName": t("ex_col_phases", language), "width": 210, **fixed},
        {
            "field": "sentiment",
            "headerName": t("ex_col_sentiment", language),
            "colId": "sentiment",
            "sortable": True,
            "width": 105,
            "valueFormatter": {"function": "d3.format('+.2f')(params.value)"},
            "cellClassRules": {
                "cell-negative": "params.value <= -0.2",
                "cell-positive": "params.value >= 0.2",
            },
        },
        {
            "field": "rating",
            "headerName": t("ex_col_rating", language),
            "colId": "rating",
            "sortable": True,
            "width": 80,
        },
        {"field": "handled", "headerName": t("ex_col_handled", language), "width": 130, **fixed},
        {
            "field": "text",
            "headerName": t("ex_col_text", language),
            "flex": 1,
            "minWidth": 300,
            "tooltipField": "text",
            **fixed,
        },
    ]


def grid_row(
    v: Verbatim,
    language: str,
    zone: ZoneInfo,
    brand_names: dict[str, str],
    phase_names: dict[str, str],
) -> dict[str, object]:
    handled = t("ex_yes", language) if v.handled else ""
    if v.assignee:
        handled = f"{handled} → {v.assignee}".strip()
    return {
        "id": v.id,
        "created": v.created_at.astimezone(zone).strftime("%d-%m-%Y %H:%M"),
        "channel": t(v.channel, language),
        "brands": ", ".join(brand_names.get(b, b) for b in v.brands),
        "phases": ", ".join(
            f"{phase_names.get(p, p)} {s:+.1f}" for p, s in sorted(v.phases.items())
        ),
        "sentiment": None if v.sentiment is None else round(v.sentiment, 3),
        "rating": v.rating,
        "handled": handled,
        "text": v.text,
    }


def _unit_span(unit: Unit, phase_names: dict[str, str], language: str) -> html.Span:
    names = ", ".join(phase_names.get(p, t("general", language)) for p in unit.phases)
    return html.Span(
        unit.text,
        className=f"unit unit-{unit.label}",
        title=f"{names}: {fmt_score(unit.score)}",
        **{"data-score": f"{unit.score:+.2f}"},
    )


def highlighted(
    text: str, units: list[Unit], phase_names: dict[str, str], language: str
) -> list[html.Span | str]:
    """The message text with each scored sentence wrapped and coloured; the words between them
    (whitespace, anything the splitter dropped) stay as they were."""
    parts: list[html.Span | str] = []
    cursor = 0
    for unit in units:
        found = text.find(unit.text, cursor)
        if found < 0:  # the scorer cleaned the text: show the unit as it was scored
            parts.append(" ")
            parts.append(_unit_span(unit, phase_names, language))
            continue
        if found > cursor:
            parts.append(text[cursor:found])
        parts.append(_unit_span(unit, phase_names, language))
        cursor = found + len(unit.text)
    if cursor < len(text):
        parts.append(text[cursor:])
    return parts


def detail_view(
    detail: MessageDetail,
    language: str,
    zone: ZoneInfo,
    brand_names: dict[str, str],
    phase_names: dict[str, str],
) -> list[html.Component]:
    m = detail.message
    head = " · ".join(
        x
        for x in (
            m.created_at.astimezone(zone).strftime("%d-%m-%Y %H:%M"),
            t(m.channel, language),
            m.source,
            ", ".join(brand_names.get(b, b) for b in m.brands),
            (m.language or "").upper(),
            f"{t('ex_col_rating', language)} {m.rating:g}" if m.rating is not None else "",
        )
        if x
    )
    chips = [
        html.Span(
            f"{phase_names.get(p, t('general', language))} {fmt_score(s)}",
            className=f"chip chip-{label_for(s)}",
        )
        for p, s in sorted(m.phases.items(), key=lambda item: item[1])
    ]
    children: list[html.Component] = [
        html.Div(head, className="detail-head", id="explore-detail-head"),
        html.Div(chips, className="detail-chips"),
    ]
    if detail.conversation:
        children.append(html.H4(t("ex_conversation", language)))
        turns = []
        for turn in detail.conversation:
            own = turn.id == m.id
            units = detail.units if own else []
            body = highlighted(turn.text, units, phase_names, language) if units else [turn.text]
            label = turn.label or "neutral"
            turns.append(
                html.Div(
                    className=f"turn turn-{turn.role}{' turn-selected' if own else ''}",
                    children=[
                        html.Div(
                            f"{t('ex_role_' + turn.role, language)} · "
                            f"{turn.created_at.astimezone(zone).strftime('%H:%M')}"
                            + (
                                f" · {fmt_score(turn.sentiment)}"
                                if turn.sentiment is not None
                                else ""
                            ),
                            className=f"turn-head turn-{label}",
                        ),
                        html.Div(body, className="turn-text"),
                    ],
                )
            )
        children.append(html.Div(turns, className="conversation", id="explore-conversation"))
        ending = detail.ending
        if ending is not None:
            children.append(
                html.P(
                    t(
                        "ex_ending",
                        language,
                        label=t("wall_" + (ending.label or "neutral"), language),
                        score=fmt_score(ending.sentiment),
                    ),
                    className=f"ending ending-{ending.label}",
                    id="explore-ending",
                )
            )
    else:
        children.append(
            html.P(
                highlighted(m.text, detail.units, phase_names, language),
                className="detail-text",
                id="explore-detail-text",
            )
        )
    return children
