"""Runs every source on its interval or cron with APScheduler: jitter, one run at a time,
misfires coalesced, exponential back-off after failures, and a health record per run.

Also schedules the purge of kept unredacted texts after their retention period."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import Engine

from config import SourceConfig
from ingest.base import Source
from ingest.http import RateLimited
from ingest.pipeline import Normaliser, run_source
from storage.db import session_scope
from storage.health import record_failure, record_success
from storage.messages import purge_originals
from storage.models import SourceHealth

log = logging.getLogger(__name__)

MAX_BACKOFF = timedelta(hours=1)
Clock = Callable[[], datetime]


def _now() -> datetime:
    return datetime.now(UTC)


def backoff(interval_seconds: float, failures: int) -> timedelta:
    """Wait interval × 2^(failures-1) after the n-th failure in a row, at most an hour."""
    return min(MAX_BACKOFF, timedelta(seconds=interval_seconds * 2 ** max(0, failures - 1)))


def run_with_health(
    engine: Engine,
    config: SourceConfig,
    source: Source,
    normaliser: Normaliser,
    clock: Clock = _now,
    force: bool = False,
) -> bool:
    """One run, skipped while backing off (unless `force`); records the outcome. True if fine.

    Errors are caught here, at the edge, and logged with the source: others keep running."""
    now = clock()
    with session_scope(engine) as session:
        health = session.get(SourceHealth, config.key)
        failures = health.consecutive_failures if health else 0
        if not force and health and health.next_attempt_at and now < health.next_attempt_at:
            log.debug("source %s: backing off until %s", config.key, health.next_attempt_at)
            return False
    try:
        result = run_source(engine, source, normaliser)
    except Exception as exc:
        if isinstance(exc, RateLimited):
            wait = timedelta(seconds=exc.retry_after)
        else:
            wait = backoff(config.interval_seconds, failures + 1)
        error = f"{exc.__class__.__name__}: {exc}"
        log.error("source %s failed (%s); next attempt in %s", config.key, error, wait)
        if not isinstance(exc, RateLimited):
            log.debug("source %s traceback", config.key, exc_info=True)
        with session_scope(engine) as session:
            record_failure(session, config.key, error, now, now + wait)
        return False
    with session_scope(engine) as session:
        record_success(session, config.key, result.inserted, clock())
    return True


def trigger_for(config: SourceConfig) -> BaseTrigger:
    if config.cron:
        return CronTrigger.from_crontab(config.cron, timezone=UTC)
    jitter = min(5.0, config.interval_seconds / 5)
    return IntervalTrigger(seconds=config.interval_seconds, jitter=jitter)


def purge_kept_originals(engine: Engine, retention_days: int, clock: Clock = _now) -> int:
    with session_scope(engine) as session:
        purged = purge_originals(session, clock() - timedelta(days=retention_days))
    if purged:
        log.info("deleted the unredacted text of %d messages past retention", purged)
    return purged


def build_scheduler(
    engine: Engine,
    sources: list[tuple[SourceConfig, Source]],
    normaliser: Normaliser,
    retention_days: int | None = None,
) -> BackgroundScheduler:
    scheduler = BackgroundScheduler(timezone=UTC)
    for config, source in sources:
        scheduler.add_job(
            run_with_health,
            trigger_for(config),
            args=(engine, config, source, normaliser),
            id=f"source:{config.key}",
            name=f"fetch {config.key}",
            max_instances=1,
            coalesce=True,
            misfire_grace_time=int(config.interval_seconds * 2) + 1,
            next_run_time=datetime.now(UTC),
        )
    if retention_days is not None:
        scheduler.add_job(
            purge_kept_originals,
            IntervalTrigger(hours=1),
            args=(engine, retention_days),
            id="retention",
            name="purge unredacted texts past retention",
            max_instances=1,
            coalesce=True,
            next_run_time=datetime.now(UTC),
        )
    return scheduler
