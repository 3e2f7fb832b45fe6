"""Handing unscored messages to the scoring worker and storing what it found.

A message is scored once: `save_scores` only takes messages still unscored, in one transaction
with their unit scores, phase scores and the rollup increments."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import delete, func, or_, select, update
from sqlmodel import Session

from storage import rollups
from storage.models import Message, MessageBrand, MessagePhase, UnitScore, utcnow


@dataclass
class ScoredMessage:
    """What the scoring worker concluded about one message."""

    message_id: int
    language: str | None
    sentiment: float | None
    label: str | None
    model: str
    units: list[UnitScore] = field(default_factory=list)
    phases: list[MessagePhase] = field(default_factory=list)


def unscored(session: Session, limit: int) -> list[Message]:
    """The oldest messages still waiting for a score."""
    query = (
        select(Message)
        .where(Message.scored_at.is_(None))  # type: ignore[union-attr]
        .order_by(Message.id)  # type: ignore[arg-type]
        .limit(limit)
    )
    return list(session.scalars(query))


def claim_unscored(
    session: Session, worker: str, limit: int, lease: timedelta, now: datetime | None = None
) -> list[Message]:
    """Claim up to `limit` of the oldest unscored messages for `worker` until now + lease.

    Messages claimed by a live worker are skipped (PostgreSQL: FOR UPDATE SKIP LOCKED, so
    concurrent workers never wait for each other; SQLite: writers are serialised anyway). An
    expired claim — its worker died — is claimed again."""
    now = now or utcnow()
    waiting = (
        select(Message.id)
        .where(Message.scored_at.is_(None))  # type: ignore[union-attr]
        .where(or_(Message.claimed_until.is_(None), Message.claimed_until < now))  # type: ignore[union-attr,operator]
        .order_by(Message.id)  # type: ignore[arg-type]
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        waiting = waiting.with_for_update(skip_locked=True)
    claimed = session.scalars(
        update(Message)
        .where(Message.id.in_(waiting.scalar_subquery()))  # type: ignore[union-attr]
        .values(claimed_by=worker, claimed_until=now + lease)
        .returning(Message),
        execution_options={"synchronize_session": False},
    )
    return sorted(claimed, key=lambda m: m.id or 0)


@dataclass(frozen=True)
class ModelUse:
    """One model (name@revision, as stored with each score) and what it scored in a window."""

    model: str
    messages: int
    last_scored_at: datetime


def scored_by_model(session: Session, since: datetime) -> list[ModelUse]:
    """Per model, the messages it scored since `since`, the most recently used first: after a
    model switch (`cxpulse models use`) the new one rises to the top; routes show side by side."""
    last = func.max(Message.scored_at)
    query = (
        select(Message.model, func.count(), last)
        .where(Message.scored_at >= since, Message.model.is_not(None))  # type: ignore[operator,union-attr]
        .group_by(Message.model)
        .order_by(last.desc(), Message.model)
    )
    # max() keeps the column's type, so its times come back zone-aware (UTC) on both databases.
    return [ModelUse(model, int(count), when) for model, count, when in session.execute(query)]


def count_unscored(session: Session) -> int:
    query = select(func.count()).where(Message.scored_at.is_(None))  # type: ignore[union-attr]
    return int(session.scalar(query) or 0)


def save_scores(session: Session, results: Sequence[ScoredMessage]) -> int:
    """Store scores of messages not yet scored and add them to the rollups; returns how many."""
    now = utcnow()
    saved: list[ScoredMessage] = []
    for result in results:
        claimed = session.execute(
            update(Message)
            .where(Message.id == result.message_id, Message.scored_at.is_(None))  # type: ignore[arg-type,union-attr]
            .values(
                scored_at=now,
                sentiment=result.sentiment,
                sentiment_label=result.label,
                model=result.model,
                language=result.language,
            )
        )
        if claimed.rowcount == 1:  # type: ignore[attr-defined]
            saved.append(result)
    for result in saved:
        session.add_all(result.units)
        session.add_all(result.phases)
    session.flush()
    rollups.apply(session, rollups.contributions(_mentions(session, saved)))
    return len(saved)


def _mentions(session: Session, saved: Sequence[ScoredMessage]) -> list[rollups.PhaseMention]:
    ids = [r.message_id for r in saved]
    if not ids:
        return []
    info: dict[int, tuple[datetime, str]] = {
        id_: (created_at, channel)
        for id_, created_at, channel in session.execute(
            select(Message.id, Message.created_at, Message.channel).where(Message.id.in_(ids))  # type: ignore[union-attr]
        )
    }
    brands: dict[int, list[str]] = {id_: [] for id_ in ids}
    for message_id, brand in session.execute(
        select(MessageBrand.message_id, MessageBrand.brand).where(MessageBrand.message_id.in_(ids))  # type: ignore[attr-defined]
    ):
        brands[message_id].append(brand)
    return [
        rollups.PhaseMention(
            *info[r.message_id], tuple(brands[r.message_id]), p.phase, p.score, p.label
        )
        for r in saved
        for p in r.phases
    ]


def clear_scores(session: Session, since: datetime | None = None) -> int:
    """Forget scores of messages created since `since` so they are scored again; rebuild rollups."""
    ids = select(Message.id)
    if since is not None:
        ids = ids.where(Message.created_at >= since)
    session.execute(delete(UnitScore).where(UnitScore.message_id.in_(ids)))  # type: ignore[attr-defined]
    session.execute(delete(MessagePhase).where(MessagePhase.message_id.in_(ids)))  # type: ignore[attr-defined]
    result = session.execute(
        update(Message)
        .where(Message.id.in_(ids))  # type: ignore[union-attr]
        .values(scored_at=None, sentiment=None, sentiment_label=None, model=None)
    )
    rollups.rebuild(session)
    return int(result.rowcount)  # type: ignore[attr-defined]
