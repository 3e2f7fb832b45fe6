"""Read-side queries for the wall screen: brands × phases, the 7-day trend, moments, chat endings.

Cheap by design: grouped rollup reads, and today's messages only, through the created_at index."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, func, or_, select
from sqlmodel import Session, col

from storage.models import Alert, Message, MessageBrand, MessagePhase, Phase, Rollup
from storage.queries import PhaseStat, TickerItem


@dataclass(frozen=True)
class TrendPoint:
    """One bin of a phase's trend: its local start time, volume and mean sentiment."""

    start: datetime
    count: int
    mean: float | None


@dataclass(frozen=True)
class ChatEndings:
    """How today's chats ended: the label of each conversation's last customer turn."""

    positive: int = 0
    neutral: int = 0
    negative: int = 0

    @property
    def total(self) -> int:
        return self.positive + self.neutral + self.negative


def _customer_turn() -> ColumnElement[bool]:
    # Agent and bot turns are context for the scorer, never the customer's voice on the wall.
    return or_(col(Message.turn_role).is_(None), col(Message.turn_role) == "customer")


def _about(brand: str) -> ColumnElement[bool]:
    # EXISTS, not a join: a join lets SQLite start from every message of the brand (the brand
    # index) instead of today's few through the created_at index; this keeps the reads small.
    return (
        select(col(MessageBrand.message_id))
        .where(col(MessageBrand.message_id) == col(Message.id), col(MessageBrand.brand) == brand)
        .exists()
    )


def data_version(session: Session) -> tuple[datetime | None, tuple[int, ...]]:
    """What changes when the wall must redraw: the last score time and the open alerts.

    Both are index-backed (max over ix_message_unscored; the alert table is tiny)."""
    last = session.scalar(select(func.max(col(Message.scored_at))))
    open_ids = session.scalars(
        select(col(Alert.id)).where(col(Alert.ended_at).is_(None)).order_by(col(Alert.id))
    )
    return last, tuple(i for i in open_ids if i is not None)


def phase_stats_by_brand(
    session: Session, brands: Sequence[str], since: datetime, until: datetime | None = None
) -> dict[str, list[PhaseStat]]:
    """Per brand, per configured phase in journey order: volume and mean in [since, until).

    One grouped query over the rollups serves the journey (one brand) and the brand comparison;
    a brand nothing was said about gets its phases with no mean."""
    query = (
        select(
            col(Rollup.brand),
            col(Rollup.phase),
            func.sum(col(Rollup.count)),
            func.sum(col(Rollup.score_sum)),
            func.sum(col(Rollup.negative)),
            func.sum(col(Rollup.positive)),
        )
        .where(col(Rollup.bucket) >= since, col(Rollup.brand).in_(brands))
        .group_by(col(Rollup.brand), col(Rollup.phase))
    )
    if until is not None:
        query = query.where(col(Rollup.bucket) < until)
    sums: dict[tuple[str, str], tuple[int, float, int, int]] = {
        (brand, phase): (int(count or 0), float(total or 0), int(neg or 0), int(pos or 0))
        for brand, phase, count, total, neg, pos in session.execute(query)
    }
    phases = list(session.scalars(select(Phase).order_by(col(Phase.position))))
    return {
        brand: [_stat(phase, sums.get((brand, phase.key))) for phase in phases] for brand in brands
    }


def _stat(phase: Phase, sums: tuple[int, float, int, int] | None) -> PhaseStat:
    count, total, negative, positive = sums or (0, 0.0, 0, 0)
    return PhaseStat(
        phase=phase.key,
        position=phase.position,
        name_nl=phase.name_nl,
        name_en=phase.name_en,
        target=phase.target,
        count=count,
        mean=total / count if count else None,
        negative=negative,
        positive=positive,
    )


def phase_trend(
    session: Session,
    brand: str,
    since: datetime,
    until: datetime,
    zone: ZoneInfo,
    bin_hours: int = 24,
) -> dict[str, list[TrendPoint]]:
    """Per phase, bins of `bin_hours` local time from `since` to `until` (empty bins included).

    Sums hourly rollups grouped by bucket and phase (index range on the rollup key), then bins
    them here so local days stay local days across daylight-saving changes."""
    query = (
        select(
            col(Rollup.bucket),
            col(Rollup.phase),
            func.sum(col(Rollup.count)),
            func.sum(col(Rollup.score_sum)),
        )
        .where(col(Rollup.bucket) >= since, col(Rollup.bucket) < until, col(Rollup.brand) == brand)
        .group_by(col(Rollup.bucket), col(Rollup.phase))
    )
    starts = _bin_starts(since, until, zone, bin_hours)
    counts: dict[tuple[str, datetime], int] = defaultdict(int)
    totals: dict[tuple[str, datetime], float] = defaultdict(float)
    for bucket, phase, count, total in session.execute(query):
        start = _bin_of(bucket, zone, bin_hours)
        counts[(phase, start)] += int(count or 0)
        totals[(phase, start)] += float(total or 0)
    phases = session.scalars(select(col(Phase.key)).order_by(col(Phase.position)))
    return {
        phase: [
            TrendPoint(
                start=start,
                count=counts[(phase, start)],
                mean=(totals[(phase, start)] / counts[(phase, start)])
                if counts[(phase, start)]
                else None,
            )
            for start in starts
        ]
        for phase in phases
    }


def _bin_of(moment: datetime, zone: ZoneInfo, bin_hours: int) -> datetime:
    local = moment.astimezone(zone)
    return local.replace(
        hour=local.hour - local.hour % bin_hours, minute=0, second=0, microsecond=0
    )


def _bin_starts(since: datetime, until: datetime, zone: ZoneInfo, bin_hours: int) -> list[datetime]:
    starts: list[datetime] = []
    moment = since
    while moment < until:
        start = _bin_of(moment, zone, bin_hours)
        if not starts or starts[-1] != start:
            starts.append(start)
        moment += timedelta(hours=1)
    return starts


def best_and_worst(
    session: Session, brand: str, since: datetime
) -> tuple[TickerItem | None, TickerItem | None]:
    """The most positive and the most negative scored customer message about `brand` since then.

    Reads today's rows through the created_at index and the message_brand key, two LIMIT 1s."""
    base = (
        select(Message)
        .where(col(Message.created_at) >= since)
        .where(_about(brand))
        .where(col(Message.sentiment).is_not(None))
        .where(_customer_turn())
    )
    best = session.scalars(
        base.order_by(col(Message.sentiment).desc(), col(Message.id).desc()).limit(1)
    ).first()
    worst = session.scalars(
        base.order_by(col(Message.sentiment).asc(), col(Message.id).desc()).limit(1)
    ).first()
    if best is not None and worst is not None and best.id == worst.id:
        # One message of the day is not both moments: it is the best if it is not negative.
        best, worst = (best, None) if (best.sentiment or 0) >= 0 else (None, worst)
    items = {i.id: i for i in ticker_items(session, [m for m in (best, worst) if m is not None])}
    return (
        items.get(best.id or 0) if best is not None else None,
        items.get(worst.id or 0) if worst is not None else None,
    )


def chat_endings(session: Session, brand: str, since: datetime) -> ChatEndings:
    """Per conversation with a customer turn since then: the label of its last customer turn."""
    ranked = (
        select(
            col(Message.sentiment_label).label("label"),
            func.row_number()
            .over(
                partition_by=col(Message.conversation_id),
                order_by=(col(Message.created_at).desc(), col(Message.id).desc()),
            )
            .label("turn_from_end"),
        )
        .where(col(Message.created_at) >= since)
        .where(_about(brand))
        .where(col(Message.channel) == "chat", col(Message.conversation_id).is_not(None))
        .where(col(Message.sentiment_label).is_not(None))
        .where(_customer_turn())
        .subquery()
    )
    counts = dict(
        session.execute(
            select(ranked.c.label, func.count())
            .where(ranked.c.turn_from_end == 1)
            .group_by(ranked.c.label)
        ).all()
    )
    return ChatEndings(
        positive=int(counts.get("positive", 0)),
        neutral=int(counts.get("neutral", 0)),
        negative=int(counts.get("negative", 0)),
    )


def ticker_items(session: Session, messages: Sequence[Message]) -> list[TickerItem]:
    """Messages as the screen shows them: redacted text with their brands and phases."""
    ids = [m.id for m in messages if m.id is not None]
    brands = _pairs(
        session.execute(
            select(col(MessageBrand.message_id), col(MessageBrand.brand)).where(
                col(MessageBrand.message_id).in_(ids)
            )
        )
    )
    phases = _pairs(
        session.execute(
            select(col(MessagePhase.message_id), col(MessagePhase.phase)).where(
                col(MessagePhase.message_id).in_(ids)
            )
        )
    )
    return [
        TickerItem(
            id=m.id or 0,
            created_at=m.created_at,
            channel=m.channel,
            source=m.source,
            language=m.language,
            text=m.text,  # the redacted column; original_text never leaves storage here
            sentiment=m.sentiment,
            label=m.sentiment_label,
            brands=tuple(brands[m.id or 0]),
            phases=tuple(phases[m.id or 0]),
            model=m.model,
        )
        for m in messages
    ]


def _pairs(rows: Iterable[tuple[int, str]]) -> dict[int, list[str]]:
    out: dict[int, list[str]] = defaultdict(list)
    for key, value in rows:
        out[key].append(value)
    return out
