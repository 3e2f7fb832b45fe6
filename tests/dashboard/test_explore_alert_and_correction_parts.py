"""The parts behind the explorer's alert band and corrections, without a browser: the filter an
alert opens, its "why" in both languages, and which correction counts."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from dashboard.components.explore_alerts import alert_state, why
from dashboard.components.explore_corrections import chosen, parse_key, target_key
from dashboard.components.explore_filters import parse_query, to_filter, to_query
from storage.models import Alert, Label

AMSTERDAM = ZoneInfo("Europe/Amsterdam")


def _alert(ended: datetime | None) -> Alert:
    return Alert(
        id=7,
        brand="voltera",
        phase="delivery",
        started_at=datetime(2026, 11, 20, 13, 7, tzinfo=UTC),
        ended_at=ended,
        observed=20.0,
        expected=4.0,
        reason="…",
    )


def test_an_alert_opens_its_brand_phase_and_window_rounded_out_to_whole_hours() -> None:
    alert = _alert(datetime(2026, 11, 20, 14, 30, tzinfo=UTC))
    now = datetime(2026, 11, 21, 9, tzinfo=UTC)
    state = alert_state(alert, 15, AMSTERDAM, now, "nl")
    # The link survives the URL round trip and names the local times of the window.
    assert parse_query(to_query(state)) == state
    assert (state.start, state.end) == ("2026-11-20T13:52", "2026-11-20T15:30")
    f = to_filter(state, AMSTERDAM, now)
    assert (f.brands, f.phases) == (("voltera",), ("delivery",))
    assert f.since == datetime(2026, 11, 20, 12, tzinfo=UTC)  # 12:52 UTC, floored
    assert f.until == datetime(2026, 11, 20, 15, tzinfo=UTC)  # 14:30 UTC, rounded up


def test_an_open_alert_runs_up_to_now() -> None:
    now = datetime(2026, 11, 20, 16, 20, tzinfo=UTC)
    f = to_filter(alert_state(_alert(None), 15, AMSTERDAM, now, "en"), AMSTERDAM, now)
    assert f.until == datetime(2026, 11, 20, 17, tzinfo=UTC)


def test_the_why_is_observed_against_expected_in_the_readers_language() -> None:
    alert = _alert(None)
    assert why(alert, 15, "nl") == "20 negatieve vermeldingen in 15 min, verwacht 4.0 (5.0×)"
    assert why(alert, 15, "en") == "20 negative mentions in 15 min, expected 4.0 (5.0×)"
    alert.expected = 0.0
    assert why(alert, 15, "en") == "20 negative mentions in 15 min, expected 0.0"


def test_a_later_correction_of_the_same_sentence_counts() -> None:
    def label(position: int | None, polarity: str | None, phase: str | None = None) -> Label:
        return Label(
            message_id=3,
            unit_position=position,
            text="x",
            polarity=polarity,
            phase=phase,
            created_by="anna",
        )

    labels = [label(0, "negative"), label(0, "neutral"), label(None, None, "payment")]
    polarity, phase = chosen(labels)
    assert polarity == {"3:0": "neutral"}
    assert phase == {"3:m": "payment"}


def test_a_correction_key_names_the_message_and_the_sentence_or_the_whole() -> None:
    assert parse_key(target_key(12, 2)) == (12, 2)
    assert parse_key(target_key(12, None)) == (12, None)
    with pytest.raises(ValueError):
        parse_key("12:two")
