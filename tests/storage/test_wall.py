"""The wall's read queries on SQLite and PostgreSQL, against rows scored through the real path.

Brands × phases equal the live overview; the trend bins local days; moments; chat endings."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, select
from sqlmodel import col

from sentiment.labels import label_for
from storage.alerts import open_alert
from storage.db import session_scope
from storage.messages import store_batch
from storage.models import Message, MessagePhase
from storage.queries import PhaseStat, phase_overview
from storage.scores import ScoredMessage, save_scores
from storage.wall import (
    best_and_worst,
    chat_endings,
    data_version,
    phase_stats_by_brand,
    phase_trend,
)

NOW = datetime(2026, 11, 18, 15, 30, tzinfo=UTC)
AMSTERDAM = ZoneInfo("Europe/Amsterdam")


def add(
    engine: Engine,
    key: str,
    created_at: datetime,
    phases: dict[str, float],
    brand: str = "voltera",
    channel: str = "review",
    conversation: str | None = None,
    role: str | None = None,
    text: str = "tekst",
) -> int:
    """Store one message and score it through the real save path (rollups included)."""
    with session_scope(engine) as session:
        message = Message(
            source="demo",
            external_id=key,
            channel=channel,
            text=text,
            created_at=created_at,
            conversation_id=conversation,
            turn_role=role,
        )
        store_batch(session, "demo", [message], {key: [brand]})
        message_id = session.scalar(select(col(Message.id)).where(col(Message.external_id) == key))
        assert message_id is not None
        rows = [
            MessagePhase(message_id=message_id, phase=p, score=s, label=label_for(s), units=1)
            for p, s in phases.items()
        ]
        mean = sum(phases.values()) / len(phases) if phases else None
        label = None if mean is None else label_for(mean)
        save_scores(session, [ScoredMessage(message_id, "nl", mean, label, "test", [], rows)])
    return int(message_id)


def test_brand_phase_stats_equal_phase_overview_for_every_brand(engine: Engine) -> None:
    for i in range(60):
        brand = ("voltera", "stroomz", "kabelhuis")[i % 3]
        phases = {("delivery", "use", "service")[i % 3]: ((i * 37) % 200 - 100) / 100}
        add(engine, f"m{i}", NOW - timedelta(minutes=7 * i), phases, brand=brand)
    since = NOW - timedelta(hours=24)
    with session_scope(engine) as session:
        stats = phase_stats_by_brand(session, ["voltera", "stroomz", "kabelhuis"], since)
        for brand, by_phase in stats.items():
            expected = phase_overview(session, brand, since)
            assert [_rounded(s) for s in by_phase] == [_rounded(s) for s in expected]
    assert [s.phase for s in stats["voltera"]][:4] == [
        "orientation",
        "purchase",
        "payment",
        "delivery",
    ]


def _rounded(stat: PhaseStat) -> tuple[str, int, float | None]:
    # PostgreSQL may add the floats in another order than SQLite: equal to the 9th decimal.
    return stat.phase, stat.count, None if stat.mean is None else round(stat.mean, 9)


def test_trend_sums_rollups_into_local_days_with_empty_days_kept(engine: Engine) -> None:
    # 23:30 UTC on the 16th is already the 17th in Amsterdam (UTC+1 in November).
    add(engine, "a", datetime(2026, 11, 16, 23, 30, tzinfo=UTC), {"delivery": -0.8})
    add(engine, "b", datetime(2026, 11, 17, 9, 0, tzinfo=UTC), {"delivery": 0.4})
    add(engine, "c", datetime(2026, 11, 18, 9, 0, tzinfo=UTC), {"delivery": 0.6})
    add(engine, "d", datetime(2026, 11, 18, 9, 0, tzinfo=UTC), {"delivery": 0.9}, brand="stroomz")
    since = datetime(2026, 11, 12, 23, 0, tzinfo=UTC)  # midnight in Amsterdam, 6 days back
    with session_scope(engine) as session:
        trend = phase_trend(session, "voltera", since, NOW, AMSTERDAM)
    delivery = trend["delivery"]
    assert [p.start.day for p in delivery] == [13, 14, 15, 16, 17, 18]
    assert [p.count for p in delivery] == [0, 0, 0, 0, 2, 1]
    assert delivery[4].mean is not None and abs(delivery[4].mean - (-0.2)) < 1e-9
    assert delivery[5].mean == 0.6  # the competitor's +0.9 is not Voltera's
    assert all(p.mean is None for p in trend["use"])


def test_best_and_worst_of_today_are_customer_messages_about_the_brand(engine: Engine) -> None:
    today = NOW.replace(hour=8)
    add(engine, "best", today, {"use": 0.9}, text="Geweldig")
    add(engine, "worst", today, {"delivery": -0.7}, text="Te laat")
    add(engine, "agent", today, {"service": -0.99}, channel="chat", conversation="c1", role="agent")
    add(engine, "rival", today, {"use": 0.99}, brand="stroomz")
    add(engine, "yesterday", today - timedelta(days=1), {"delivery": -1.0})
    with session_scope(engine) as session:
        best, worst = best_and_worst(session, "voltera", NOW.replace(hour=0))
    assert best is not None and worst is not None
    assert (best.text, worst.text) == ("Geweldig", "Te laat")
    assert best.brands == ("voltera",) and worst.phases == ("delivery",)


def test_chat_endings_count_the_last_customer_turn_of_each_conversation(engine: Engine) -> None:
    start = NOW.replace(hour=9)

    def chat(conversation: str, turns: list[tuple[str, float]], brand: str = "voltera") -> None:
        for n, (role, score) in enumerate(turns):
            add(
                engine,
                f"{conversation}-{n}",
                start + timedelta(minutes=n),
                {"service": score},
                brand=brand,
                channel="chat",
                conversation=conversation,
                role=role,
            )

    chat("won-back", [("customer", -0.8), ("agent", 0.5), ("customer", 0.7)])
    chat("lost", [("customer", 0.1), ("agent", 0.2), ("customer", -0.6), ("agent", 0.9)])
    chat("shrug", [("customer", -0.5), ("customer", 0.0)])
    chat("rival", [("customer", -0.9)], brand="stroomz")
    with session_scope(engine) as session:
        endings = chat_endings(session, "voltera", NOW.replace(hour=0))
    assert (endings.positive, endings.neutral, endings.negative) == (1, 1, 1)
    assert endings.total == 3


def test_data_version_moves_when_a_message_is_scored_or_an_alert_opens(engine: Engine) -> None:
    with session_scope(engine) as session:
        empty = data_version(session)
    assert empty == (None, ())
    add(engine, "x", NOW, {"use": 0.5})
    with session_scope(engine) as session:
        scored = data_version(session)
        assert scored[0] is not None and scored[1] == ()
        alert = open_alert(session, "voltera", "delivery", NOW, 0.6, 0.2, "rise")
    with session_scope(engine) as session:
        assert data_version(session) == (scored[0], (alert.id,))
