from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, select

from config.settings import SentimentConfig
from scoring.worker import WORKER_BATCH, wait_until_idle
from storage.db import session_scope
from storage.messages import store_batch
from storage.models import Message, MessagePhase, Rollup, UnitScore
from storage.rollups import rebuild

pytestmark = pytest.mark.slow


def _store(engine: Engine, *items: tuple[str, str | None]) -> None:
    messages = [
        Message(
            source="test",
            external_id=str(i),
            channel="chat" if role else "review",
            text=text,
            created_at=datetime(2026, 11, 23, 9, 0, tzinfo=UTC),
            turn_role=role,
            conversation_id="c1" if role else None,
        )
        for i, (text, role) in enumerate(items)
    ]
    with session_scope(engine) as session:
        store_batch(session, "test", messages, {str(i): ["voltera"] for i in range(len(items))})


def test_worker_scores_every_message_once_with_model_and_revision(engine: Engine, analyzer) -> None:  # type: ignore[no-untyped-def]
    _store(
        engine,
        ("Great laptop, but the courier came two days late and the chat only said sorry.", None),
        ("Goedemiddag, waarmee kan ik u helpen?", "agent"),
        ("🙂🙂🙂", "customer"),
        ("Pakket kwam veel te laat. " * 400, None),  # ~10k characters
    )
    assert wait_until_idle(engine, analyzer, batch_size=3) == 4
    assert wait_until_idle(engine, analyzer) == 0  # nothing is scored twice
    with session_scope(engine) as session:
        messages = {m.external_id: m for m in session.scalars(select(Message))}
        units = list(session.scalars(select(UnitScore)))
        phases = {(p.message_id, p.phase): p.score for p in session.scalars(select(MessagePhase))}
    assert all(m.scored_at is not None for m in messages.values())
    assert all(u.model and u.model_revision for u in units)
    agent = messages["1"]
    assert agent.sentiment is None and not [u for u in units if u.message_id == agent.id]
    mixed = messages["0"].id
    assert phases[(mixed, "use")] > 0.2
    assert phases[(mixed, "delivery")] < -0.2
    assert phases[(mixed, "service")] < -0.2
    assert messages["3"].sentiment is not None


def test_rollups_after_scoring_equal_a_rebuild(engine: Engine, analyzer) -> None:  # type: ignore[no-untyped-def]
    _store(
        engine,
        ("De bezorger was vriendelijk en op tijd.", None),
        ("Betalen met iDEAL lukte niet, twee keer afgeschreven!", None),
        ("Would recommend to all my friends.", None),
    )
    wait_until_idle(engine, analyzer)
    with session_scope(engine) as session:
        before = sorted(
            (r.bucket, r.brand, r.phase, r.channel, r.count)
            for r in session.scalars(select(Rollup))
        )
        rebuild(session)
    with session_scope(engine) as session:
        after = sorted(
            (r.bucket, r.brand, r.phase, r.channel, r.count)
            for r in session.scalars(select(Rollup))
        )
    assert before == after and before


def test_one_large_worker_batch_scores_each_message_as_alone(analyzer) -> None:  # type: ignore[no-untyped-def]
    """sentiment.worker_batch: the units of many messages are length-sorted together into encoder
    batches; every unit's phases and score must still land on its own message."""
    from sentiment import TextInput

    texts = [
        "Great laptop, but the courier came two days late and the chat only said sorry.",
        "Top!",
        "De bezorger was vriendelijk en op tijd. Het installeren ging ook prima.",
        "Betalen met iDEAL lukte niet, twee keer afgeschreven! Klantenservice reageert niet.",
        "Would recommend to all my friends.",
        "Het scherm is mooi, maar de accu is na een uur leeg en retourneren kost geld.",
    ] * 6
    items = [TextInput(text) for text in texts]
    together = analyzer.analyze(items)
    alone = [analyzer.analyze([item])[0] for item in items]
    for one, other in zip(together, alone, strict=True):
        assert [u.text for u in one.units] == [u.text for u in other.units]
        assert [u.phases for u in one.units] == [u.phases for u in other.units]
        assert one.score == pytest.approx(other.score, abs=1e-4)
        assert one.phase_scores == pytest.approx(other.phase_scores, abs=1e-4)


def test_the_worker_claims_what_the_setting_says_by_default() -> None:
    # Scripts and tests that call the worker without a size get what the app would use.
    assert SentimentConfig().worker_batch == WORKER_BATCH
