"""Leader election for schedulers: many `cxpulse scheduler` processes, one runs the sources.

The leader renews its lease every few seconds; if it dies, another takes over once the lease
expires (well within a minute). Losing the lease stops the local scheduler at once."""

from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from apscheduler.schedulers.background import BackgroundScheduler
from sqlalchemy import Engine

from storage.db import session_scope
from storage.leases import acquire, release

log = logging.getLogger(__name__)

LEASE_NAME = "scheduler"
TTL = timedelta(seconds=30)
RENEW_EVERY = 5.0  # seconds; several renewals fit in one TTL, so a slow beat does not lose it


class LeaderElectedScheduler:
    """Runs `build()`'s scheduler only while this process holds the scheduler lease."""

    def __init__(
        self,
        engine: Engine,
        build: Callable[[], BackgroundScheduler],
        *,
        holder: str | None = None,
        ttl: timedelta = TTL,
        renew_every: float = RENEW_EVERY,
    ) -> None:
        self.engine = engine
        self.build = build
        self.holder = holder or f"{socket.gethostname()}:{os.getpid()}"
        self.ttl = ttl
        self.renew_every = renew_every
        self.scheduler: BackgroundScheduler | None = None
        self._stop = threading.Event()
        # stop() runs twice on a shutdown: from the signal handler's thread and at the end of
        # run_forever. The lock lets one of them shut the scheduler down and release the lease,
        # and keeps a beat from taking the lease again while or after it is released.
        self._lock = threading.Lock()

    @property
    def leading(self) -> bool:
        return self.scheduler is not None

    def beat(self) -> bool:
        """Try to take or keep the lease and start or stop the scheduler to match (once
        stopped, neither). Runs under the lock, so a stop() at the same time waits for it."""
        with self._lock:
            if self._stop.is_set():
                return False
            try:
                with session_scope(self.engine) as session:
                    now = datetime.now(UTC)
                    held = acquire(session, LEASE_NAME, self.holder, self.ttl, now)
            except Exception:
                log.exception(
                    "scheduler %s: cannot reach the database to renew the lease", self.holder
                )
                held = False
            if held and self.scheduler is None:
                log.info("scheduler %s: leading; starting the source schedule", self.holder)
                self.scheduler = self.build()
                self.scheduler.start()
            elif not held and self.scheduler is not None:
                log.warning(
                    "scheduler %s: lost the lease; stopping the source schedule", self.holder
                )
                self.scheduler.shutdown(wait=False)
                self.scheduler = None
        return held

    def run_forever(self) -> None:
        log.info("scheduler %s: standing by for the lease", self.holder)
        while not self._stop.is_set():
            self.beat()
            self._stop.wait(self.renew_every)
        self.stop()

    def request_stop(self) -> None:
        """Ask run_forever to stop after its current beat; it then calls stop() itself. For a
        signal handler on the thread that runs run_forever: stop() there could wait for the
        lock that the interrupted beat of the same thread holds."""
        self._stop.set()

    def stop(self) -> None:
        """Stop the schedule (waiting for a running fetch) and release the lease; safe to call
        from several threads at once and more than once."""
        self._stop.set()
        with self._lock:
            if self.scheduler is None:
                return
            self.scheduler.shutdown(wait=True)
            self.scheduler = None
            with session_scope(self.engine) as session:
                release(session, LEASE_NAME, self.holder)
