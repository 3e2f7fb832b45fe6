"""Alerts: a sudden rise of negative messages in one brand × phase, open until it subsides.

Detection lives elsewhere (it decides); this module only stores and reads them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_, select
from sqlmodel import Session

from storage.models import Alert


def open_alert(
    session: Session,
    brand: str,
    phase: str,
    started_at: datetime,
    observed: float,
    expected: float,
    reason: str,
) -> Alert:
    alert = Alert(
        brand=brand,
        phase=phase,
        started_at=started_at,
        observed=observed,
        expected=expected,
        reason=reason,
    )
    session.add(alert)
    session.flush()
    return alert


def close_alert(session: Session, alert_id: int, ended_at: datetime) -> None:
    alert = session.get(Alert, alert_id)
    if alert is not None and alert.ended_at is None:
        alert.ended_at = ended_at


def active_alerts(session: Session, brand: str | None = None) -> list[Alert]:
    """Alerts not yet ended, newest first (optionally for one brand)."""
    query = select(Alert).where(Alert.ended_at.is_(None)).order_by(Alert.started_at.desc())  # type: ignore[union-attr]
    if brand is not None:
        query = query.where(Alert.brand == brand)
    return list(session.scalars(query))


def alerts_between(session: Session, since: datetime, until: datetime) -> list[Alert]:
    """Alerts that were open at any moment in [since, until), oldest first."""
    query = (
        select(Alert)
        .where(Alert.started_at < until)
        .where(or_(Alert.ended_at.is_(None), Alert.ended_at >= since))  # type: ignore[union-attr]
        .order_by(Alert.started_at)
    )
    return list(session.scalars(query))
