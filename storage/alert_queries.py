"""Read queries for alerts: recent counts per brand × phase and their hourly history (detection),
and the alerts the explorer shows for a filter.

The window reads message phases by creation time; the history reads the hourly rollups."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import and_, case, func, or_, select
from sqlmodel import Session

from storage.models import Alert, Message, MessageBrand, MessagePhase, Rollup

SeriesKey = tuple[str, str]  # brand, phase


def window_counts(
    session: Session, since: datetime, until: datetime
) -> dict[SeriesKey, tuple[int, int]]:
    """Per brand × phase: (mentions, negative mentions) of messages created in [since, until).

    Counted like the rollups (one per message × brand × phase), at minute precision."""
    negative = func.sum(case((MessagePhase.label == "negative", 1), else_=0))
    query = (
        select(MessageBrand.brand, MessagePhase.phase, func.count(), negative)
        .select_from(MessagePhase)
        .join(Message, Message.id == MessagePhase.message_id)  # type: ignore[arg-type]
        .join(MessageBrand, MessageBrand.message_id == Message.id)  # type: ignore[arg-type]
        .where(Message.created_at >= since, Message.created_at < until)
        .group_by(MessageBrand.brand, MessagePhase.phase)
    )
    return {
        (brand, phase): (int(count), int(negatives or 0))
        for brand, phase, count, negatives in session.execute(query)
    }


def hourly_counts(
    session: Session, since: datetime, until: datetime
) -> tuple[dict[SeriesKey, list[tuple[datetime, int, int]]], datetime | None]:
    """Per brand × phase, the hourly buckets in [since, until) as (bucket, mentions, negatives),
    oldest first, summed over channels; and the first bucket holding any data at all (None when
    there is none), so that hours before the data began are not mistaken for quiet ones."""
    query = (
        select(
            Rollup.bucket,
            Rollup.brand,
            Rollup.phase,
            func.sum(Rollup.count),
            func.sum(Rollup.negative),
        )
        .where(Rollup.bucket >= since, Rollup.bucket < until)
        .group_by(Rollup.bucket, Rollup.brand, Rollup.phase)
        .order_by(Rollup.bucket)
    )
    series: dict[SeriesKey, list[tuple[datetime, int, int]]] = defaultdict(list)
    for bucket, brand, phase, count, negatives in session.execute(query):
        series[(brand, phase)].append((bucket, int(count or 0), int(negatives or 0)))
    first = session.scalar(select(func.min(Rollup.bucket)))
    return dict(series), first


def alerts_for_explorer(
    session: Session,
    since: datetime,
    until: datetime,
    brands: Sequence[str] = (),
    phases: Sequence[str] = (),
    limit: int = 20,
) -> list[Alert]:
    """The explorer's alert band: every alert still open, and the ended ones that were open at
    some moment in [since, until); only the given brands and phases (empty: all). Open ones
    first, then the newest; at most `limit`."""
    ended = Alert.ended_at
    query = select(Alert).where(
        or_(
            ended.is_(None),  # type: ignore[union-attr]
            and_(Alert.started_at < until, ended >= since),  # type: ignore[operator]
        )
    )
    if brands:
        query = query.where(Alert.brand.in_(list(brands)))  # type: ignore[attr-defined]
    if phases:
        query = query.where(Alert.phase.in_(list(phases)))  # type: ignore[attr-defined]
    query = query.order_by(
        case((ended.is_(None), 0), else_=1),  # type: ignore[union-attr]
        Alert.started_at.desc(),  # type: ignore[attr-defined]
        Alert.id.desc(),  # type: ignore[union-attr]
    ).limit(limit)
    return list(session.scalars(query))
