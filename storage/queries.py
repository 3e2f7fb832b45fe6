"""Read-side queries for the dashboard: phase overview from rollups, the live ticker, freshness.

Cheap by design: rollups for the numbers and an index-backed "latest N" for the ticker."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlmodel import Session

from storage.models import Brand, Message, MessageBrand, MessagePhase, Phase, Rollup


def promise_gap(actual: float | None, target: float | None) -> float | None:
    """Actual minus promise, to the two decimals every score and target is shown with, so the
    verdict (at or above, below) never contradicts the figure beside it: a phase at 0.297
    against a promise of 0.30 is on the promise (+0.00), not "below" it. None when nothing
    was said."""
    if actual is None or target is None:
        return None
    return round(actual - target, 2) + 0.0  # + 0.0 turns -0.0 into 0.0


@dataclass(frozen=True)
class PhaseStat:
    phase: str
    position: int
    name_nl: str
    name_en: str
    target: float
    count: int
    mean: float | None  # None when nothing was said about the phase in the period
    negative: int
    positive: int

    @property
    def gap(self) -> float | None:
        """Actual minus promise: negative means the phase falls short of its target."""
        return promise_gap(self.mean, self.target)


@dataclass(frozen=True)
class TickerItem:
    id: int
    created_at: datetime
    channel: str
    source: str
    language: str | None
    text: str  # redacted
    sentiment: float | None
    label: str | None
    brands: tuple[str, ...]
    phases: tuple[str, ...]
    model: str | None


def phase_overview(
    session: Session, brand: str | None, since: datetime, until: datetime | None = None
) -> list[PhaseStat]:
    """Per configured phase, in journey order: volume and mean sentiment in [since, until)."""
    query = (
        select(
            Rollup.phase,
            func.sum(Rollup.count),
            func.sum(Rollup.score_sum),
            func.sum(Rollup.negative),
            func.sum(Rollup.positive),
        )
        .where(Rollup.bucket >= since)
        .group_by(Rollup.phase)
    )
    if until is not None:
        query = query.where(Rollup.bucket < until)
    if brand is not None:
        query = query.where(Rollup.brand == brand)
    sums = {phase: (c, s, n, p) for phase, c, s, n, p in session.execute(query)}
    stats = []
    for phase in session.scalars(select(Phase).order_by(Phase.position)):  # type: ignore[arg-type]
        count, total, negative, positive = sums.get(phase.key, (0, 0.0, 0, 0))
        stats.append(
            PhaseStat(
                phase=phase.key,
                position=phase.position,
                name_nl=phase.name_nl,
                name_en=phase.name_en,
                target=phase.target,
                count=int(count or 0),
                mean=(float(total) / count) if count else None,
                negative=int(negative or 0),
                positive=int(positive or 0),
            )
        )
    return stats


def latest_messages(session: Session, limit: int) -> list[TickerItem]:
    """The newest customer messages that have been scored (never agent turns), newest first.

    Ordered by when the customer wrote them, so a back-filled import does not flood the ticker."""
    messages = list(
        session.scalars(
            select(Message)
            .where(Message.scored_at.is_not(None))  # type: ignore[union-attr]
            .where((Message.turn_role.is_(None)) | (Message.turn_role == "customer"))  # type: ignore[union-attr]
            .order_by(Message.created_at.desc(), Message.id.desc())  # type: ignore[attr-defined]
            .limit(limit)
        )
    )
    ids = [m.id for m in messages]
    brands: dict[int, list[str]] = defaultdict(list)
    phases: dict[int, list[str]] = defaultdict(list)
    if ids:
        for message_id, brand in session.execute(
            select(MessageBrand.message_id, MessageBrand.brand).where(
                MessageBrand.message_id.in_(ids)  # type: ignore[attr-defined]
            )
        ):
            brands[message_id].append(brand)
        for message_id, phase in session.execute(
            select(MessagePhase.message_id, MessagePhase.phase).where(
                MessagePhase.message_id.in_(ids)  # type: ignore[attr-defined]
            )
        ):
            phases[message_id].append(phase)
    return [
        TickerItem(
            id=m.id or 0,
            created_at=m.created_at,
            channel=m.channel,
            source=m.source,
            language=m.language,
            text=m.text,
            sentiment=m.sentiment,
            label=m.sentiment_label,
            brands=tuple(brands[m.id or 0]),
            phases=tuple(phases[m.id or 0]),
            model=m.model,
        )
        for m in messages
    ]


def last_scored_at(session: Session) -> datetime | None:
    return session.scalar(select(func.max(Message.scored_at)))


def brands(session: Session) -> list[Brand]:
    return list(session.scalars(select(Brand).order_by(Brand.own.desc(), Brand.name)))  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Totals:
    messages: int
    scored: int
    unscored: int


def totals(session: Session, since: datetime) -> Totals:
    scored = func.count(Message.scored_at)
    row = session.execute(select(func.count(), scored).where(Message.created_at >= since)).one()
    return Totals(messages=int(row[0]), scored=int(row[1]), unscored=int(row[0] - row[1]))
