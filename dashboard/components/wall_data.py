"""What a wall screen shows and the data behind it: options from profile and URL, one read.

Kept out of the page module because Dash Pages loads pages outside sys.modules (no dataclasses)."""

from __future__ import annotations

import hmac
import logging
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import flask
from dash import html
from dash.development.base_component import Component
from sqlalchemy import Engine
from sqlmodel import Session

from config.settings import WALL_VIEWS, Settings, WallScreenConfig
from dashboard.components.ticker import ticker_item
from dashboard.components.wall import (
    alert_band,
    brands_view,
    journey_view,
    moments_view,
    trend_view,
)
from dashboard.i18n import pick_language, t
from storage.db import session_scope
from storage.models import Alert
from storage.queries import latest_messages
from storage.wall import (
    best_and_worst,
    chat_endings,
    phase_stats_by_brand,
    phase_trend,
)

log = logging.getLogger(__name__)

FEED_ROWS = 6  # messages on the feed view: what fits at 5 m reading size on one screen
TREND_DAYS = 7


# ---------------------------------------------------------------------------------------------
# Options: the screen profile, overridden by URL parameters


@dataclass(frozen=True)
class WallOptions:
    """What one open wall page shows and how often; kept in the page as a dcc.Store."""

    views: tuple[str, ...]
    rotate_ms: int
    brand: str
    language: str
    theme: str
    token: str | None
    refresh_ms: int
    timeout_ms: int  # a refresh unanswered this long is taken as lost and sent again
    offline_ms: int  # no answer for this long: say so on screen
    timezone: str
    offline_text: str


def wall_options(settings: Settings, screen: str | None, query: Mapping[str, str]) -> WallOptions:
    """The screen's profile (or the defaults for /wall), then URL parameters on top of it."""
    profile = settings.dashboard.screens.get(screen or "", WallScreenConfig())
    brands = {b.key for b in settings.brands}
    views = tuple(v for v in str(query.get("views", "")).split(",") if v in WALL_VIEWS)
    brand = query.get("brand") or profile.brand or settings.own_brand.key
    language = pick_language(query.get("lang"), profile.language or settings.dashboard.language)
    refresh_ms = int(settings.dashboard.refresh_seconds * 1000)
    if brand not in brands:
        log.warning("wall: brand %r is not configured; showing %s", brand, settings.own_brand.key)
    return WallOptions(
        views=views or profile.views,
        rotate_ms=int(_number(query.get("rotate"), profile.rotate_seconds) * 1000),
        brand=brand if brand in brands else settings.own_brand.key,
        language=language,
        theme=query.get("theme") if query.get("theme") in ("dark", "light") else profile.theme,  # type: ignore[arg-type]
        token=query.get("token"),
        refresh_ms=refresh_ms,
        timeout_ms=max(2 * refresh_ms, 5000),
        offline_ms=max(3 * refresh_ms, 5000),
        timezone=settings.dashboard.timezone,
        offline_text=t("wall_offline", language, time="{time}"),
    )


def _number(value: str | None, default: float) -> float:
    try:
        return max(0.0, float(value)) if value is not None else default
    except ValueError:
        return default


def token_ok(settings: Settings, given: str | None) -> bool:
    """True when no token is configured, or `given` matches the environment variable's value."""
    name = settings.dashboard.wall_token_env
    if not name:
        return True
    expected = os.environ.get(name, "")
    if not expected:
        # Configured but unset: refuse rather than silently open the screen to everyone.
        log.warning("dashboard.wall_token_env names %s, which is not set: /wall refuses all", name)
        return False
    return given is not None and hmac.compare_digest(given.encode(), expected.encode())


# ---------------------------------------------------------------------------------------------
# Views: each read and drawn on its own, once per data version for all screens together


def version_of(last: datetime | None, now: datetime) -> str:
    """Changes when something new was scored, and at least once a minute (time windows slide)."""
    return f"{last.isoformat() if last else '-'}|{now:%Y-%m-%dT%H:%M}"


@dataclass(frozen=True)
class ViewKey:
    """Everything a drawn view depends on; screens asking the same key get the same drawing."""

    view: str
    version: str
    brand: str
    language: str


def draw_view(key: ViewKey, session: Session, settings: Settings, now: datetime) -> Any:
    """Read what one view needs and draw it: rollups and the latest N messages only."""
    zone = ZoneInfo(settings.dashboard.timezone)
    hours = settings.dashboard.window_hours
    window = timedelta(hours=hours)
    language, brand = key.language, key.brand
    brand_names = {b.key: b.name for b in settings.brands}
    phase_names = {p.key: p.label(language) for p in settings.phases}
    today = now.astimezone(zone).replace(hour=0, minute=0, second=0, microsecond=0)
    if key.view == "journey":
        current = phase_stats_by_brand(session, [brand], now - window)[brand]
        previous = phase_stats_by_brand(session, [brand], now - 2 * window, now - window)[brand]
        return journey_view(current, previous, language, hours)
    if key.view == "feed":
        items = latest_messages(session, FEED_ROWS)
        return [ticker_item(i, language, brand_names, phase_names, zone) for i in items] or [
            html.Li(t("waiting", language), className="feed-empty")
        ]
    if key.view == "brands":
        order = [brand] + [b.key for b in settings.brands if b.key != brand]
        return brands_view(
            phase_stats_by_brand(session, order, now - window), brand, brand_names, language
        )
    if key.view == "trend":
        since = today - timedelta(days=TREND_DAYS - 1)
        trend = phase_trend(session, brand, since, now, zone)
        return trend_view(trend, settings.phases, language)
    if key.view == "moments":
        best, worst = best_and_worst(session, brand, today)
        endings = chat_endings(session, brand, today)
        return moments_view(best, worst, endings, language, brand_names, phase_names, zone)
    raise ValueError(f"unknown wall view {key.view!r}; known: {', '.join(WALL_VIEWS)}")


def draw_alerts(
    alerts: list[Alert], settings: Settings, language: str
) -> tuple[list[Component], bool]:
    """The alert band's lines and whether the band is hidden (no open alerts)."""
    brand_names = {b.key: b.name for b in settings.brands}
    phase_names = {p.key: p.label(language) for p in settings.phases}
    zone = ZoneInfo(settings.dashboard.timezone)
    return alert_band(alerts, language, brand_names, phase_names, zone), not alerts


class ViewCache:
    """Drawn views shared between screens, keyed by ViewKey; a small LRU, safe across threads.

    Fifty screens on one profile ask for the same drawing every few seconds: it is read and
    drawn once per data version (one screen waits while another draws it), not fifty times."""

    def __init__(self, size: int = 64) -> None:
        self._size = size
        self._items: OrderedDict[ViewKey, Any] = OrderedDict()
        self._lock = threading.Lock()
        self._drawing: dict[ViewKey, threading.Lock] = {}

    def get(self, key: ViewKey, draw: Callable[[], Any]) -> Any:
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                return self._items[key]
            drawing = self._drawing.setdefault(key, threading.Lock())
        with drawing:
            with self._lock:
                if key in self._items:
                    return self._items[key]
            try:
                value = draw()
            finally:
                with self._lock:
                    self._drawing.pop(key, None)
            with self._lock:
                self._items[key] = value
                while len(self._items) > self._size:
                    self._items.popitem(last=False)
            return value


def view_cache() -> ViewCache:
    """The web process's cache, kept on the Flask app (one per app, no module globals)."""
    cache = flask.current_app.extensions.get("cxpulse.wall_views")
    if cache is None:
        cache = flask.current_app.extensions.setdefault("cxpulse.wall_views", ViewCache())
    return cache  # type: ignore[no-any-return]


def drawn_views(
    views: Iterable[str],
    version: str,
    options: WallOptions,
    settings: Settings,
    engine: Engine,
    now: datetime,
) -> dict[str, Any]:
    """The children of each asked view, from the cache or drawn now in its own session."""
    cache = view_cache()
    out: dict[str, Any] = {}
    for view in views:
        key = ViewKey(view, version, options.brand, options.language)

        def draw(key: ViewKey = key) -> Any:
            with session_scope(engine) as session:
                return draw_view(key, session, settings, now)

        out[view] = cache.get(key, draw)
    return out


def freshness(
    last: datetime | None, now: datetime, settings: Settings, language: str
) -> tuple[str, bool]:
    """The stale banner: its text and whether it is hidden."""
    zone = ZoneInfo(settings.dashboard.timezone)
    if last is None:
        return t("waiting", language), False
    if now - last > timedelta(minutes=settings.dashboard.stale_after_minutes):
        return t("wall_stale", language, time=last.astimezone(zone).strftime("%d-%m %H:%M")), False
    return "", True


def updated_text(now: datetime, settings: Settings, language: str) -> str:
    # Minutes, not seconds: the text then changes once a minute, not on every refresh.
    local = now.astimezone(ZoneInfo(settings.dashboard.timezone)).strftime("%H:%M")
    return t("wall_updated", language, time=local)
