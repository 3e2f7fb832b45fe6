"""The explorer's alert band reads open alerts and those that overlapped the filter's period."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine

from storage.alert_queries import alerts_for_explorer
from storage.alerts import close_alert, open_alert
from storage.db import session_scope

T0 = datetime(2026, 11, 20, 12, tzinfo=UTC)


def _alert(session, brand: str, phase: str, start: datetime, end: datetime | None) -> int:  # type: ignore[no-untyped-def]
    alert = open_alert(session, brand, phase, start, 20.0, 4.0, f"{brand} {phase}")
    assert alert.id is not None
    if end is not None:
        close_alert(session, alert.id, end)
    return alert.id


def test_open_alerts_and_those_that_overlapped_the_period_show_open_ones_first(
    engine: Engine,
) -> None:
    since, until = T0, T0 + timedelta(days=1)
    with session_scope(engine) as session:
        before = _alert(
            session, "voltera", "delivery", T0 - timedelta(hours=5), T0 - timedelta(hours=1)
        )
        overlapping = _alert(
            session, "voltera", "delivery", T0 - timedelta(hours=1), T0 + timedelta(hours=2)
        )
        inside = _alert(
            session, "stroomz", "payment", T0 + timedelta(hours=6), T0 + timedelta(hours=7)
        )
        after = _alert(
            session, "voltera", "service", until + timedelta(hours=1), until + timedelta(hours=2)
        )
        still_open = _alert(session, "voltera", "returns", T0 - timedelta(days=3), None)
    with session_scope(engine) as session:
        shown = [a.id for a in alerts_for_explorer(session, since, until)]
        assert shown == [still_open, inside, overlapping]
        assert before not in shown and after not in shown
        voltera = alerts_for_explorer(session, since, until, brands=["voltera"])
        assert [a.id for a in voltera] == [still_open, overlapping]
        delivery = alerts_for_explorer(session, since, until, phases=["delivery", "payment"])
        assert [a.id for a in delivery] == [inside, overlapping]
        assert len(alerts_for_explorer(session, since, until, limit=1)) == 1
