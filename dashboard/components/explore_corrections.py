"""Correcting a misread message in the explorer: per sentence and for the whole message, one
click on the right polarity or a pick of the right phase records a label (storage.labels)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from zoneinfo import ZoneInfo

from dash import dcc, html

from dashboard.components.journey import fmt_score
from dashboard.i18n import t
from storage.explore import MessageDetail
from storage.labels import POLARITIES
from storage.models import Label

WHOLE = "m"  # the key's position part for a label about the whole message
FIX = "explore-fix"  # polarity buttons: index "<message id>:<position or m>|<polarity>"
FIX_PHASE = "explore-fix-phase"  # phase pickers: index "<message id>:<position or m>"


def target_key(message_id: int, position: int | None) -> str:
    return f"{message_id}:{WHOLE if position is None else position}"


def parse_key(key: str) -> tuple[int, int | None]:
    """The message id and unit position (None: the whole message) of a control's key; a
    malformed key raises ValueError."""
    message, _, position = key.partition(":")
    return int(message), None if position == WHOLE else int(position)


def chosen(labels: Sequence[Label]) -> tuple[dict[str, str], dict[str, str]]:
    """The latest corrected polarity and phase per key (a later label overrides an earlier one)."""
    polarity: dict[str, str] = {}
    phase: dict[str, str] = {}
    for label in labels:  # oldest first
        if label.message_id is None:
            continue
        key = target_key(label.message_id, label.unit_position)
        if label.polarity:
            polarity[key] = label.polarity
        if label.phase:
            phase[key] = label.phase
    return polarity, phase


def button_class(
    key: str, polarity: str, model_label: str | None, picked: Mapping[str, str]
) -> str:
    classes = ["fix", f"fix-{polarity}"]
    if polarity == model_label:
        classes.append("fix-model")
    if picked.get(key) == polarity:
        classes.append("fix-chosen")
    return " ".join(classes)


def _what(
    polarity: str | None, phase: str | None, phase_names: Mapping[str, str], language: str
) -> str:
    parts = []
    if polarity:
        parts.append(t(f"wall_{polarity}", language))
    if phase:
        parts.append(phase_names.get(phase, phase))
    return " · ".join(parts)


def _target(position: int | None, language: str) -> str:
    if position is None:
        return t("ex_fix_message", language)
    return t("ex_fix_sentence", language, n=position + 1)


def describe_label(
    label: Label, zone: ZoneInfo, phase_names: Mapping[str, str], language: str
) -> str:
    model_phases = ", ".join(
        phase_names.get(p, p) for p in (label.model_phases or "").split(",") if p
    )
    model = " ".join(
        x
        for x in (
            fmt_score(label.model_score) if label.model_score is not None else "",
            model_phases,
        )
        if x
    )
    return t(
        "ex_fix_line",
        language,
        time=label.created_at.astimezone(zone).strftime("%d-%m %H:%M"),
        who=label.created_by,
        target=_target(label.unit_position, language),
        what=_what(label.polarity, label.phase, phase_names, language),
        model=model or "–",
    )


def label_lines(
    labels: Sequence[Label], zone: ZoneInfo, phase_names: Mapping[str, str], language: str
) -> list[html.Component]:
    if not labels:
        return [html.Li(t("ex_fix_none", language), className="fix-none")]
    return [
        html.Li(describe_label(label, zone, phase_names, language), className="fix-label")
        for label in reversed(labels)  # newest first
    ]


def recorded(label: Label, phase_names: Mapping[str, str], language: str, time: str) -> str:
    what = f"{_target(label.unit_position, language)} → " + _what(
        label.polarity, label.phase, phase_names, language
    )
    return t("ex_fix_recorded", language, time=time, what=what)


def _row(
    key: str,
    title: html.Component,
    model: str,
    model_label: str | None,
    picked: tuple[dict[str, str], dict[str, str]],
    phase_options: list[dict[str, str]],
    disabled: bool,
    language: str,
) -> html.Div:
    polarity, _ = picked
    return html.Div(
        className="fix-row",
        children=[
            html.Div([title, html.Span(model, className="fix-model-says")], className="fix-what"),
            html.Div(
                className="fix-buttons",
                children=[
                    html.Button(
                        t(f"wall_{p}", language),
                        id={"type": FIX, "index": f"{key}|{p}"},
                        className=button_class(key, p, model_label, polarity),
                        disabled=disabled,
                        n_clicks=0,
                    )
                    for p in POLARITIES
                ],
            ),
            dcc.Dropdown(
                id={"type": FIX_PHASE, "index": key},
                options=phase_options,
                value=None,
                placeholder=t("ex_fix_phase", language),
                clearable=False,
                searchable=False,
                disabled=disabled,
                className="fix-phase",
            ),
        ],
    )


def correction_panel(
    detail: MessageDetail,
    labels: Sequence[Label],
    phase_names: Mapping[str, str],
    can_correct: bool,
    zone: ZoneInfo,
    language: str,
) -> html.Section | None:
    """The panel under a message in full; None for a message nobody scored (an agent's turn)."""
    m = detail.message
    if m.sentiment is None and not detail.units:
        return None
    picked = chosen(labels)
    options = [{"label": name, "value": key} for key, name in phase_names.items()]
    disabled = not can_correct
    rows = []
    for unit in detail.units:
        names = ", ".join(phase_names.get(p, p) for p in unit.phases)
        rows.append(
            _row(
                target_key(m.id, unit.position),
                html.Span(unit.text, className=f"fix-text unit-{unit.label}"),
                f"{fmt_score(unit.score)} · {names}",
                unit.label,
                picked,
                options,
                disabled,
                language,
            )
        )
    if m.sentiment is not None:
        names = ", ".join(phase_names.get(p, p) for p in sorted(m.phases))
        rows.append(
            _row(
                target_key(m.id, None),
                html.Strong(t("ex_fix_whole", language), className="fix-text"),
                f"{fmt_score(m.sentiment)} · {names}" if names else fmt_score(m.sentiment),
                m.label,
                picked,
                options,
                disabled,
                language,
            )
        )
    return html.Section(
        className="fix-panel",
        id="explore-fix-panel",
        children=[
            html.H4(t("ex_fix_title", language)),
            html.P(t("ex_fix_viewer" if disabled else "ex_fix_hint", language), className="hint"),
            html.Div(rows, className="fix-rows"),
            html.Div(id="explore-fix-status", className="fix-status"),
            html.H4(t("ex_fix_existing", language)),
            html.Ul(label_lines(labels, zone, phase_names, language), id="explore-labels"),
        ],
    )
