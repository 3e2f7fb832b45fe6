"""Scoring workers share the work through claims with a lease: disjoint, never lost."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine
from sqlmodel import Session

from storage.db import session_scope
from storage.messages import store_batch
from storage.models import Message
from storage.scores import claim_unscored

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
LEASE = timedelta(minutes=5)


def _store(engine: Engine, count: int) -> None:
    messages = [
        Message(source="t", external_id=str(i), channel="review", text=f"tekst {i}", created_at=NOW)
        for i in range(count)
    ]
    with session_scope(engine) as session:
        store_batch(session, "t", messages, {})


def test_two_workers_claim_disjoint_batches_oldest_first(engine: Engine) -> None:
    _store(engine, 10)
    with session_scope(engine) as session:
        first = claim_unscored(session, "worker-a", 4, LEASE, NOW)
    with session_scope(engine) as session:
        second = claim_unscored(session, "worker-b", 4, LEASE, NOW)
    assert [m.external_id for m in first] == ["0", "1", "2", "3"]
    assert [m.external_id for m in second] == ["4", "5", "6", "7"]


def test_a_claim_of_a_dead_worker_is_taken_over_after_the_lease(engine: Engine) -> None:
    _store(engine, 3)
    with session_scope(engine) as session:
        claim_unscored(session, "dies", 3, LEASE, NOW)
    with session_scope(engine) as session:
        assert claim_unscored(session, "other", 3, LEASE, NOW + timedelta(minutes=4)) == []
    with session_scope(engine) as session:
        taken = claim_unscored(session, "other", 3, LEASE, NOW + timedelta(minutes=6))
    assert len(taken) == 3 and {m.claimed_by for m in taken} == {"other"}


def test_concurrent_claims_do_not_wait_for_each_other_on_postgresql(postgres_url: str) -> None:
    """While one worker's claim transaction is still open, another gets other rows at once."""
    from storage.db import make_engine
    from storage.migrate import upgrade

    upgrade(postgres_url)
    engine = make_engine(postgres_url)
    _store(engine, 6)
    with (
        Session(engine, expire_on_commit=False) as slow,
        Session(engine, expire_on_commit=False) as fast,
    ):
        held = claim_unscored(slow, "slow", 3, LEASE, NOW)  # transaction left open: rows locked
        fast.connection().exec_driver_sql("SET lock_timeout = '2s'")
        got = claim_unscored(fast, "fast", 3, LEASE, NOW)
        fast.commit()
        slow.commit()
    engine.dispose()
    assert {m.external_id for m in held} == {"0", "1", "2"}
    assert {m.external_id for m in got} == {"3", "4", "5"}
