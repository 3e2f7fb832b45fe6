"""Read queries for the weekly summary that the dashboard does not need: volume per channel and
the negative units behind a phase. Per-phase numbers come from storage.queries.phase_overview."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, or_, select
from sqlmodel import Session

from storage.models import Message, MessageBrand, UnitScore


@dataclass(frozen=True)
class NegativeUnit:
    """One negative sentence or clause about a phase: redacted text, safe to quote."""

    message_id: int
    text: str
    score: float
    channel: str
    language: str | None
    created_at: datetime


def _customer_written():  # type: ignore[no-untyped-def]
    # Agent and bot turns are context, never the customer's voice.
    return or_(Message.turn_role.is_(None), Message.turn_role == "customer")  # type: ignore[union-attr]


def channel_volume(
    session: Session, brand: str, since: datetime, until: datetime
) -> dict[str, int]:
    """Customer-written messages about `brand` created in [since, until), per channel."""
    query = (
        select(Message.channel, func.count())
        .join(MessageBrand, MessageBrand.message_id == Message.id)  # type: ignore[arg-type]
        .where(MessageBrand.brand == brand)
        .where(Message.created_at >= since, Message.created_at < until)
        .where(_customer_written())
        .group_by(Message.channel)
    )
    return {channel: int(count) for channel, count in session.execute(query)}


def negative_units(
    session: Session, brand: str, phase: str, since: datetime, until: datetime, limit: int
) -> list[NegativeUnit]:
    """The most negative units about `phase` for `brand` in [since, until), most negative first."""
    query = (
        select(
            UnitScore.message_id,
            UnitScore.text,
            UnitScore.score,
            Message.channel,
            Message.language,
            Message.created_at,
        )
        .join(Message, Message.id == UnitScore.message_id)  # type: ignore[arg-type]
        .join(MessageBrand, MessageBrand.message_id == Message.id)  # type: ignore[arg-type]
        .where(MessageBrand.brand == brand, UnitScore.phase == phase)
        .where(UnitScore.label == "negative")
        .where(Message.created_at >= since, Message.created_at < until)
        .where(_customer_written())
        .order_by(UnitScore.score, UnitScore.id)
        .limit(limit)
    )
    return [NegativeUnit(*row) for row in session.execute(query)]
