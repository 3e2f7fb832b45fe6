"""The CX team's corrections (labels): record one from the explorer, list them for training.

A label is either a unit's (sentence/clause) or a whole message's right polarity and/or phase."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select
from sqlmodel import Session

from storage.models import Label, Message, UnitScore

POLARITIES = ("negative", "neutral", "positive")


class LabelError(ValueError):
    """A label that cannot be stored; the message says which field is wrong."""


def add_label(
    session: Session,
    *,
    created_by: str,
    text: str | None = None,
    message_id: int | None = None,
    unit_position: int | None = None,
    polarity: str | None = None,
    phase: str | None = None,
    language: str | None = None,
    origin: str = "explorer",
    created_at: datetime | None = None,
) -> Label:
    """Store one correction. For a stored message the text, language and what the model said
    are read from the database; `text` is then optional."""
    if polarity is None and phase is None:
        raise LabelError("a label needs a polarity or a phase (or both)")
    if polarity is not None and polarity not in POLARITIES:
        raise LabelError(f"polarity {polarity!r} is not one of {', '.join(POLARITIES)}")
    model_score: float | None = None
    model_phases: str | None = None
    model: str | None = None
    if message_id is not None:
        message = session.get(Message, message_id)
        if message is None:
            raise LabelError(f"message {message_id} does not exist")
        language = language or message.language
        model = message.model
        if unit_position is None:
            text = text or message.text
            model_score = message.sentiment
        else:
            units = _unit_rows(session, message_id, unit_position)
            if not units:
                raise LabelError(f"message {message_id} has no scored unit {unit_position}")
            text = text or units[0].text
            model_score = units[0].score
            model_phases = ",".join(sorted({u.phase for u in units}))
    if not text or not text.strip():
        raise LabelError("a label needs the text it is about")
    label = Label(
        message_id=message_id,
        unit_position=unit_position,
        text=text,
        language=language,
        polarity=polarity,
        phase=phase,
        model_score=model_score,
        model_phases=model_phases,
        model=model,
        origin=origin,
        created_by=created_by,
    )
    if created_at is not None:
        label.created_at = created_at
    session.add(label)
    session.flush()
    return label


def _unit_rows(session: Session, message_id: int, position: int) -> Sequence[UnitScore]:
    return (
        session.exec(  # type: ignore[call-overload]
            select(UnitScore).where(
                UnitScore.message_id == message_id, UnitScore.position == position
            )
        )
        .scalars()
        .all()
    )


def labels_for_message(session: Session, message_id: int) -> list[Label]:
    rows = session.exec(  # type: ignore[call-overload]
        select(Label).where(Label.message_id == message_id).order_by(Label.created_at, Label.id)
    )
    return list(rows.scalars().all())


def all_labels(session: Session, since: datetime | None = None) -> list[Label]:
    """Every label, oldest first (a later correction of the same text overrides an earlier one
    when training reads them)."""
    query = select(Label).order_by(Label.created_at, Label.id)
    if since is not None:
        query = query.where(Label.created_at >= since)
    return list(session.exec(query).scalars().all())  # type: ignore[call-overload]
