import random
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, select

from sentiment.labels import label_for
from storage.db import session_scope
from storage.messages import store_batch
from storage.models import Message, MessagePhase, Rollup
from storage.queries import phase_overview
from storage.rollups import rebuild
from storage.scores import ScoredMessage, save_scores, unscored

PHASES = ["delivery", "use", "service", "general"]


def _rollups(engine: Engine) -> dict[tuple, tuple]:
    with session_scope(engine) as session:
        return {
            (r.bucket, r.brand, r.phase, r.channel): (
                r.count,
                round(r.score_sum, 9),
                r.negative,
                r.positive,
            )
            for r in session.scalars(select(Rollup))
        }


def _fill(engine: Engine, count: int, seed: int = 1) -> None:
    rng = random.Random(seed)
    start = datetime(2026, 11, 16, tzinfo=UTC)
    messages, brands = [], {}
    for i in range(count):
        messages.append(
            Message(
                source="demo",
                external_id=str(i),
                channel=rng.choice(["review", "social", "chat"]),
                text=f"bericht {i}",
                created_at=start + timedelta(minutes=rng.randrange(7 * 24 * 60)),
            )
        )
        brands[str(i)] = rng.sample(["voltera", "stroomz", "kabelhuis"], k=rng.choice([0, 1, 1, 2]))
    with session_scope(engine) as session:
        store_batch(session, "demo", messages, brands)
    # Score in several batches, as the worker does, so the rollups grow incrementally.
    while True:
        with session_scope(engine) as session:
            batch = unscored(session, 37)
            if not batch:
                return
            results = []
            for message in batch:
                phases = [
                    MessagePhase(
                        message_id=message.id, phase=p, score=s, label=label_for(s), units=1
                    )
                    for p in rng.sample(PHASES, k=rng.randint(1, 3))
                    for s in [round(rng.uniform(-1, 1), 3)]
                ]
                results.append(ScoredMessage(message.id, "nl", 0.0, "neutral", "test", [], phases))
            save_scores(session, results)


def test_incremental_rollups_equal_a_rebuild_from_scores(engine: Engine) -> None:
    _fill(engine, 400)
    incremental = _rollups(engine)
    with session_scope(engine) as session:
        rebuild(session)
    assert _rollups(engine) == incremental
    assert sum(v[0] for v in incremental.values()) > 400  # multi-brand, multi-phase messages


def test_a_message_is_not_added_to_the_rollups_twice(engine: Engine) -> None:
    _fill(engine, 20)
    before = _rollups(engine)
    with session_scope(engine) as session:
        message = session.scalars(select(Message)).first()
        phase = MessagePhase(
            message_id=message.id, phase="use", score=1.0, label="positive", units=1
        )
        saved = save_scores(
            session, [ScoredMessage(message.id, "nl", 1.0, "positive", "test", [], [phase])]
        )
    assert saved == 0
    assert _rollups(engine) == before


def test_phase_overview_reports_phases_in_journey_order_with_means(engine: Engine) -> None:
    _fill(engine, 200)
    with session_scope(engine) as session:
        stats = phase_overview(session, "voltera", datetime(2026, 11, 1, tzinfo=UTC))
        rows = session.execute(select(MessagePhase.phase, MessagePhase.score)).all()
    assert [s.phase for s in stats][:3] == ["orientation", "purchase", "payment"]
    delivery = next(s for s in stats if s.phase == "delivery")
    assert delivery.count > 0 and -1 <= delivery.mean <= 1
    assert next(s for s in stats if s.phase == "orientation").mean is None  # nothing said about it
    assert rows  # scores exist behind the rollups
