"""Scores waiting messages in batches until told to stop.

A batch that fails is retried message by message, so one bad text cannot stall the rest; a
message that still fails is quarantined with its error and marked done, never retried forever."""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from datetime import timedelta

from sqlalchemy import Engine

from sentiment import Analyzer, MessageAnalysis, TextInput
from sentiment.labels import label_for
from storage.db import session_scope
from storage.messages import add_quarantine
from storage.models import Message, MessagePhase, Quarantine, UnitScore
from storage.scores import ScoredMessage, claim_unscored, save_scores

log = logging.getLogger(__name__)


def to_scored(message: Message, analysis: MessageAnalysis) -> ScoredMessage:
    assert message.id is not None
    model = f"{analysis.model}@{analysis.revision}"
    units = [
        UnitScore(
            message_id=message.id,
            position=unit.position,
            text=unit.text,
            phase=phase,
            score=unit.score,
            label=unit.label,
            confidence=unit.confidence,
            model=analysis.model,
            model_revision=analysis.revision,
        )
        for unit in analysis.units
        for phase in unit.phases
    ]
    phases = [
        MessagePhase(
            message_id=message.id,
            phase=phase,
            score=score,
            label=label_for(score),
            units=analysis.phase_units[phase],
        )
        for phase, score in analysis.phase_scores.items()
    ]
    return ScoredMessage(
        message_id=message.id,
        language=analysis.language,
        sentiment=analysis.score,
        label=analysis.label,
        model=model,
        units=units,
        phases=phases,
    )


def _inputs(messages: list[Message]) -> list[TextInput]:
    return [
        TextInput(m.text, role=m.turn_role, language=m.language, channel=m.channel)
        for m in messages
    ]


WORKER_ID = f"{socket.gethostname()}:{os.getpid()}"
LEASE = timedelta(minutes=5)  # a dead worker's claimed batch is taken over after this
# Messages claimed and analysed per call: the default of the `sentiment.worker_batch` setting,
# which the app passes in.
WORKER_BATCH = 256


def score_pending(
    engine: Engine,
    analyzer: Analyzer,
    batch_size: int = WORKER_BATCH,
    worker: str = WORKER_ID,
    lease: timedelta = LEASE,
) -> int:
    """Claim and score one batch of waiting messages; returns how many were scored (0 = none
    waiting, or all claimed by other workers)."""
    with session_scope(engine) as session:
        messages = claim_unscored(session, worker, batch_size, lease)
    if not messages:
        return 0
    try:
        results = [
            to_scored(m, a)
            for m, a in zip(messages, analyzer.analyze(_inputs(messages)), strict=True)
        ]
    except Exception:
        log.exception("scoring a batch of %d messages failed; retrying one by one", len(messages))
        results = _one_by_one(engine, analyzer, messages)
    with session_scope(engine) as session:
        return save_scores(session, results)


def _one_by_one(engine: Engine, analyzer: Analyzer, messages: list[Message]) -> list[ScoredMessage]:
    results = []
    for message in messages:
        try:
            results.append(to_scored(message, analyzer.analyze(_inputs([message]))[0]))
        except Exception as exc:
            log.exception(
                "message %s (%s:%s) cannot be scored",
                message.id,
                message.source,
                message.external_id,
            )
            reason = f"scoring failed: {exc.__class__.__name__}: {exc}"
            with session_scope(engine) as session:
                add_quarantine(
                    session,
                    Quarantine(
                        source="scoring",
                        reference=f"message:{message.id}",
                        payload=message.text,
                        error=reason,
                    ),
                )
            results.append(
                ScoredMessage(
                    message_id=message.id or 0,
                    language=message.language,
                    sentiment=None,
                    label=None,
                    model="error",
                )
            )
    return results


class ScoringWorker:
    """Runs `score_pending` in a loop on a thread; sleeps briefly when there is nothing to do."""

    def __init__(
        self,
        engine: Engine,
        analyzer: Analyzer,
        *,
        batch_size: int = WORKER_BATCH,
        idle_seconds: float = 1.0,
    ) -> None:
        self.engine = engine
        self.analyzer = analyzer
        self.batch_size = batch_size
        self.idle_seconds = idle_seconds
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def run_forever(self) -> None:
        log.info("scoring worker started with model %s", self.analyzer.model_name)
        while not self._stop.is_set():
            try:
                done = score_pending(self.engine, self.analyzer, self.batch_size)
            except Exception:
                log.exception("scoring worker: batch failed; retrying in 5 s")
                self._stop.wait(5)
                continue
            if done:
                log.debug("scored %d messages", done)
            else:
                self._stop.wait(self.idle_seconds)

    def start(self) -> None:
        self._thread = threading.Thread(target=self.run_forever, name="scoring-worker", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)


def wait_until_idle(engine: Engine, analyzer: Analyzer, batch_size: int = WORKER_BATCH) -> int:
    """Score until nothing waits (for `ingest --once` and tests); returns the total scored."""
    total = 0
    started = time.monotonic()
    while done := score_pending(engine, analyzer, batch_size):
        total += done
    log.info("scored %d messages in %.1f s", total, time.monotonic() - started)
    return total
