"""Runs every source on its interval with APScheduler: one run at a time, misfires coalesced.

A failing source is logged with its error and tried again next interval; others carry on."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import Engine

from config import SourceConfig
from ingest.base import Source
from ingest.pipeline import Normaliser, run_source

log = logging.getLogger(__name__)


def _run(engine: Engine, source: Source, normaliser: Normaliser) -> None:
    try:
        run_source(engine, source, normaliser)
    except Exception:
        # Caught here, at the edge: the scheduler keeps the other sources running.
        log.exception("source %s failed; it runs again at its next interval", source.key)


def build_scheduler(
    engine: Engine, sources: list[tuple[SourceConfig, Source]], normaliser: Normaliser
) -> BackgroundScheduler:
    scheduler = BackgroundScheduler(timezone=UTC)
    for config, source in sources:
        scheduler.add_job(
            _run,
            IntervalTrigger(
                seconds=config.interval_seconds, jitter=min(5.0, config.interval_seconds / 5)
            ),
            args=(engine, source, normaliser),
            id=f"source:{config.key}",
            name=f"fetch {config.key}",
            max_instances=1,
            coalesce=True,
            misfire_grace_time=int(config.interval_seconds * 2) + 1,
            next_run_time=datetime.now(UTC),
        )
    return scheduler
