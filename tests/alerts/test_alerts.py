"""Live alerts against a real database: a spike in one phase opens one alert with its why, quiet
data opens none, it closes when the rise subsides, and people hear of it by e-mail and webhook."""

from __future__ import annotations

import json
import logging
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import pytest
from pytest_httpserver import HTTPServer
from sqlalchemy import Engine, select

from alerts.detect import (
    Counts,
    HourCount,
    assess,
    baseline_of,
    binomial_tail,
    hypergeometric_tail,
    run_alerts,
)
from config.settings import AlertsConfig, Recipient, Settings
from storage.db import session_scope
from storage.models import Alert
from tests.report.support import Inbox, store_mentions, with_smtp

T0 = datetime(2026, 11, 18, 12, 0, tzinfo=UTC)  # a Wednesday, noon UTC
MINUTE = timedelta(minutes=1)
Mention = tuple[datetime, str, str, str]  # created_at, brand, phase, polarity


def _steady(start: datetime, end: datetime, seed: int = 3) -> Iterator[Mention]:
    """Normal traffic: per hour 120 mentions of delivery and of service, about 25% negative."""
    rng = random.Random(seed)
    moment = start
    while moment < end:
        for phase in ("delivery", "service"):
            yield moment, "voltera", phase, "negative" if rng.random() < 0.25 else "positive"
        moment += timedelta(seconds=30)


def _spike(start: datetime, count: int = 40) -> list[Mention]:
    """A carrier failure: `count` extra negative delivery mentions over 15 minutes."""
    step = timedelta(minutes=15) / count
    return [(start + i * step, "voltera", "delivery", "negative") for i in range(count)]


def _settings(demo_settings: Settings, **alerts: object) -> Settings:
    config = demo_settings.alerts.model_copy(update=alerts)
    return demo_settings.model_copy(update={"alerts": config})


def _alerts(engine: Engine) -> list[Alert]:
    with session_scope(engine) as session:
        return list(session.scalars(select(Alert).order_by(Alert.id)))  # type: ignore[arg-type]


@pytest.fixture
def steady_engine(engine: Engine) -> Engine:
    """A day of normal traffic before T0 and three hours after it."""
    store_mentions(engine, _steady(T0 - timedelta(hours=24), T0 + timedelta(hours=3)), "s")
    return engine


def test_a_spike_in_one_phase_opens_exactly_one_alert_with_a_why(
    steady_engine: Engine, demo_settings: Settings
) -> None:
    store_mentions(steady_engine, _spike(T0 - 15 * MINUTE), "x")
    opened = run_alerts(steady_engine, demo_settings, T0)
    assert [(a.brand, a.phase) for a in opened] == [("voltera", "delivery")]
    alert = opened[0]
    assert alert.started_at == T0 and alert.ended_at is None
    assert alert.observed >= 40 and alert.expected < 15
    assert alert.reason.startswith("Voltera · Delivery & installation: ")
    assert "negative" in alert.reason and "in the 15 min up to 13:00 CET" in alert.reason
    assert "expected" in alert.reason and "EWMA" in alert.reason
    # The next minute the rise is still there: the open alert goes on, no second one.
    assert run_alerts(steady_engine, demo_settings, T0 + MINUTE) == []
    assert len(_alerts(steady_engine)) == 1


def test_quiet_data_opens_no_alert(steady_engine: Engine, demo_settings: Settings) -> None:
    for minutes in range(0, 180, 7):
        assert run_alerts(steady_engine, demo_settings, T0 + minutes * MINUTE) == []
    assert _alerts(steady_engine) == []


def test_the_alert_closes_when_the_rise_subsides(
    steady_engine: Engine, demo_settings: Settings
) -> None:
    store_mentions(steady_engine, _spike(T0 - 15 * MINUTE), "x")
    [alert] = run_alerts(steady_engine, demo_settings, T0)
    run_alerts(steady_engine, demo_settings, T0 + 5 * MINUTE)  # spike still partly in the window
    assert _alerts(steady_engine)[0].ended_at is None
    run_alerts(steady_engine, demo_settings, T0 + 16 * MINUTE)  # window holds normal traffic only
    [closed] = _alerts(steady_engine)
    assert closed.id == alert.id and closed.ended_at == T0 + 16 * MINUTE


def test_cooldown_prevents_a_repeat_until_it_has_passed(
    steady_engine: Engine, demo_settings: Settings
) -> None:
    settings = _settings(demo_settings, cooldown_minutes=60)
    store_mentions(steady_engine, _spike(T0 - 15 * MINUTE), "a")
    store_mentions(steady_engine, _spike(T0 + 25 * MINUTE), "b")  # shortly after the first
    store_mentions(steady_engine, _spike(T0 + 110 * MINUTE), "c")  # after the cooldown
    assert len(run_alerts(steady_engine, settings, T0)) == 1
    run_alerts(steady_engine, settings, T0 + 20 * MINUTE)  # closes
    assert run_alerts(steady_engine, settings, T0 + 40 * MINUTE) == []  # rising, but cooling down
    assert len(run_alerts(steady_engine, settings, T0 + 125 * MINUTE)) == 1
    assert [a.started_at for a in _alerts(steady_engine)] == [T0, T0 + 125 * MINUTE]


def test_the_webhook_receives_json_with_text_and_is_retried(
    steady_engine: Engine,
    demo_settings: Settings,
    httpserver: HTTPServer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    httpserver.expect_ordered_request("/hook", method="POST").respond_with_data("busy", status=503)
    httpserver.expect_ordered_request("/hook", method="POST").respond_with_data("ok")
    monkeypatch.setenv("CXPULSE_TEST_WEBHOOK", httpserver.url_for("/hook"))
    settings = _settings(
        demo_settings, webhook_url_env="CXPULSE_TEST_WEBHOOK", webhook_wait_seconds=0
    )
    store_mentions(steady_engine, _spike(T0 - 15 * MINUTE), "x")
    assert len(run_alerts(steady_engine, settings, T0)) == 1
    httpserver.check_assertions()
    bodies = [json.loads(request.get_data()) for request, _ in httpserver.log]
    assert len(bodies) == 2 and bodies[0] == bodies[1]  # the retry sends the same alert
    body = bodies[0]
    assert [request.headers["Content-Type"] for request, _ in httpserver.log] == [
        "application/json"
    ] * 2
    # Slack and Teams incoming webhooks show `text`; the demo organisation reads Dutch.
    assert "Bezorging & installatie" in body["text"] and "Voltera" in body["text"]
    assert body["explorer_url"] in body["text"] and "period=custom" in body["explorer_url"]
    assert body["brand"] == "voltera" and body["phase"] == "delivery"


def test_a_dead_webhook_is_logged_and_the_alert_still_stands(
    steady_engine: Engine,
    demo_settings: Settings,
    httpserver: HTTPServer,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    httpserver.expect_request("/hook", method="POST").respond_with_data("down", status=500)
    monkeypatch.setenv("CXPULSE_TEST_WEBHOOK", httpserver.url_for("/hook"))
    settings = _settings(
        demo_settings,
        webhook_url_env="CXPULSE_TEST_WEBHOOK",
        webhook_wait_seconds=0,
        webhook_attempts=2,
    )
    store_mentions(steady_engine, _spike(T0 - 15 * MINUTE), "x")
    with caplog.at_level(logging.ERROR):
        assert len(run_alerts(steady_engine, settings, T0)) == 1
    assert len(httpserver.log) == 2
    assert any("did not take the alert" in r.message for r in caplog.records)
    assert len(_alerts(steady_engine)) == 1


def test_an_email_notification_arrives_in_each_readers_language(
    steady_engine: Engine, demo_settings: Settings, smtp_inbox: Inbox
) -> None:
    readers = (
        Recipient(address="cx@voltera.example", language="nl"),
        Recipient(address="ops@voltera.example", language="en"),
    )
    settings = _settings(with_smtp(demo_settings, smtp_inbox), recipients=readers)
    store_mentions(steady_engine, _spike(T0 - 15 * MINUTE), "x")
    assert len(run_alerts(steady_engine, settings, T0)) == 1
    mails = {
        e.rcpt_tos[0]: message_from_bytes(e.content, policy=policy.default)
        for e in smtp_inbox.received
    }
    assert set(mails) == {"cx@voltera.example", "ops@voltera.example"}
    assert mails["cx@voltera.example"]["Subject"] == (
        "CX Pulse melding: meer negatieve berichten over Bezorging & installatie bij Voltera"
    )
    assert "Delivery & installation at Voltera" in mails["ops@voltera.example"]["Subject"]
    body = mails["cx@voltera.example"].get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "negatieve vermeldingen in de laatste 15 minuten" in body
    link = next(line for line in body.splitlines() if "/explore?" in line)
    query = parse_qs(urlsplit(link).query)
    assert query["brand"] == ["voltera"] and query["period"] == ["custom"]
    # The alert's window, in the dashboard's time zone (T0 is UTC; Amsterdam is UTC+1 then).
    alert = _alerts(steady_engine)[0]
    zone = ZoneInfo(settings.dashboard.timezone)
    start = (alert.started_at - 15 * MINUTE).astimezone(zone)
    assert query["from"] == [start.strftime("%Y-%m-%dT%H:%M")]


# --- the detector itself, without a database -----------------------------------------------------


def _hours(count: int, mentions: int, negatives: int) -> list[HourCount]:
    start = T0 - timedelta(hours=count)
    return [HourCount(start + timedelta(hours=h), mentions, negatives) for h in range(count)]


def test_too_little_history_gives_no_verdict() -> None:
    config = AlertsConfig(min_baseline_mentions=50)
    assert baseline_of(_hours(1, 40, 10), T0, T0 - timedelta(hours=1), config) is None
    assert baseline_of(_hours(2, 40, 10), T0, T0 - timedelta(hours=2), config) is not None


def test_a_thin_history_needs_more_evidence_than_a_long_one() -> None:
    config = AlertsConfig()
    window = Counts(mentions=30, negatives=14)  # 47% negative against a 25% baseline
    thin = baseline_of(_hours(2, 40, 10), T0, T0 - timedelta(hours=2), config)
    long = baseline_of(_hours(168, 40, 10), T0, T0 - timedelta(hours=168), config)
    assert thin is not None and long is not None
    assert not assess(window, thin, config).rising
    assert assess(Counts(mentions=60, negatives=45), long, config).rising


def test_tail_probabilities_match_hand_computed_values() -> None:
    assert binomial_tail(3, 3, 0.5) == pytest.approx(0.125)
    assert binomial_tail(0, 10, 0.3) == 1.0
    # 2 red of 3 drawn from 5 balls with 2 red: C(2,2)*C(3,1)/C(5,3) = 3/10.
    assert hypergeometric_tail(2, 3, 2, 5) == pytest.approx(0.3)


def test_hour_of_week_baseline_expects_the_same_hour_of_past_weeks() -> None:
    config = AlertsConfig(baseline="hour_of_week", baseline_weeks=4)
    # Two weeks of history with a busy hour at T0's hour of the week: 40 negatives, else 5.
    hours = [
        HourCount(T0 - timedelta(hours=h), 100, 40 if h % 168 == 0 else 5)
        for h in range(1, 2 * 168 + 1)
    ]
    two_weeks = baseline_of(hours, T0 + 15 * MINUTE, T0 - timedelta(weeks=2), config)
    assert two_weeks is not None and two_weeks.negatives_per_hour == pytest.approx(40)
    assert "same hour of the week over 2 weeks" in two_weeks.method
    one_week = baseline_of(hours, T0 + 15 * MINUTE, T0 - timedelta(weeks=1), config)
    assert one_week is not None and one_week.negatives_per_hour < 10  # EWMA until 2 weeks exist
    assert "not yet 2 weeks" in one_week.method
