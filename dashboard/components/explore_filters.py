"""The explorer's filter state and its URL form: a link opens the same view for a colleague.

`parse_query` and `to_query` are inverses; the page, the export and the tests all use them."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlencode
from zoneinfo import ZoneInfo

from storage.explore import ExploreFilter

PRESETS: dict[str, timedelta] = {
    "24h": timedelta(hours=24),
    "7d": timedelta(days=7),
    "30d": timedelta(days=30),
    "90d": timedelta(days=90),
}
DEFAULT_PERIOD = "7d"
CHANNELS = ("review", "social", "chat")
MAX_SEARCH = 200


@dataclass(frozen=True)
class FilterState:
    """The filter as the user set it (period as a preset or local dates), before it is resolved
    into UTC hours for the queries."""

    brands: tuple[str, ...] = ()
    phases: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    period: str = DEFAULT_PERIOD
    start: str = ""  # local "YYYY-MM-DD" or "YYYY-MM-DDTHH:MM" when period == "custom"
    end: str = ""  # a date is inclusive (the whole day), a date-time exclusive
    score_min: float = -1.0
    score_max: float = 1.0
    search: str = ""
    phrase: str = ""
    unhandled: bool = False
    extra: dict[str, str] = field(default_factory=dict)  # e.g. lang: kept, not a filter


def _list(values: dict[str, list[str]], key: str) -> tuple[str, ...]:
    items: list[str] = []
    for raw in values.get(key, []):
        items.extend(v.strip() for v in raw.split(",") if v.strip())
    return tuple(dict.fromkeys(items))  # unique, order kept


def _score(values: dict[str, list[str]], key: str, default: float) -> float:
    try:
        value = float(values[key][0])
    except (KeyError, IndexError, ValueError):
        return default
    if math.isnan(value):
        return default
    return round(min(max(value, -1.0), 1.0), 2)


def parse_query(search: str | dict[str, Any] | None) -> FilterState:
    """A URL query string (with or without "?"), or Dash Pages' layout kwargs, as a state.

    Unknown or malformed values fall back to their defaults: a mangled link still opens."""
    if isinstance(search, dict):
        values = {k: [str(v)] for k, v in search.items() if v is not None}
    else:
        values = parse_qs((search or "").lstrip("?"), keep_blank_values=False)
    period = (values.get("period") or [DEFAULT_PERIOD])[0]
    if period not in PRESETS and period != "custom":
        period = DEFAULT_PERIOD
    low = _score(values, "min", -1.0)
    high = _score(values, "max", 1.0)
    if low > high:
        low, high = high, low
    state = FilterState(
        brands=_list(values, "brand"),
        phases=_list(values, "phase"),
        channels=tuple(c for c in _list(values, "channel") if c in CHANNELS),
        sources=_list(values, "source"),
        languages=_list(values, "language"),
        period=period,
        start=(values.get("from") or [""])[0][:16],
        end=(values.get("to") or [""])[0][:16],
        score_min=low,
        score_max=high,
        search=(values.get("q") or [""])[0][:MAX_SEARCH],
        phrase=(values.get("phrase") or [""])[0][:MAX_SEARCH],
        unhandled=(values.get("unhandled") or [""])[0] in ("1", "true", "yes"),
        extra={k: v[0] for k, v in values.items() if k == "lang" and v},
    )
    if period == "custom" and not (_moment(state.start) and _moment(state.end)):
        return FilterState(**{**state.__dict__, "period": DEFAULT_PERIOD, "start": "", "end": ""})
    return state


def to_query(state: FilterState) -> str:
    """The state as a query string without "?": only what differs from the defaults."""
    pairs: list[tuple[str, str]] = []
    for key, items in (
        ("brand", state.brands),
        ("phase", state.phases),
        ("channel", state.channels),
        ("source", state.sources),
        ("language", state.languages),
    ):
        if items:
            pairs.append((key, ",".join(items)))
    if state.period != DEFAULT_PERIOD:
        pairs.append(("period", state.period))
    if state.period == "custom":
        pairs += [("from", state.start), ("to", state.end)]
    if state.score_min > -1.0:
        pairs.append(("min", f"{state.score_min:g}"))
    if state.score_max < 1.0:
        pairs.append(("max", f"{state.score_max:g}"))
    if state.search.strip():
        pairs.append(("q", state.search.strip()))
    if state.phrase.strip():
        pairs.append(("phrase", state.phrase.strip()))
    if state.unhandled:
        pairs.append(("unhandled", "1"))
    pairs += sorted(state.extra.items())
    return urlencode(pairs)


def _moment(text: str) -> datetime | date | None:
    try:
        if "T" in text:
            return datetime.fromisoformat(text)
        return date.fromisoformat(text)
    except ValueError:
        return None


def _local_start(value: datetime | date, zone: ZoneInfo) -> datetime:
    if isinstance(value, datetime):
        return value.replace(tzinfo=zone) if value.tzinfo is None else value
    return datetime(value.year, value.month, value.day, tzinfo=zone)


def _floor_hour(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def period_bounds(state: FilterState, zone: ZoneInfo, now: datetime) -> tuple[datetime, datetime]:
    """[since, until) in UTC on whole hours (the rollups' resolution)."""
    if state.period == "custom":
        start, end = _moment(state.start), _moment(state.end)
        if start is not None and end is not None:
            since = _local_start(start, zone)
            if isinstance(end, datetime):
                until = _local_start(end, zone)
            else:  # a date is inclusive: up to the next local midnight
                nxt = end + timedelta(days=1)
                until = datetime(nxt.year, nxt.month, nxt.day, tzinfo=zone)
            since, until = _floor_hour(since), _floor_hour(until + timedelta(minutes=59))
            if until > since:
                return since, until
    until = _floor_hour(now) + timedelta(hours=1)  # the current hour counts, as on the wall
    return until - PRESETS.get(state.period, PRESETS[DEFAULT_PERIOD]), until


def to_filter(state: FilterState, zone: ZoneInfo, now: datetime | None = None) -> ExploreFilter:
    since, until = period_bounds(state, zone, now or datetime.now(UTC))
    return ExploreFilter(
        since=since,
        until=until,
        brands=state.brands,
        phases=state.phases,
        channels=state.channels,
        sources=state.sources,
        languages=state.languages,
        score_min=state.score_min,
        score_max=state.score_max,
        search=state.search,
        phrase=state.phrase,
        unhandled=state.unhandled,
    )


def local_text(moment: datetime, zone: ZoneInfo) -> str:
    """A UTC moment as the local "YYYY-MM-DDTHH:MM" the URL's custom period uses."""
    return moment.astimezone(zone).strftime("%Y-%m-%dT%H:%M")


def from_filter(
    f: ExploreFilter, zone: ZoneInfo, extra: dict[str, str] | None = None
) -> FilterState:
    """A resolved filter (e.g. narrowed by a chart click) back into a URL state, as a custom
    period with exact local times."""
    return FilterState(
        brands=f.brands,
        phases=f.phases,
        channels=f.channels,
        sources=f.sources,
        languages=f.languages,
        period="custom",
        start=local_text(f.since, zone),
        end=local_text(f.until, zone),
        score_min=f.score_min,
        score_max=f.score_max,
        search=f.search,
        phrase=f.phrase,
        unhandled=f.unhandled,
        extra=dict(extra or {}),
    )


def state_from_controls(
    brands: list[str] | None,
    phases: list[str] | None,
    channels: list[str] | None,
    sources: list[str] | None,
    languages: list[str] | None,
    period: str | None,
    start: str | None,
    end: str | None,
    score: list[float] | None,
    search: str | None,
    unhandled: list[str] | None,
    extra: dict[str, str],
) -> FilterState:
    """The filter panel's control values as a state (what the URL will say)."""
    low, high = (score or [-1.0, 1.0])[:2]
    query: dict[str, Any] = {
        "brand": ",".join(brands or []),
        "phase": ",".join(phases or []),
        "channel": ",".join(channels or []),
        "source": ",".join(sources or []),
        "language": ",".join(languages or []),
        "period": period or DEFAULT_PERIOD,
        "from": (start or "")[:10],
        "to": (end or "")[:10],
        "min": low,
        "max": high,
        "q": search or "",
        "unhandled": "1" if unhandled else "",
        **extra,
    }
    return parse_query({k: v for k, v in query.items() if v not in ("", None)})
