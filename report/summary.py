"""The weekly summary as data: per own brand the week's numbers against the promise and the week
before, from the same storage queries as the dashboard (phase_overview over the rollups)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from sqlalchemy import Engine
from sqlmodel import Session

from config.settings import Settings
from report.themes import Theme, quotes_for, top_terms
from storage.alerts import alerts_between
from storage.db import session_scope
from storage.models import Alert
from storage.queries import PhaseStat, phase_overview, promise_gap
from storage.report_queries import channel_volume, negative_units

MIN_MENTIONS_FOR_CHANGE = 10  # a phase needs this many mentions in both weeks to be a mover
THEME_PHASES = 3  # complaint themes for the phases with the most negative mentions
THEME_UNITS = 2000  # negative units read per phase for its terms (the most negative ones)
_WEEK = re.compile(r"^(\d{4})-W(\d{2})$")


class ReportError(ValueError):
    """The report cannot be made as asked (a malformed week, an unknown brand)."""


@dataclass(frozen=True)
class Week:
    """An ISO week in the report's time zone, and its bounds in UTC for the queries."""

    label: str  # "2026-W47"
    monday: date
    since: datetime  # Monday 00:00 local, in UTC
    until: datetime  # the next Monday 00:00 local, in UTC

    @property
    def sunday(self) -> date:
        return self.monday + timedelta(days=6)

    @property
    def number(self) -> int:
        return self.monday.isocalendar().week


def week_of(label: str, timezone: str) -> Week:
    """Parse "2026-W47"; ReportError names the expected form."""
    match = _WEEK.match(label.strip())
    if not match:
        raise ReportError(f"week {label!r}: expected an ISO week like 2026-W47")
    try:
        monday = date.fromisocalendar(int(match[1]), int(match[2]), 1)
    except ValueError as exc:
        raise ReportError(f"week {label!r}: {exc}") from None
    zone = ZoneInfo(timezone)
    since = datetime.combine(monday, time(0), tzinfo=zone).astimezone(UTC)
    until = datetime.combine(monday + timedelta(days=7), time(0), tzinfo=zone).astimezone(UTC)
    year, number, _ = monday.isocalendar()
    return Week(f"{year}-W{number:02d}", monday, since, until)


def last_complete_week(now: datetime, timezone: str) -> str:
    """The ISO week that ended most recently (on a Monday morning: the week before)."""
    local = now.astimezone(ZoneInfo(timezone)).date() - timedelta(days=7)
    year, number, _ = local.isocalendar()
    return f"{year}-W{number:02d}"


def previous_week(week: Week, timezone: str) -> Week:
    year, number, _ = (week.monday - timedelta(days=7)).isocalendar()
    return week_of(f"{year}-W{number:02d}", timezone)


@dataclass(frozen=True)
class PhaseRow:
    phase: str
    name_nl: str
    name_en: str
    target: float
    count: int
    negative: int
    score: float | None
    previous: float | None  # the week before
    previous_count: int

    @property
    def gap(self) -> float | None:
        return promise_gap(self.score, self.target)

    @property
    def change(self) -> float | None:
        if self.score is None or self.previous is None:
            return None
        return self.score - self.previous

    def name(self, language: str) -> str:
        return self.name_nl if language == "nl" else self.name_en


@dataclass(frozen=True)
class Overall:
    """A brand's week over all phases: the mean of every phase mention, and the phase targets
    weighted the same way (so the gap is the count-weighted mean of the phase gaps)."""

    count: int
    score: float | None
    target: float | None

    @property
    def gap(self) -> float | None:
        return promise_gap(self.score, self.target)


def overall(stats: Sequence[PhaseStat]) -> Overall:
    counted = [s for s in stats if s.mean is not None and s.count]
    total = sum(s.count for s in counted)
    if not total:
        return Overall(0, None, None)
    score = sum(s.mean * s.count for s in counted if s.mean is not None) / total
    target = sum(s.target * s.count for s in counted) / total
    return Overall(total, score, target)


@dataclass(frozen=True)
class BrandWeek:
    """Everything the e-mail says about one own brand."""

    brand: str
    name: str
    headline: Overall
    previous: Overall
    phases: tuple[PhaseRow, ...]
    improvement: PhaseRow | None
    decline: PhaseRow | None
    themes: tuple[Theme, ...]
    channels: dict[str, int]
    alerts: tuple[Alert, ...]
    explorer_url: str

    @property
    def change(self) -> float | None:
        if self.headline.score is None or self.previous.score is None:
            return None
        return self.headline.score - self.previous.score


@dataclass(frozen=True)
class BrandColumn:
    """One brand in the competitor comparison: its overall score and per-phase scores."""

    brand: str
    name: str
    own: bool
    overall: Overall
    phases: dict[str, float | None]
    counts: dict[str, int]


@dataclass(frozen=True)
class WeeklySummary:
    week: Week
    timezone: str
    brands: tuple[BrandWeek, ...]  # own brands
    comparison: tuple[BrandColumn, ...]  # every brand, own first
    days: tuple[date, ...]
    daily: dict[str, tuple[float | None, ...]]  # brand -> overall score per day

    def brand(self, key: str) -> BrandWeek:
        for item in self.brands:
            if item.brand == key:
                return item
        raise ReportError(f"brand {key!r} is not an own brand in this summary")


def build_summary(engine: Engine, settings: Settings, week: str) -> WeeklySummary:
    """The week's summary for every own brand, read in one transaction."""
    timezone = settings.email.report_timezone
    this = week_of(week, timezone)
    before = previous_week(this, timezone)
    with session_scope(engine) as session:
        brands = tuple(
            _brand_week(session, settings, brand.key, brand.name, this, before)
            for brand in settings.brands
            if brand.own
        )
        comparison = tuple(
            _column(session, brand.key, brand.name, brand.own, this)
            for brand in sorted(settings.brands, key=lambda b: not b.own)
        )
        days = tuple(this.monday + timedelta(days=i) for i in range(7))
        daily = {
            brand.key: tuple(
                overall(phase_overview(session, brand.key, *_day_bounds(day, timezone))).score
                for day in days
            )
            for brand in settings.brands
        }
    return WeeklySummary(this, timezone, brands, comparison, days, daily)


def _day_bounds(day: date, timezone: str) -> tuple[datetime, datetime]:
    zone = ZoneInfo(timezone)
    start = datetime.combine(day, time(0), tzinfo=zone)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)
    return start.astimezone(UTC), end.astimezone(UTC)


def _brand_week(
    session: Session, settings: Settings, brand: str, name: str, this: Week, before: Week
) -> BrandWeek:
    stats = phase_overview(session, brand, this.since, this.until)
    previous_stats = {
        s.phase: s for s in phase_overview(session, brand, before.since, before.until)
    }
    rows = tuple(
        PhaseRow(
            phase=s.phase,
            name_nl=s.name_nl,
            name_en=s.name_en,
            target=s.target,
            count=s.count,
            negative=s.negative,
            score=s.mean,
            previous=previous_stats[s.phase].mean if s.phase in previous_stats else None,
            previous_count=previous_stats[s.phase].count if s.phase in previous_stats else 0,
        )
        for s in stats
    )
    movers = [
        r
        for r in rows
        if r.change is not None and min(r.count, r.previous_count) >= MIN_MENTIONS_FOR_CHANGE
    ]
    best = max(movers, key=lambda r: r.change or 0.0, default=None)
    worst = min(movers, key=lambda r: r.change or 0.0, default=None)
    ignore = [name, brand] + [
        alias for b in settings.brands for alias in (*b.aliases, *b.handles, b.name)
    ]
    themes = []
    for row in sorted(rows, key=lambda r: -r.negative)[:THEME_PHASES]:
        if not row.negative:
            continue
        units = negative_units(session, brand, row.phase, this.since, this.until, THEME_UNITS)
        terms = top_terms((u.text for u in units), ignore=ignore)
        themes.append(Theme(row.phase, row.negative, tuple(terms), quotes_for(units, terms)))
    alerts = tuple(a for a in alerts_between(session, this.since, this.until) if a.brand == brand)
    # The explorer reads from/to (local dates, `to` inclusive) only with period=custom.
    query = urlencode(
        {
            "brand": brand,
            "period": "custom",
            "from": this.monday.isoformat(),
            "to": this.sunday.isoformat(),
        }
    )
    return BrandWeek(
        brand=brand,
        name=name,
        headline=overall(stats),
        previous=overall(list(previous_stats.values())),
        phases=rows,
        improvement=best if best is not None and (best.change or 0) > 0 else None,
        decline=worst if worst is not None and (worst.change or 0) < 0 else None,
        themes=tuple(themes),
        channels=dict(sorted(channel_volume(session, brand, this.since, this.until).items())),
        alerts=alerts,
        explorer_url=f"{settings.email.explorer_base_url.rstrip('/')}/explore?{query}",
    )


def _column(session: Session, brand: str, name: str, own: bool, week: Week) -> BrandColumn:
    stats = phase_overview(session, brand, week.since, week.until)
    return BrandColumn(
        brand=brand,
        name=name,
        own=own,
        overall=overall(stats),
        phases={s.phase: s.mean for s in stats},
        counts={s.phase: s.count for s in stats},
    )
