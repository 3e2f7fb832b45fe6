"""Scheduled runs: health records, exponential back-off, rate limits, retention of originals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, func, select

from config import Settings, SourceConfig
from ingest.base import Batch, IncomingMessage
from ingest.http import RateLimited, SourceError
from ingest.pipeline import Normaliser
from ingest.scheduler import backoff, build_scheduler, purge_kept_originals, run_with_health
from storage.db import session_scope
from storage.models import Message, SourceHealth
from wiring import build_normaliser

START = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


class FlakySource:
    """Fails with the queued errors first, then delivers one message per run."""

    key = "flaky"

    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.calls = 0

    def fetch(self, cursor: str | None) -> Batch:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        n = int(cursor or 0) + 1
        message = IncomingMessage(
            "flaky", f"m{n}", "review", "Prima geleverd, mijn nummer is 06-12345678", START
        )
        return Batch([message], next_cursor=str(n))


def _config(interval: float = 60) -> SourceConfig:
    return SourceConfig(key="flaky", type="demo", interval_seconds=interval)


def _health(engine: Engine) -> SourceHealth:
    with session_scope(engine) as session:
        row = session.get(SourceHealth, "flaky")
        assert row is not None
        return row


def test_backoff_doubles_per_failure_and_is_capped() -> None:
    assert [backoff(60, n).total_seconds() for n in (1, 2, 3, 4)] == [60, 120, 240, 480]
    assert backoff(60, 20) == timedelta(hours=1)


def test_failures_are_recorded_and_the_source_backs_off_then_recovers(
    engine: Engine, demo_settings: Settings
) -> None:
    clock, normaliser = Clock(), build_normaliser(demo_settings)
    source = FlakySource(SourceError("HTTP 503"), SourceError("HTTP 503"))
    assert not run_with_health(engine, _config(), source, normaliser, clock)
    first = _health(engine)
    assert first.consecutive_failures == 1 and "HTTP 503" in (first.last_error or "")
    assert first.next_attempt_at == START + timedelta(seconds=60)
    clock.now += timedelta(seconds=30)  # still backing off: the source is not even asked
    assert not run_with_health(engine, _config(), source, normaliser, clock)
    assert source.calls == 1
    clock.now += timedelta(seconds=31)
    assert not run_with_health(engine, _config(), source, normaliser, clock)
    second = _health(engine)
    assert second.consecutive_failures == 2
    assert second.next_attempt_at == clock.now + timedelta(seconds=120)
    clock.now += timedelta(seconds=121)
    assert run_with_health(engine, _config(), source, normaliser, clock)
    healthy = _health(engine)
    assert healthy.consecutive_failures == 0 and healthy.next_attempt_at is None
    assert healthy.items_fetched == 1 and healthy.last_success_at == clock.now


def test_a_rate_limit_waits_as_long_as_the_api_says(
    engine: Engine, demo_settings: Settings
) -> None:
    clock = Clock()
    source = FlakySource(RateLimited("flaky: rate limited", retry_after=900))
    run_with_health(engine, _config(), source, build_normaliser(demo_settings), clock)
    assert _health(engine).next_attempt_at == START + timedelta(seconds=900)


def test_scheduler_jobs_run_one_at_a_time_with_coalesced_misfires(
    engine: Engine, demo_settings: Settings
) -> None:
    normaliser = build_normaliser(demo_settings)
    scheduler = build_scheduler(engine, [(_config(), FlakySource())], normaliser, retention_days=30)
    jobs = {job.id: job for job in scheduler.get_jobs()}
    assert set(jobs) == {"source:flaky", "retention"}
    assert jobs["source:flaky"].max_instances == 1 and jobs["source:flaky"].coalesce
    cron = build_scheduler(
        engine,
        [(SourceConfig(key="c", type="demo", cron="*/15 * * * *"), FlakySource())],
        normaliser,
    )
    assert "*/15" in str(cron.get_jobs()[0].trigger)


def test_unredacted_text_is_kept_only_when_configured_and_purged_after_retention(
    engine: Engine, demo_settings: Settings
) -> None:
    keep = build_normaliser(demo_settings)
    keep = Normaliser(keep.redactor, keep.brands, keep_original=True)
    run_with_health(engine, _config(), FlakySource(), keep, Clock())
    with session_scope(engine) as session:
        message = session.scalars(select(Message)).one()
        assert "06-12345678" not in message.text
        assert message.original_text and "06-12345678" in message.original_text
    assert purge_kept_originals(engine, retention_days=30, clock=lambda: datetime.now(UTC)) == 0
    later = datetime.now(UTC) + timedelta(days=31)
    assert purge_kept_originals(engine, retention_days=30, clock=lambda: later) == 1
    with session_scope(engine) as session:
        kept = session.scalar(select(func.count()).where(Message.original_text.is_not(None)))
    assert kept == 0


def test_original_text_is_not_kept_by_default(engine: Engine, demo_settings: Settings) -> None:
    run_with_health(engine, _config(), FlakySource(), build_normaliser(demo_settings), Clock())
    with session_scope(engine) as session:
        assert session.scalars(select(Message)).one().original_text is None
