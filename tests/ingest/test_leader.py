"""Several schedulers, one leader: the lease decides, and a dead leader is replaced."""

from __future__ import annotations

import threading
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


def test_stopping_from_a_signal_while_the_loop_stops_too_shuts_down_once_without_error(
    engine: Engine,
) -> None:
    """`cxpulse run` on SIGTERM: the main thread calls stop() while run_forever, woken by it,
    calls stop() as well. Before the lock, the second call raised in the scheduler thread
    (a traceback on every systemd stop)."""
    shutdowns: list[str] = []

    class SlowToStop(BackgroundScheduler):  # a fetch still running: shutdown takes a while
        def shutdown(self, wait: bool = True) -> None:
            shutdowns.append(threading.current_thread().name)
            time.sleep(0.3)
            super().shutdown(wait)

    errors: list[BaseException] = []
    leader = LeaderElectedScheduler(
        engine, lambda: SlowToStop(timezone=UTC), holder="only", renew_every=0.05
    )

    def loop() -> None:
        try:
            leader.run_forever()
        except BaseException as exc:  # what the thread would print as a traceback
            errors.append(exc)

    thread = threading.Thread(target=loop, name="scheduler")
    thread.start()
    deadline = time.monotonic() + 5
    while not leader.leading and time.monotonic() < deadline:
        time.sleep(0.01)
    assert leader.leading
    leader.stop()
    thread.join(timeout=5)
    assert not thread.is_alive()
    assert errors == [] and len(shutdowns) == 1 and not leader.leading
    assert not leader.beat() and not leader.leading  # stopped: it takes no lease again
    with session_scope(engine) as session:
        assert holder_of(session, LEASE_NAME, datetime.now(UTC)) is None


def test_a_stop_requested_in_the_middle_of_a_beat_on_the_same_thread_ends_the_loop(
    engine: Engine,
) -> None:
    """`cxpulse scheduler` on SIGTERM: the handler runs on the thread that runs run_forever,
    possibly in the middle of a beat that holds the lock; it only requests the stop, and the
    loop stops the schedule and releases the lease itself."""
    leader: LeaderElectedScheduler

    def build() -> BackgroundScheduler:  # the signal arrives while the beat starts the schedule
        leader.request_stop()
        return BackgroundScheduler(timezone=UTC)

    leader = LeaderElectedScheduler(engine, build, holder="only", renew_every=0.05)
    thread = threading.Thread(target=leader.run_forever, name="main-like")
    thread.start()
    thread.join(timeout=5)
    assert not thread.is_alive()  # no wait on the lock its own beat held
    assert not leader.leading
    with session_scope(engine) as session:
        assert holder_of(session, LEASE_NAME, datetime.now(UTC)) is None
