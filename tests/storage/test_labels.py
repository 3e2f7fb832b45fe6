"""Labels: the CX team's corrections of a unit's or a message's polarity and phase."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from storage.db import session_scope
from storage.labels import LabelError, add_label, all_labels, labels_for_message
from storage.messages import store_batch
from storage.models import Message, UnitScore


def _scored_message(engine) -> int:  # type: ignore[no-untyped-def]
    with session_scope(engine) as session:
        store_batch(
            session,
            "demo",
            [
                Message(
                    source="demo",
                    external_id="m1",
                    channel="review",
                    language="nl",
                    text="Mooie laptop, maar de bezorger was te laat",
                    created_at=datetime(2026, 11, 30, 12, tzinfo=UTC),
                )
            ],
            {"m1": ["voltera"]},
        )
        message = session.exec(  # type: ignore[call-overload]
            Message.__table__.select().where(Message.external_id == "m1")
        ).one()
        for position, text, phase, score in (
            (0, "Mooie laptop,", "use", 0.8),
            (1, "maar de bezorger was te laat", "delivery", 0.4),
        ):
            session.add(
                UnitScore(
                    message_id=message.id,
                    position=position,
                    text=text,
                    phase=phase,
                    score=score,
                    label="positive",
                    confidence=0.7,
                    model="builtin",
                    model_revision="abc",
                )
            )
        return int(message.id)


def test_unit_correction_keeps_the_text_and_what_the_model_said(engine) -> None:  # type: ignore[no-untyped-def]
    message_id = _scored_message(engine)
    with session_scope(engine) as session:
        add_label(
            session, created_by="anna", message_id=message_id, unit_position=1, polarity="negative"
        )
    with session_scope(engine) as session:
        (label,) = labels_for_message(session, message_id)
        assert label.text == "maar de bezorger was te laat"
        assert label.polarity == "negative"
        assert label.model_score == pytest.approx(0.4)
        assert label.model_phases == "delivery"
        assert label.language == "nl"
        assert label.created_by == "anna"


def test_label_needs_polarity_or_phase_and_a_known_polarity(engine) -> None:  # type: ignore[no-untyped-def]
    with session_scope(engine) as session:
        with pytest.raises(LabelError, match="polarity or a phase"):
            add_label(session, created_by="anna", text="x")
        with pytest.raises(LabelError, match="'bad'"):
            add_label(session, created_by="anna", text="x", polarity="bad")
        with pytest.raises(LabelError, match="does not exist"):
            add_label(session, created_by="anna", message_id=999, polarity="negative")
        with pytest.raises(LabelError, match="text"):
            add_label(session, created_by="anna", text="  ", polarity="negative")


def test_free_text_labels_are_listed_oldest_first(engine) -> None:  # type: ignore[no-untyped-def]
    with session_scope(engine) as session:
        add_label(
            session,
            created_by="b",
            text="later",
            polarity="positive",
            origin="import",
            created_at=datetime(2026, 11, 2, tzinfo=UTC),
        )
        add_label(
            session,
            created_by="a",
            text="earlier",
            phase="delivery",
            origin="import",
            created_at=datetime(2026, 11, 1, tzinfo=UTC),
        )
    with session_scope(engine) as session:
        assert [label.text for label in all_labels(session)] == ["earlier", "later"]
        since = datetime(2026, 11, 2, tzinfo=UTC)
        assert [label.text for label in all_labels(session, since)] == ["later"]
