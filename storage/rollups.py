"""Hourly rollups per brand × phase × channel, kept up to date as scores land.

`contributions` is the one definition of what a scored message adds; the incremental update and
the full rebuild both use it, so they cannot drift apart."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from storage.models import Message, MessageBrand, MessagePhase, Rollup

NO_BRAND = "_none"  # rollup key for messages no brand could be attributed to
RollupKey = tuple[datetime, str, str, str]  # bucket, brand, phase, channel


@dataclass(frozen=True)
class PhaseMention:
    """A scored message's sentiment about one phase, with what the rollup groups it by."""

    created_at: datetime
    channel: str
    brands: tuple[str, ...]
    phase: str
    score: float
    label: str


@dataclass
class Delta:
    count: int = 0
    score_sum: float = 0.0
    negative: int = 0
    positive: int = 0


def bucket_of(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


def contributions(mentions: Iterable[PhaseMention]) -> dict[RollupKey, Delta]:
    deltas: dict[RollupKey, Delta] = defaultdict(Delta)
    for mention in mentions:
        for brand in mention.brands or (NO_BRAND,):
            delta = deltas[(bucket_of(mention.created_at), brand, mention.phase, mention.channel)]
            delta.count += 1
            delta.score_sum += mention.score
            delta.negative += mention.label == "negative"
            delta.positive += mention.label == "positive"
    return deltas


def apply(session: Session, deltas: dict[RollupKey, Delta]) -> None:
    """Add the deltas to the stored rollups (insert, or increment on conflict)."""
    if not deltas:
        return
    table = Rollup.__table__  # type: ignore[attr-defined]
    dialect = session.get_bind().dialect.name
    insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)
    rows = [
        {
            "bucket": bucket,
            "brand": brand,
            "phase": phase,
            "channel": channel,
            "count": d.count,
            "score_sum": d.score_sum,
            "negative": d.negative,
            "positive": d.positive,
        }
        for (bucket, brand, phase, channel), d in sorted(deltas.items())
    ]
    excluded = insert.excluded
    statement = insert.on_conflict_do_update(
        index_elements=["bucket", "brand", "phase", "channel"],
        set_={
            "count": table.c.count + excluded.count,
            "score_sum": table.c.score_sum + excluded.score_sum,
            "negative": table.c.negative + excluded.negative,
            "positive": table.c.positive + excluded.positive,
        },
    )
    # Sorted keys give concurrent workers the same lock order on PostgreSQL (no deadlocks).
    for start in range(0, len(rows), 500):
        session.execute(statement, rows[start : start + 500])


def _all_mentions(session: Session, batch: int = 5000) -> Iterator[PhaseMention]:
    brands: dict[int, list[str]] = defaultdict(list)
    for message_id, brand in session.execute(select(MessageBrand.message_id, MessageBrand.brand)):
        brands[message_id].append(brand)
    query = (
        select(
            MessagePhase.message_id,
            Message.created_at,
            Message.channel,
            MessagePhase.phase,
            MessagePhase.score,
            MessagePhase.label,
        )
        .join(Message, Message.id == MessagePhase.message_id)  # type: ignore[arg-type]
        .execution_options(yield_per=batch)
    )
    for message_id, created_at, channel, phase, score, label in session.execute(query):
        yield PhaseMention(created_at, channel, tuple(brands[message_id]), phase, score, label)


def rebuild(session: Session) -> int:
    """Recompute every rollup from the stored message-phase scores; returns the rollup rows."""
    session.execute(delete(Rollup))
    deltas = contributions(_all_mentions(session))
    apply(session, deltas)
    return len(deltas)
