"""Several schedulers, one leader: the lease decides, and a dead leader is replaced."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import Engine

from ingest.leader import LEASE_NAME, LeaderElectedScheduler
from storage.db import session_scope
from storage.leases import acquire, holder_of

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def test_a_lease_has_one_holder_until_it_expires(engine: Engine) -> None:
    ttl = timedelta(seconds=30)
    with session_scope(engine) as session:
        assert acquire(session, "job", "a", ttl, NOW)
    with session_scope(engine) as session:
        assert not acquire(session, "job", "b", ttl, NOW + timedelta(seconds=10))
        assert acquire(session, "job", "a", ttl, NOW + timedelta(seconds=10))  # renewal
    with session_scope(engine) as session:
        assert not acquire(session, "job", "b", ttl, NOW + timedelta(seconds=39))
        assert acquire(session, "job", "b", ttl, NOW + timedelta(seconds=41))
        assert holder_of(session, "job", NOW + timedelta(seconds=41)) == "b"


def test_only_the_leader_runs_the_schedule_and_another_takes_over_when_it_dies(
    engine: Engine,
) -> None:
    def build() -> BackgroundScheduler:
        return BackgroundScheduler(timezone=UTC)

    ttl = timedelta(seconds=1)
    first = LeaderElectedScheduler(engine, build, holder="first", ttl=ttl)
    second = LeaderElectedScheduler(engine, build, holder="second", ttl=ttl)
    assert first.beat() and first.leading
    assert not second.beat() and not second.leading
    # "first" dies: it stops renewing. Its lease runs out and "second" takes over.
    time.sleep(1.2)
    assert second.beat() and second.leading
    with session_scope(engine) as session:
        assert holder_of(session, LEASE_NAME, datetime.now(UTC)) == "second"
    # The old leader, back from a stall, finds it has lost the lease and stops its schedule.
    assert not first.beat() and not first.leading
    second.stop()
    with session_scope(engine) as session:
        assert holder_of(session, LEASE_NAME, datetime.now(UTC)) is None  # released on stop
