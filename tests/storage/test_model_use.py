"""Which model scored what: the status page's per-model counts, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine

from storage.db import session_scope
from storage.models import Message
from storage.scores import scored_by_model

NOW = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
NL = "builtin:all-MiniLM-L6-v2+lora@aaaa"
EN = "builtin-en:all-MiniLM-L6-v2+lora@bbbb"


def _message(n: int, scored: datetime | None, model: str | None) -> Message:
    return Message(
        source="demo",
        external_id=f"m{n}",
        channel="review",
        text="…",
        created_at=NOW - timedelta(days=2),
        scored_at=scored,
        model=model,
    )


def test_counts_per_model_in_the_window_the_most_recently_used_first(engine: Engine) -> None:
    with session_scope(engine) as session:
        session.add_all(
            [
                _message(1, NOW - timedelta(hours=3), NL),
                _message(2, NOW - timedelta(hours=2), NL),
                _message(3, NOW - timedelta(minutes=5), EN),
                _message(4, NOW - timedelta(hours=30), "old-model@cccc"),  # before the window
                _message(5, None, None),  # waiting to be scored
            ]
        )
    with session_scope(engine) as session:
        uses = scored_by_model(session, NOW - timedelta(hours=24))
    assert [(u.model, u.messages) for u in uses] == [(EN, 1), (NL, 2)]
    assert uses[0].last_scored_at == NOW - timedelta(minutes=5)
    assert uses[1].last_scored_at == NOW - timedelta(hours=2)


def test_nothing_scored_in_the_window_gives_no_rows(engine: Engine) -> None:
    with session_scope(engine) as session:
        session.add(_message(1, NOW - timedelta(days=3), NL))
    with session_scope(engine) as session:
        assert scored_by_model(session, NOW - timedelta(hours=24)) == []
