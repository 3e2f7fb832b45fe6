"""Read and write queries of the CX manager's explorer: aggregates, verbatims, handling, export.

Charts read the hourly rollups when the filter allows (brand, phase, channel, period); other
filters read phase mentions newest-first through indexes, capped at a sample size."""

from __future__ import annotations

import logging
import threading
from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    Integer,
    case,
    cast,
    exists,
    func,
    join,
    literal,
    literal_column,
    or_,
    select,
    table,
    true,
    tuple_,
)
from sqlalchemy.engine import Engine
from sqlalchemy.orm import aliased
from sqlalchemy.sql import ColumnElement, Select
from sqlmodel import Session

from storage.db import session_scope
from storage.models import (
    Message,
    MessageBrand,
    MessageHandling,
    MessagePhase,
    Phase,
    Rollup,
    UnitScore,
    utcnow,
)
from storage.rollups import NO_BRAND

log = logging.getLogger(__name__)

# How many phase mentions a message-level chart reads at most (the newest ones): enough for a
# stable mean per phase and a histogram, small enough for the explorer's 500 ms budget
# (bench/explorer.py: 20,000 took 0.5-1.3 s on the loaded 2-core development VM).
SAMPLE_MENTIONS = 6_000
HISTOGRAM_MENTIONS = 5_000  # the score distribution of a rollup-answered filter: newest ones
NEGATIVE_UNITS = 5_000  # negative sentences read for "what customers complain about"
RATED_MESSAGES = 10_000  # rated messages read for "what drives the score"
# Text search on SQLite (see _text_conditions): the trigram index drives a search when at most
# this many messages match; a more common word is found by the LIKE on the newest messages.
FTS_DRIVES = 10_000
TRIGRAM = 3  # characters: a needle shorter than one trigram cannot be looked up
WARM_DAYS = 90  # the longest preset period: what DayCache.warm keeps filled
SORTABLE = {"created_at": Message.created_at, "sentiment": Message.sentiment}
SORTABLE["rating"] = Message.rating


@dataclass(frozen=True)
class ExploreFilter:
    """Everything the explorer can filter on; the dashboard keeps it in the page's URL.

    `since`/`until` are whole hours in UTC (the rollups' resolution). The sentiment range
    applies to phase mentions; `phrase` is an exact phrase (a clicked complaint term)."""

    since: datetime
    until: datetime
    brands: tuple[str, ...] = ()
    phases: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    score_min: float = -1.0
    score_max: float = 1.0
    search: str = ""
    phrase: str = ""
    unhandled: bool = False

    @property
    def needs_messages(self) -> bool:
        """True when the rollups cannot answer (they know brand, phase, channel and hour only)."""
        return bool(
            self.sources
            or self.languages
            or self.search.strip()
            or self.phrase.strip()
            or self.unhandled
            or self.score_min > -1.0
            or self.score_max < 1.0
        )

    def narrowed(self, **changes: Any) -> ExploreFilter:
        return replace(self, **changes)


@dataclass
class Cell:
    """Summed phase mentions: how many, their score total, negatives and positives."""

    count: int = 0
    score_sum: float = 0.0
    negative: int = 0
    positive: int = 0

    @property
    def mean(self) -> float | None:
        return self.score_sum / self.count if self.count else None

    def add(self, count: int, score_sum: float, negative: int, positive: int) -> None:
        self.count += int(count or 0)
        self.score_sum += float(score_sum or 0.0)
        self.negative += int(negative or 0)
        self.positive += int(positive or 0)


@dataclass
class Overview:
    """What every explorer chart needs, from one read: per time bin, brand, phase and channel."""

    bin_hours: int
    trend: dict[tuple[datetime, str], Cell] = field(default_factory=lambda: defaultdict(Cell))
    matrix: dict[tuple[str, str], Cell] = field(default_factory=lambda: defaultdict(Cell))
    channels: dict[tuple[datetime, str], Cell] = field(default_factory=lambda: defaultdict(Cell))
    phases: dict[str, Cell] = field(default_factory=lambda: defaultdict(Cell))
    total: Cell = field(default_factory=Cell)
    histogram: list[int] = field(default_factory=list)  # mention scores in HISTOGRAM_BINS bins
    from_rollups: bool = True
    sampled: bool = False  # True when only the newest SAMPLE_MENTIONS mentions were read
    histogram_sampled: bool = False


HISTOGRAM_BINS = 20


def histogram_edges() -> list[float]:
    return [round(-1 + 2 * i / HISTOGRAM_BINS, 3) for i in range(HISTOGRAM_BINS + 1)]


def bin_hours_for(since: datetime, until: datetime) -> int:
    """Hourly bins up to two days, daily bins beyond: a readable number of points either way."""
    return 1 if until - since <= timedelta(hours=48) else 24


def bin_start(moment: datetime, bin_hours: int, zone: ZoneInfo) -> datetime:
    """The start of the bin `moment` falls in, as a local time (days are local days)."""
    local = moment.astimezone(zone)
    if bin_hours == 1:
        return local.replace(minute=0, second=0, microsecond=0)
    return datetime(local.year, local.month, local.day, tzinfo=zone)


def bin_starts(since: datetime, until: datetime, bin_hours: int, zone: ZoneInfo) -> list[datetime]:
    """Every bin of the period in order, including empty ones (so gaps show as gaps)."""
    starts: list[datetime] = []
    moment = since
    while moment < until:
        start = bin_start(moment, bin_hours, zone)
        if not starts or starts[-1] != start:
            starts.append(start)
        moment += timedelta(hours=1)
    return starts


def bin_end(start: datetime, bin_hours: int, zone: ZoneInfo) -> datetime:
    if bin_hours == 1:
        return start + timedelta(hours=1)
    nxt = (start + timedelta(hours=26)).date()  # past the next midnight, even across DST
    return datetime(nxt.year, nxt.month, nxt.day, tzinfo=zone)


# --- conditions ------------------------------------------------------------------------------


def _dialect(session: Session) -> str:
    return session.get_bind().dialect.name


def _plan_for_these_values(session: Session) -> None:
    """PostgreSQL: plan each statement of this transaction for its own values.

    psycopg prepares a statement on its fifth run, and PostgreSQL may then settle on one
    generic plan for all values: the plan of a common word (walk the period newest-first) then
    served a rare word as well, which the trigram index finds at once (bench/explorer.py, a
    word in 1 of 2,000 messages over 30 days: 1,248 ms with the generic plan, 30 ms without)."""
    if _dialect(session) == "postgresql":
        session.execute(select(func.set_config("plan_cache_mode", "force_custom_plan", True)))


def _words(text: str) -> list[str]:
    return [w for w in text.split() if w]


def _like(session: Session, column: Any, needle: str) -> ColumnElement[bool]:
    escaped = needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    pattern = f"%{escaped}%"
    if _dialect(session) == "postgresql":
        return column.ilike(pattern, escape="\\")  # type: ignore[no-any-return]
    # SQLite's LIKE is case-insensitive for ASCII already; ilike would wrap both sides in lower().
    return column.like(pattern, escape="\\")  # type: ignore[no-any-return]


def _needles(f: ExploreFilter) -> list[str]:
    """What must occur in the text: every word of the search, and the phrase as a whole."""
    needles = _words(f.search)
    if f.phrase.strip():
        needles.append(f.phrase.strip())
    return needles


def _text_conditions(session: Session, f: ExploreFilter) -> list[ColumnElement[bool]]:
    """Every needle occurs in the redacted text (case-insensitive substring, as LIKE says).

    Migration 0006 indexes the text by trigrams. On PostgreSQL the pg_trgm GIN index serves
    the ILIKE as written. On SQLite the FTS5 table answers a MATCH of the needles; the LIKE
    stays beside it, so the meaning is exactly the LIKE's (FTS5 also folds non-ASCII case)."""
    needles = _needles(f)
    conditions = [_like(session, Message.text, needle) for needle in needles]
    if _dialect(session) == "sqlite":
        match = _fts_match(needles)
        if match is not None and _fts_is_selective(session, match):
            conditions.append(Message.id.in_(_fts_rowids(match)))  # type: ignore[union-attr]
    return conditions


def _fts_match(needles: Sequence[str]) -> str | None:
    """An FTS5 query: each needle of 3 or more characters as a quoted string, all required.

    With the trigram tokenizer a quoted string matches as a substring; a shorter needle has
    no trigram to look up and is left to the LIKE."""
    quoted = ['"' + n.replace('"', '""') + '"' for n in needles if len(n) >= TRIGRAM]
    return " AND ".join(quoted) or None


def _fts_rowids(match: str) -> Select[Any]:
    return (
        select(literal_column("rowid"))
        .select_from(table("message_fts"))
        .where(literal_column("message_fts").op("MATCH")(match))
    )


def _fts_is_selective(session: Session, match: str) -> bool:
    """True when at most FTS_DRIVES messages (of all time) match: then the index finds them
    and the period is checked on each. A common word is found sooner by walking the period
    newest-first with the LIKE, which stops at the sample size."""
    probe = _fts_rowids(match).limit(FTS_DRIVES + 1).subquery()
    return int(session.scalar(select(func.count()).select_from(probe)) or 0) <= FTS_DRIVES


def _customer_scored() -> list[ColumnElement[bool]]:
    return [
        Message.scored_at.is_not(None),  # type: ignore[union-attr]
        or_(Message.turn_role.is_(None), Message.turn_role == "customer"),  # type: ignore[union-attr]
    ]


def _message_conditions(
    session: Session, f: ExploreFilter, period_index: bool = True, period: bool = True
) -> list[ColumnElement[bool]]:
    """Conditions on the message row itself (period, channel, source, language, text, handled).

    `period_index=False` tells SQLite not to use the created_at index (a unary "+"), so a
    sort by sentiment or rating walks that column's index instead of sorting the period.
    `period=False` leaves the period out (the caller checks it elsewhere)."""
    moment: Any = Message.created_at
    if not period_index and _dialect(session) == "sqlite":
        moment = literal_column("+message.created_at", type_=Message.created_at.type)  # type: ignore[attr-defined]
    conditions: list[ColumnElement[bool]] = [moment >= f.since, moment < f.until] if period else []
    if f.channels:
        conditions.append(Message.channel.in_(f.channels))  # type: ignore[attr-defined]
    if f.sources:
        conditions.append(Message.source.in_(f.sources))  # type: ignore[attr-defined]
    if f.languages:
        conditions.append(Message.language.in_(f.languages))  # type: ignore[union-attr]
    conditions.extend(_text_conditions(session, f))
    if f.unhandled:
        # An alias: the verbatim query also joins message_handling, and the subquery must not
        # correlate to that join.
        done = aliased(MessageHandling)
        conditions.append(
            ~exists().where(
                done.message_id == Message.id,
                done.handled.is_(True),  # type: ignore[attr-defined]
            )
        )
    return conditions


def _brand_exists(f: ExploreFilter) -> ColumnElement[bool]:
    inner = [MessageBrand.message_id == Message.id]
    own = [b for b in f.brands if b != NO_BRAND]
    if NO_BRAND in f.brands:
        anything = exists().where(MessageBrand.message_id == Message.id)
        if not own:
            return ~anything
        return or_(~anything, exists().where(*inner, MessageBrand.brand.in_(own)))  # type: ignore[attr-defined]
    return exists().where(*inner, MessageBrand.brand.in_(own))  # type: ignore[attr-defined]


def _mention_conditions(f: ExploreFilter) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = []
    if f.phases:
        conditions.append(MessagePhase.phase.in_(f.phases))  # type: ignore[attr-defined]
    if f.score_min > -1.0:
        conditions.append(MessagePhase.score >= f.score_min)  # type: ignore[arg-type]
    if f.score_max < 1.0:
        conditions.append(MessagePhase.score <= f.score_max)  # type: ignore[arg-type]
    return conditions


def _verbatim_conditions(
    session: Session, f: ExploreFilter, period_index: bool = True
) -> list[ColumnElement[bool]]:
    """A message matches when it matches the message filters and has a matching phase mention."""
    conditions = _customer_scored() + _message_conditions(session, f, period_index)
    if f.brands:
        conditions.append(_brand_exists(f))
    mention = _mention_conditions(f)
    if mention:
        conditions.append(exists().where(MessagePhase.message_id == Message.id, *mention))
    return conditions


# --- the charts ------------------------------------------------------------------------------


def overview(
    session: Session, f: ExploreFilter, zone: ZoneInfo, days: DayCache | None = None
) -> Overview:
    """All chart numbers for the filter: from the rollups when they can answer, else from the
    newest SAMPLE_MENTIONS matching phase mentions. Grouping happens in the database; whole
    past days come from `days` when given (daily bins only)."""
    _plan_for_these_values(session)
    hours = bin_hours_for(f.since, f.until)
    result = Overview(bin_hours=hours)
    if f.needs_messages:
        result.from_rollups = False
        sample = _mentions_query(session, f, SAMPLE_MENTIONS).subquery()
        _add_sample(session, result, sample, f, zone)
        result.sampled = result.histogram_sampled = result.total.count >= SAMPLE_MENTIONS
        return result
    first, last = _whole_days(f, zone) if hours == 24 and days is not None else (None, None)
    if days is None or first is None or last is None:
        _add_groups(session, result, f, zone)
    else:
        # Partial first and last days (and today) read the rollups; whole days come cached.
        head_end, tail_start = _midnight(first, zone), _midnight(last, zone)
        if f.since < head_end:
            _add_groups(session, result, f.narrowed(until=head_end), zone)
        _add_rows(result, days.rows(session, first, last), f)
        if tail_start < f.until:
            _add_groups(session, result, f.narrowed(since=tail_start), zone)
    sample = _mentions_query(session, f, HISTOGRAM_MENTIONS).subquery()
    result.histogram = _histogram(session, sample)
    result.histogram_sampled = sum(result.histogram) >= HISTOGRAM_MENTIONS
    return result


def _midnight(day: date, zone: ZoneInfo) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=zone).astimezone(UTC)


def _whole_days(f: ExploreFilter, zone: ZoneInfo) -> tuple[date | None, date | None]:
    """[first, last): the local days wholly inside the period and before today."""
    first = f.since.astimezone(zone).date()
    if _midnight(first, zone) < f.since:
        first += timedelta(days=1)
    last = min(f.until.astimezone(zone).date(), datetime.now(UTC).astimezone(zone).date())
    return (first, last) if first < last else (None, None)


def _add_rows(result: Overview, rows: Sequence[DayRow], f: ExploreFilter) -> None:
    """Cached unfiltered day rows: the filter's brands, phases and channels applied here."""
    for start, brand, phase, channel, *sums in rows:
        if (
            (f.brands and brand not in f.brands)
            or (f.phases and phase not in f.phases)
            or (f.channels and channel not in f.channels)
        ):
            continue
        _add(result, start, brand, phase, channel, tuple(sums))  # type: ignore[arg-type]


def _add(
    result: Overview, start: datetime, brand: str, phase: str, channel: str, sums: tuple[Any, ...]
) -> None:
    result.trend[(start, phase)].add(*sums)
    result.matrix[(brand, phase)].add(*sums)
    result.channels[(start, channel)].add(*sums)
    result.phases[phase].add(*sums)
    result.total.add(*sums)


DayRow = tuple[datetime, str, str, str, int, float, int, int]


class DayCache:
    """Whole past days of rollup sums (day × brand × phase × channel), kept per web process.

    A 90-day chart then reads ~200,000 rollup rows once; after that each filter change sums
    ~100 cached rows per day. A day is read again when a message created on it is (re)scored
    (found through the scored_at index), and every day after `max_age` (a re-score that only
    lowered the newest score time, or a rollup rebuild, shows within that time). A web process
    calls `warm` at start-up, so that neither its first long chart nor the one after an expiry
    waits for the full read."""

    def __init__(self, zone: ZoneInfo, max_age: timedelta = timedelta(minutes=10)) -> None:
        self.zone = zone
        self.max_age = max_age
        self._days: dict[date, list[DayRow]] = {}
        self._seen: datetime | None = None
        self._filled_at: datetime | None = None
        self._lock = threading.Lock()
        self.ready = threading.Event()  # set once warm() has filled the days
        self._stopped = threading.Event()

    def _forget_changed(self, session: Session) -> None:
        latest = session.scalar(select(func.max(Message.scored_at)))
        now = utcnow()
        if (
            self._filled_at is None
            or now - self._filled_at > self.max_age
            or latest is None
            or (self._seen is not None and latest < self._seen)
        ):
            self._days.clear()
            self._filled_at = now
        elif self._seen is not None and latest > self._seen:
            earliest = session.scalar(
                select(func.min(Message.created_at)).where(Message.scored_at > self._seen)  # type: ignore[operator]
            )
            if earliest is not None:
                # One day of margin: a DST shift moves an hour across the boundary on SQLite.
                changed = earliest.astimezone(self.zone).date() - timedelta(days=1)
                for day in [d for d in self._days if d >= changed]:
                    del self._days[day]
        self._seen = latest

    def rows(self, session: Session, first: date, last: date) -> list[DayRow]:
        """Every row of the local days [first, last)."""
        wanted = [first + timedelta(days=i) for i in range((last - first).days)]
        with self._lock:
            self._forget_changed(session)
            missing = [d for d in wanted if d not in self._days]
            if missing:
                self._days.update(self._read(session, missing))
            return [row for day in wanted for row in self._days[day]]

    def _read(self, session: Session, days: Sequence[date]) -> dict[date, list[DayRow]]:
        """The rollup sums of `days` (in order), one grouped read from the first to the last."""
        f = ExploreFilter(
            since=_midnight(days[0], self.zone),
            until=_midnight(days[-1] + timedelta(days=1), self.zone),
        )
        grouped: dict[date, list[DayRow]] = defaultdict(list)
        for row in _group_rows(session, f, 24, self.zone):
            grouped[row[0].date()].append(row)
        return {day: grouped.get(day, []) for day in days}

    def refresh(self, session: Session, days: int = WARM_DAYS) -> None:
        """Read the last `days` whole days before today anew and put them in at once.

        The read happens outside the lock (charts keep answering from the days held); the
        days then count as fresh from the moment the read began."""
        today = datetime.now(UTC).astimezone(self.zone).date()
        started = utcnow()
        latest = session.scalar(select(func.max(Message.scored_at)))
        fresh = self._read(session, [today - timedelta(days=days - i) for i in range(days)])
        with self._lock:
            self._days = fresh
            self._filled_at = started
            # Anything scored after this read began makes the next chart re-read its days.
            self._seen = latest

    def warm(self, engine: Engine, days: int = WARM_DAYS) -> threading.Thread:
        """Keep the last `days` days filled from a background thread: now (a web process's
        first long chart then finds them) and again every half `max_age`, before they expire."""
        thread = threading.Thread(
            target=self._keep_warm, args=(engine, days), name="explore-day-cache", daemon=True
        )
        thread.start()
        return thread

    def stop(self) -> None:
        self._stopped.set()

    def _keep_warm(self, engine: Engine, days: int) -> None:
        while not self._stopped.is_set():
            try:
                with session_scope(engine) as session:
                    self.refresh(session, days)
                self.ready.set()
            except Exception:  # the thread's edge: charts then read the rollups themselves
                log.exception("explorer day cache: reading %d days of rollups failed", days)
            self._stopped.wait(self.max_age.total_seconds() / 2)


def _offsets(since: datetime, until: datetime, zone: ZoneInfo) -> list[tuple[datetime, int]]:
    """(from this UTC hour on, the zone's offset in minutes) for each stretch of the period:
    one stretch, or two or three when daylight saving time starts or ends inside it."""

    def minutes(moment: datetime) -> int:
        return int((moment.astimezone(zone).utcoffset() or timedelta(0)).total_seconds() // 60)

    stretches = [(since, minutes(since))]
    moment = since.replace(minute=0, second=0, microsecond=0)
    while moment < until:
        step = timedelta(days=1) if moment + timedelta(days=1) < until else timedelta(hours=1)
        if minutes(moment + step) != stretches[-1][1]:
            while minutes(moment + timedelta(hours=1)) == stretches[-1][1]:  # find the hour
                moment += timedelta(hours=1)
            moment += timedelta(hours=1)
            stretches.append((moment, minutes(moment)))
            continue
        moment += step
    return stretches


def _bin_expression(
    session: Session, column: Any, hours: int, zone: ZoneInfo, since: datetime, until: datetime
) -> Any:
    postgres = _dialect(session) == "postgresql"
    if hours == 1:
        if postgres:
            return func.date_trunc("hour", column)
        return func.substr(column, 1, 13)  # "YYYY-MM-DD HH" of SQLite's stored text
    if postgres:
        return func.date(func.timezone(zone.key, column))
    # SQLite has no time zones: the local date is the UTC text shifted by the offset of the
    # stretch of the period the row falls in (a CASE over the DST changes inside the period).
    stretches = _offsets(since, until, zone)
    shifted = [func.date(column, f"{offset:+d} minutes") for _, offset in stretches]
    if len(shifted) == 1:
        return shifted[0]
    whens = [
        (column < start, expression)
        for (start, _), expression in zip(stretches[1:], shifted, strict=False)
    ]
    return case(*whens, else_=shifted[-1])


def _as_bin(value: Any, hours: int, zone: ZoneInfo) -> datetime:
    if hours == 1:
        if isinstance(value, datetime):
            moment = value
        else:  # SQLite: "YYYY-MM-DD HH"
            moment = datetime.fromisoformat(f"{str(value)[:13]}:00:00")
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=ZoneInfo("UTC"))
        return moment.astimezone(zone)
    day = value if isinstance(value, date) else date.fromisoformat(str(value)[:10])
    return datetime(day.year, day.month, day.day, tzinfo=zone)


def _group_rows(session: Session, f: ExploreFilter, hours: int, zone: ZoneInfo) -> Iterator[DayRow]:
    """One grouped read of the rollups (time bin × brand × phase × channel); bins as local
    datetimes. (The message path groups its sample in `_add_sample`.)"""
    bin_ = _bin_expression(session, Rollup.bucket, hours, zone, f.since, f.until).label("bin")
    keys = (Rollup.brand, Rollup.phase, Rollup.channel)
    query = (
        select(
            bin_,
            *keys,
            func.sum(Rollup.count),
            func.sum(Rollup.score_sum),
            func.sum(Rollup.negative),
            func.sum(Rollup.positive),
        )
        .where(Rollup.bucket >= f.since, Rollup.bucket < f.until)  # type: ignore[arg-type]
        .group_by(bin_, *keys)
    )
    if f.brands:
        query = query.where(Rollup.brand.in_(f.brands))  # type: ignore[attr-defined]
    if f.phases:
        query = query.where(Rollup.phase.in_(f.phases))  # type: ignore[attr-defined]
    if f.channels:
        query = query.where(Rollup.channel.in_(f.channels))  # type: ignore[attr-defined]
    bins: dict[Any, datetime] = {}
    for value, brand, phase, channel, count, total, negative, positive in session.execute(query):
        start = bins.get(value)
        if start is None:
            start = bins[value] = _as_bin(value, hours, zone)
        yield (
            start,
            brand,
            phase,
            channel,
            int(count or 0),
            float(total or 0),
            int(negative or 0),
            int(positive or 0),
        )


def _add_groups(session: Session, result: Overview, f: ExploreFilter, zone: ZoneInfo) -> None:
    for start, brand, phase, channel, *sums in _group_rows(session, f, result.bin_hours, zone):
        _add(result, start, brand, phase, channel, tuple(sums))


def _histogram_bin(session: Session, score: Any) -> Any:
    """Which of HISTOGRAM_BINS equal bins over -1..1 a score falls in (clamp in Python)."""
    scaled = (score + 1.0) * (HISTOGRAM_BINS / 2)
    # score + 1 >= 0, so truncation is floor; PostgreSQL's integer cast would round instead.
    return func.floor(scaled) if _dialect(session) == "postgresql" else cast(scaled, Integer)


def _histogram(session: Session, sample: Any) -> list[int]:
    """Counts of the sample's scores in HISTOGRAM_BINS equal bins over -1..1, grouped in SQL."""
    index = _histogram_bin(session, sample.c.score).label("bin")
    counts = [0] * HISTOGRAM_BINS
    for value, count in session.execute(select(index, func.count()).group_by(index)):
        counts[min(max(int(value), 0), HISTOGRAM_BINS - 1)] += int(count)
    return counts


def _add_sample(
    session: Session, result: Overview, sample: Any, f: ExploreFilter, zone: ZoneInfo
) -> None:
    """The message path's charts and histogram from one grouped read of the sample (time bin
    × brand × phase × channel × score bin): the capped subquery runs once, not twice."""
    c = sample.c
    hours = result.bin_hours
    bin_ = _bin_expression(session, c.created_at, hours, zone, f.since, f.until).label("bin")
    score_bin = _histogram_bin(session, c.score).label("score_bin")
    keys = (bin_, func.coalesce(c.brand, NO_BRAND), c.phase, c.channel, score_bin)
    query = select(
        *keys,
        func.count(),
        func.sum(c.score),
        func.sum(case((c.label == "negative", 1), else_=0)),
        func.sum(case((c.label == "positive", 1), else_=0)),
    ).group_by(*keys)
    counts = [0] * HISTOGRAM_BINS
    bins: dict[Any, datetime] = {}
    for value, brand, phase, channel, index, *sums in session.execute(query):
        start = bins.get(value)
        if start is None:
            start = bins[value] = _as_bin(value, hours, zone)
        _add(result, start, brand, phase, channel, tuple(sums))
        counts[min(max(int(index), 0), HISTOGRAM_BINS - 1)] += int(sums[0])
    result.histogram = counts


def _mentions_query(session: Session, f: ExploreFilter, limit: int) -> Select[Any]:
    """The newest `limit` phase mentions (one row per mention × brand, as the rollups count).

    Filtered to one brand, that brand's links are walked newest-first through
    message_brand(brand, created_at) and each message looked up by id: a brand has fewer
    messages than the period, which is what the walk over message.created_at reads when the
    other filters are rare in combination (a common word × one brand). Several brands (or
    `_none`) walk the period: one walk per brand, merged, each read up to `limit` rows and was
    slower than the one walk on the bench (two brands: 480-570 ms against 290-490 ms)."""
    own = [b for b in f.brands if b != NO_BRAND]
    if len(set(f.brands)) == 1 and own:
        return _brand_walk(session, f, own[0]).limit(limit)
    query = (
        select(
            Message.created_at,
            MessageBrand.brand,
            MessagePhase.phase,
            Message.channel,
            MessagePhase.score,
            MessagePhase.label,
        )
        .select_from(Message)
        .join(MessagePhase, MessagePhase.message_id == Message.id)  # type: ignore[arg-type]
        .where(*_message_conditions(session, f), *_mention_conditions(f))
    )
    if f.brands and NO_BRAND not in f.brands:
        query = query.join(MessageBrand, MessageBrand.message_id == Message.id).where(  # type: ignore[arg-type]
            MessageBrand.brand.in_(own)  # type: ignore[attr-defined]
        )
    else:
        query = query.outerjoin(MessageBrand, MessageBrand.message_id == Message.id)  # type: ignore[arg-type]
        if f.brands:
            query = query.where(
                or_(MessageBrand.brand.is_(None), MessageBrand.brand.in_(own))  # type: ignore[attr-defined]
            )
    return query.order_by(Message.created_at.desc()).limit(limit)  # type: ignore[attr-defined]


def _brand_walk(session: Session, f: ExploreFilter, brand: str) -> Select[Any]:
    """One brand's phase mentions newest-first, walking message_brand(brand, created_at).

    The period is checked on the link's copy of created_at only (NOT NULL, written with the
    link, and a message's created_at never changes), the other conditions on the message.
    PostgreSQL looks each message up in a LATERAL subquery kept apart by OFFSET 0: as a plain
    join its planner preferred to hash the word's trigram matches (or the period's) with the
    brand's links, which read every match first (EXPLAIN ANALYZE on the bench database, a
    common word × one brand × 30 days: 517-715 ms, the walk 236-260 ms)."""
    linked = MessageBrand.created_at
    on_message = _message_conditions(session, f, period=False)
    walk = [MessageBrand.brand == brand, linked >= f.since, linked < f.until]  # type: ignore[operator]
    if _dialect(session) == "postgresql":
        message: Any = (
            select(Message.id, Message.created_at, Message.channel)
            .where(Message.id == MessageBrand.message_id, *on_message)
            .correlate(MessageBrand)
            .offset(0)  # not pulled up into the join: one lookup by id per link
            .lateral("linked_message")
        )
        links = join(MessageBrand, message, true())
    else:
        message = Message.__table__  # type: ignore[attr-defined]
        walk += on_message
        links = join(MessageBrand, message, message.c.id == MessageBrand.message_id)
    return (
        select(
            message.c.created_at,
            MessageBrand.brand,
            MessagePhase.phase,
            message.c.channel,
            MessagePhase.score,
            MessagePhase.label,
        )
        .select_from(links)
        .join(MessagePhase, MessagePhase.message_id == message.c.id)  # type: ignore[arg-type]
        .where(*walk, *_mention_conditions(f))
        .order_by(linked.desc())  # type: ignore[attr-defined]
    )


@dataclass(frozen=True)
class PhaseInfo:
    key: str
    position: int
    name_nl: str
    name_en: str
    target: float

    def name(self, language: str) -> str:
        return self.name_nl if language == "nl" else self.name_en


def phases(session: Session) -> list[PhaseInfo]:
    return [
        PhaseInfo(p.key, p.position, p.name_nl, p.name_en, p.target)
        for p in session.scalars(select(Phase).order_by(Phase.position))  # type: ignore[arg-type]
    ]


def filter_options(session: Session) -> dict[str, list[str]]:
    """Sources and languages that occur, for the filter drop-downs (tiny catalogue reads)."""
    from storage.models import Source

    sources = [s.key for s in session.scalars(select(Source).order_by(Source.key))]  # type: ignore[arg-type]
    return {"sources": sources, "languages": ["nl", "en", "other"]}


# --- verbatims -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Verbatim:
    id: int
    created_at: datetime
    channel: str
    source: str
    language: str | None
    text: str  # redacted
    sentiment: float | None
    label: str | None
    rating: float | None
    conversation_id: str | None
    brands: tuple[str, ...]
    phases: dict[str, float]
    handled: bool
    assignee: str | None
    note: str | None


def _verbatim_select() -> Select[Any]:
    return select(
        Message.id,
        Message.created_at,
        Message.channel,
        Message.source,
        Message.language,
        Message.text,
        Message.sentiment,
        Message.sentiment_label,
        Message.rating,
        Message.conversation_id,
        MessageHandling.handled,
        MessageHandling.assignee,
        MessageHandling.note,
    ).outerjoin(MessageHandling, MessageHandling.message_id == Message.id)  # type: ignore[arg-type]


def _attach(session: Session, rows: Sequence[Any]) -> list[Verbatim]:
    ids = [row[0] for row in rows]
    brands: dict[int, list[str]] = defaultdict(list)
    scores: dict[int, dict[str, float]] = defaultdict(dict)
    if ids:
        for message_id, brand in session.execute(
            select(MessageBrand.message_id, MessageBrand.brand).where(
                MessageBrand.message_id.in_(ids)  # type: ignore[attr-defined]
            )
        ):
            brands[message_id].append(brand)
        for message_id, phase, score in session.execute(
            select(MessagePhase.message_id, MessagePhase.phase, MessagePhase.score).where(
                MessagePhase.message_id.in_(ids)  # type: ignore[attr-defined]
            )
        ):
            scores[message_id][phase] = score
    return [
        Verbatim(
            id=row[0],
            created_at=row[1],
            channel=row[2],
            source=row[3],
            language=row[4],
            text=row[5],
            sentiment=row[6],
            label=row[7],
            rating=row[8],
            conversation_id=row[9],
            brands=tuple(sorted(brands[row[0]])),
            phases=scores[row[0]],
            handled=bool(row[10]),
            assignee=row[11],
            note=row[12],
        )
        for row in rows
    ]


def verbatims(
    session: Session,
    f: ExploreFilter,
    offset: int = 0,
    limit: int = 50,
    sort: str = "created_at",
    descending: bool = True,
) -> list[Verbatim]:
    """One page of the messages behind the filter (customer turns only), sorted server-side."""
    _plan_for_these_values(session)
    column = SORTABLE.get(sort, Message.created_at)
    # Equal ratings (there are five values) and sentiments follow in time order: the
    # (rating, created_at) index then hands out a page in order, and on PostgreSQL it checks
    # the period on the index entries instead of fetching rows from outside the period.
    keys = [column] if column is Message.created_at else [column, Message.created_at]
    keys.append(Message.id)
    order = [k.desc() if descending else k.asc() for k in keys]  # type: ignore[attr-defined]
    # Over more than two days the sort column's index wins: walking it finds a page of matches
    # fast, where sorting every message of a long period would not.
    by_index = sort == "created_at" or f.until - f.since <= timedelta(days=2)
    query = _verbatim_select().where(*_verbatim_conditions(session, f, period_index=by_index))
    if sort != "created_at":
        # Messages without a rating/sentiment go last in either direction.
        query = query.where(column.is_not(None))  # type: ignore[union-attr]
    query = query.order_by(*order).offset(offset).limit(limit)
    with _serial(session):
        rows = session.execute(query).all()
    return _attach(session, rows)


@contextmanager
def _serial(session: Session) -> Iterator[None]:
    """No parallel workers for one PostgreSQL query (a page of 50 rows): starting them cost
    more than the whole walk on the bench (brand + phase page: 57-219 ms with, 16-36 without)."""
    if _dialect(session) != "postgresql":
        yield
        return
    setting = "max_parallel_workers_per_gather"
    before = session.scalar(select(func.current_setting(setting)))
    session.execute(select(func.set_config(setting, "0", True)))  # this transaction only
    try:
        yield
    finally:
        session.execute(select(func.set_config(setting, before, True)))


def count_verbatims(session: Session, f: ExploreFilter) -> int:
    _plan_for_these_values(session)
    query = select(func.count()).select_from(Message).where(*_verbatim_conditions(session, f))
    return int(session.scalar(query) or 0)


@dataclass(frozen=True)
class Unit:
    position: int
    text: str
    phases: tuple[str, ...]
    score: float
    label: str


@dataclass(frozen=True)
class Turn:
    id: int
    created_at: datetime
    role: str
    text: str
    sentiment: float | None
    label: str | None


@dataclass(frozen=True)
class MessageDetail:
    message: Verbatim
    units: list[Unit]
    conversation: list[Turn]  # the whole chat in order, when the message is one turn of one

    @property
    def ending(self) -> Turn | None:
        """The customer's last scored turn: how the conversation ended for them."""
        turns = [t for t in self.conversation if t.role == "customer" and t.sentiment is not None]
        return turns[-1] if turns else None


def message_detail(session: Session, message_id: int) -> MessageDetail | None:
    rows = session.execute(_verbatim_select().where(Message.id == message_id)).all()
    if not rows:
        return None
    message = _attach(session, rows)[0]
    by_position: dict[int, list[UnitScore]] = defaultdict(list)
    for unit in session.scalars(
        select(UnitScore)
        .where(UnitScore.message_id == message_id)
        .order_by(UnitScore.position, UnitScore.id)  # type: ignore[arg-type]
    ):
        by_position[unit.position].append(unit)
    units = [
        Unit(
            position=position,
            text=items[0].text,
            phases=tuple(u.phase for u in items),
            score=items[0].score,
            label=items[0].label,
        )
        for position, items in sorted(by_position.items())
    ]
    conversation: list[Turn] = []
    if message.conversation_id:
        for row in session.execute(
            select(
                Message.id,
                Message.created_at,
                Message.turn_role,
                Message.text,
                Message.sentiment,
                Message.sentiment_label,
            )
            .where(
                Message.conversation_id == message.conversation_id,
                Message.source == message.source,
            )
            .order_by(Message.created_at, Message.id)  # type: ignore[arg-type]
            .limit(500)
        ):
            conversation.append(Turn(row[0], row[1], row[2] or "customer", *row[3:]))
    return MessageDetail(message=message, units=units, conversation=conversation)


# --- complaints and drivers ------------------------------------------------------------------


def negative_units(
    session: Session, f: ExploreFilter, limit: int = NEGATIVE_UNITS
) -> list[tuple[str, str]]:
    """(phase, sentence) of the newest negative sentences under the filter, for term counts."""
    _plan_for_these_values(session)
    query = (
        select(UnitScore.phase, UnitScore.text)
        .select_from(Message)
        .join(UnitScore, UnitScore.message_id == Message.id)  # type: ignore[arg-type]
        .where(
            *_message_conditions(session, f),
            UnitScore.label == "negative",
        )
    )
    if f.brands:
        query = query.where(_brand_exists(f))
    if f.phases:
        query = query.where(UnitScore.phase.in_(f.phases))  # type: ignore[attr-defined]
    if f.score_min > -1.0:
        query = query.where(UnitScore.score >= f.score_min)  # type: ignore[arg-type]
    if f.score_max < 1.0:
        query = query.where(UnitScore.score <= f.score_max)  # type: ignore[arg-type]
    query = query.order_by(Message.created_at.desc()).limit(limit)  # type: ignore[attr-defined]
    return [(phase, text) for phase, text in session.execute(query)]


@dataclass(frozen=True)
class RatedMessages:
    """Messages with a star rating and their phase scores (0 where a phase is not mentioned)."""

    ratings: list[float]
    phase_scores: list[dict[str, float]]
    capped: bool


def rated_messages(
    session: Session, f: ExploreFilter, limit: int = RATED_MESSAGES
) -> RatedMessages:
    _plan_for_these_values(session)
    query = (
        select(Message.id, Message.rating)
        .where(*_verbatim_conditions(session, f), Message.rating.is_not(None))  # type: ignore[union-attr]
        .order_by(Message.created_at.desc())  # type: ignore[attr-defined]
        .limit(limit + 1)
    )
    rows = session.execute(query).all()
    capped = len(rows) > limit
    rows = rows[:limit]
    scores: dict[int, dict[str, float]] = defaultdict(dict)
    ids = [row[0] for row in rows]
    for start in range(0, len(ids), 5000):  # bounded IN lists
        chunk = ids[start : start + 5000]
        for message_id, phase, score in session.execute(
            select(MessagePhase.message_id, MessagePhase.phase, MessagePhase.score).where(
                MessagePhase.message_id.in_(chunk)  # type: ignore[attr-defined]
            )
        ):
            scores[message_id][phase] = score
    return RatedMessages(
        ratings=[float(row[1]) for row in rows],
        phase_scores=[scores[row[0]] for row in rows],
        capped=capped,
    )


# --- handling --------------------------------------------------------------------------------


def set_handling(
    session: Session,
    message_id: int,
    by: str,
    *,
    handled: bool | None = None,
    assignee: str | None = None,
    note: str | None = None,
) -> MessageHandling:
    """Record what the team did with a message; arguments left None keep their stored value.

    An empty assignee or note clears it. Who may call this is the dashboard's decision."""
    if session.get(Message, message_id) is None:
        raise LookupError(f"message {message_id} does not exist")
    row = session.get(MessageHandling, message_id)
    if row is None:
        row = MessageHandling(message_id=message_id, handled=False, updated_by=by)
        session.add(row)
    if handled is not None:
        row.handled = handled
    if assignee is not None:
        row.assignee = assignee.strip() or None
    if note is not None:
        row.note = note.strip() or None
    row.updated_by = by
    row.updated_at = utcnow()
    session.flush()
    return row


def handling(session: Session, message_id: int) -> MessageHandling | None:
    return session.get(MessageHandling, message_id)


# --- export ----------------------------------------------------------------------------------

EXPORT_COLUMNS = (
    "id",
    "created_at",
    "channel",
    "source",
    "language",
    "brands",
    "phases",
    "sentiment",
    "rating",
    "conversation_id",
    "handled",
    "assignee",
    "note",
    "text",
)


def export_chunks(
    session: Session, f: ExploreFilter, chunk: int = 5000
) -> Iterator[list[Verbatim]]:
    """Every message behind the filter, newest first, in chunks (keyset paging: each chunk
    costs the same however deep the export is, and memory stays at one chunk)."""
    _plan_for_these_values(session)
    after: tuple[datetime, int] | None = None
    while True:
        query = _verbatim_select().where(*_verbatim_conditions(session, f))
        if after is not None:
            # The plain bound lets the created_at index start at the right place; the row
            # comparison breaks ties between messages of the same instant.
            query = query.where(
                Message.created_at <= after[0],  # type: ignore[arg-type]
                tuple_(Message.created_at, Message.id)
                < tuple_(literal(after[0], Message.created_at.type), literal(after[1])),  # type: ignore[attr-defined]
            )
        query = query.order_by(
            Message.created_at.desc(),  # type: ignore[attr-defined]
            Message.id.desc(),  # type: ignore[union-attr]
        ).limit(chunk)
        rows = session.execute(query).all()
        if not rows:
            return
        yield _attach(session, rows)
        if len(rows) < chunk:
            return
        after = (rows[-1][1], rows[-1][0])


def export_row(v: Verbatim) -> list[object]:
    return [
        v.id,
        v.created_at.isoformat(),
        v.channel,
        v.source,
        v.language or "",
        " ".join(v.brands),
        " ".join(f"{p}:{s:+.2f}" for p, s in sorted(v.phases.items())),
        "" if v.sentiment is None else round(v.sentiment, 4),
        "" if v.rating is None else v.rating,
        v.conversation_id or "",
        "yes" if v.handled else "no",
        v.assignee or "",
        v.note or "",
        v.text,
    ]
