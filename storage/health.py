"""Per-source health: last success, last error, consecutive failures, items fetched, back-off.

The scheduler records every run here; the status page and `cxpulse sources status` read it."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlmodel import Session

from storage.models import SourceHealth


def _row(session: Session, source: str) -> SourceHealth:
    row = session.get(SourceHealth, source)
    if row is None:
        row = SourceHealth(source=source)
        session.add(row)
    return row


def record_success(session: Session, source: str, items: int, now: datetime) -> None:
    row = _row(session, source)
    row.last_run_at = row.last_success_at = now
    row.consecutive_failures = 0
    row.items_fetched += items
    row.last_items = items
    row.next_attempt_at = None


def record_failure(
    session: Session, source: str, error: str, now: datetime, next_attempt_at: datetime
) -> int:
    """Store the error and when to try again; returns the number of failures in a row."""
    row = _row(session, source)
    row.last_run_at = row.last_error_at = now
    row.last_error = error
    row.consecutive_failures += 1
    row.next_attempt_at = next_attempt_at
    return row.consecutive_failures


def next_attempt(session: Session, source: str) -> datetime | None:
    row = session.get(SourceHealth, source)
    return row.next_attempt_at if row else None


def all_health(session: Session) -> list[SourceHealth]:
    return list(session.scalars(select(SourceHealth).order_by(SourceHealth.source)))
