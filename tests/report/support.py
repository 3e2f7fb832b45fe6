"""Test support for e-mail and alerts: a real SMTP server (aiosmtpd) on loopback, and scored data:
demo messages stored through the real ingest path, scored from the simulator's truth (no model)."""

from __future__ import annotations

import functools
import socket
import zlib
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import Engine, insert, select, update

from config.settings import Settings
from ingest.sources.demo import GeneratedMessage
from sentiment.labels import label_for
from storage.db import session_scope
from storage.models import Message, MessageBrand, MessagePhase, UnitScore
from storage.rollups import rebuild

# --- SMTP ---------------------------------------------------------------------------------------


@dataclass
class Inbox:
    """What the SMTP server received; set `reply` to answer DATA with an error instead."""

    host: str
    port: int
    received: list[Any] = field(default_factory=list)  # aiosmtpd envelopes
    attempts: int = 0
    reply: str | None = None

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.attempts += 1
        if self.reply:
            return self.reply
        self.received.append(envelope)
        return "250 Message accepted for delivery"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def smtp_inbox() -> Iterator[Inbox]:
    """A real SMTP server on 127.0.0.1 and a free port, for the duration of one test."""
    inbox = Inbox("127.0.0.1", free_port())
    controller = Controller(inbox, hostname=inbox.host, port=inbox.port)
    controller.start()
    try:
        yield inbox
    finally:
        controller.stop()


def with_smtp(settings: Settings, inbox: Inbox, **email: Any) -> Settings:
    """The settings, sending through `inbox` without waiting between attempts."""
    update = {"smtp_host": inbox.host, "smtp_port": inbox.port, "retry_wait_seconds": 0, **email}
    return settings.model_copy(update={"email": settings.email.model_copy(update=update)})


# --- scored data --------------------------------------------------------------------------------

_POLARITY_SCORE = {"positive": 0.6, "negative": -0.6, "neutral": 0.0}


def truth_score(polarity: str, message_id: int, phase: str) -> float:
    """The simulator's polarity as a score, spread a little so means are not all ±0.6."""
    jitter = (zlib.crc32(f"{message_id}:{phase}".encode()) % 1000) / 1000 * 0.3 - 0.15
    return round(_POLARITY_SCORE[polarity] + jitter, 4)


def score_from_truth(engine: Engine, truths: dict[str, dict[str, str]]) -> int:
    """Score every unscored customer message from `truths` (external id -> phase -> polarity).

    Written in bulk and the rollups rebuilt (`cxpulse db rebuild-rollups`' function, proven
    equal to the worker's increments in tests/storage): the worker's one-UPDATE-per-message
    claim makes test set-up slow, and claiming is not what these tests are about."""
    now = datetime.now(UTC)
    with session_scope(engine) as session:
        waiting = session.execute(
            select(Message.id, Message.external_id, Message.text, Message.turn_role).where(
                Message.scored_at.is_(None)  # type: ignore[union-attr]
            )
        ).all()
        messages, phases, units = [], [], []
        for message_id, external_id, text, role in waiting:
            truth = truths.get(external_id, {}) if role in (None, "customer") else {}
            scores = {p: truth_score(v, message_id, p) for p, v in truth.items()}
            mean = sum(scores.values()) / len(scores) if scores else None
            messages.append(
                {
                    "id": message_id,
                    "scored_at": now,
                    "sentiment": mean,
                    "sentiment_label": None if mean is None else label_for(mean),
                    "model": "truth",
                }
            )
            for position, (phase, value) in enumerate(scores.items()):
                label = label_for(value)
                phases.append(
                    {
                        "message_id": message_id,
                        "phase": phase,
                        "score": value,
                        "label": label,
                        "units": 1,
                    }
                )
                units.append(
                    {
                        "message_id": message_id,
                        "position": position,
                        "text": text,
                        "phase": phase,
                        "score": value,
                        "label": label,
                        "confidence": 1.0,
                        "model": "truth",
                        "model_revision": "test",
                    }
                )
        if messages:
            session.execute(update(Message), messages)
        for table, rows in ((MessagePhase, phases), (UnitScore, units)):
            if rows:
                session.execute(insert(table.__table__), rows)  # type: ignore[attr-defined]
        rebuild(session)
    return len(messages)


@dataclass(frozen=True)
class DemoData:
    """Demo messages as ingest would store them (redacted rows, brands) and what they mean."""

    rows: tuple[dict[str, Any], ...]
    brands: dict[str, tuple[str, ...]]
    truths: dict[str, dict[str, str]]


@functools.cache
def demo_data(
    since: datetime,
    until: datetime,
    rate_per_minute: float,
    seed: int = 11,
    incident_every_minutes: float = 0,
    incident_minutes: float = 0,
) -> DemoData:
    """The demo simulator's messages created in [since, until), normalised and redacted by the
    real ingest path for the built-in demo configuration; made once per test session."""
    from config import load_settings
    from ingest.sources.demo import DemoSource
    from wiring import build_normaliser

    source = DemoSource(
        "demo",
        rate_per_minute=rate_per_minute,
        seed=seed,
        incident_every_minutes=incident_every_minutes,
        incident_minutes=incident_minutes,
        backfill_minutes=(until - since) / timedelta(minutes=1),
        max_batch=5000,
        clock=lambda: until - timedelta(microseconds=1),
    )
    normaliser = build_normaliser(load_settings())
    rows: list[dict[str, Any]] = []
    brands: dict[str, tuple[str, ...]] = {}
    truths: dict[str, dict[str, str]] = {}
    cursor: str | None = None
    while True:
        batch = source.fetch(cursor)
        seqs = {int(m.external_id.split("-")[1]) for m in batch.messages}
        generated: list[GeneratedMessage] = [g for q in sorted(seqs) for g in source.generate(q)]
        truths.update({g.message.external_id: g.truth for g in generated})
        for message in batch.messages:
            if message.created_at >= since and not normaliser.problem(message):
                rows.append(normaliser.to_row(message).model_dump(exclude={"id"}))
                brands[message.external_id] = tuple(normaliser.brands_of(message))
        cursor = batch.next_cursor
        if not batch.has_more:
            return DemoData(tuple(rows), brands, truths)


def store_demo(engine: Engine, data: DemoData) -> int:
    """Store the demo rows as ingest does (message + message_brand), then score them from truth.

    Plain INSERTs of the prepared rows: building a SQLModel object per row again for every
    database would dominate the test's run time."""
    message_table = Message.__table__  # type: ignore[attr-defined]
    with session_scope(engine) as session:
        ids = dict(
            session.execute(
                insert(message_table).returning(message_table.c.external_id, message_table.c.id),
                list(data.rows),
            ).all()
        )
        created = {row["external_id"]: row["created_at"] for row in data.rows}
        links = [
            {"message_id": ids[external_id], "brand": brand, "created_at": created[external_id]}
            for external_id, brands in data.brands.items()
            for brand in dict.fromkeys(brands)
        ]
        session.execute(insert(MessageBrand.__table__), links)  # type: ignore[attr-defined]
    score_from_truth(engine, data.truths)
    return len(ids)


def store_mentions(
    engine: Engine, mentions: Iterable[tuple[datetime, str, str, str]], prefix: str = "m"
) -> int:
    """One scored message per (created_at, brand, phase, polarity): exact control for alerts.

    `prefix` keeps external ids unique when a test stores several batches."""
    rows: list[dict[str, Any]] = []
    brands: dict[str, tuple[str, ...]] = {}
    truths: dict[str, dict[str, str]] = {}
    for i, (created_at, brand, phase, polarity) in enumerate(mentions):
        external_id = f"{prefix}{i}"
        rows.append(
            {
                "source": "demo",
                "external_id": external_id,
                "channel": "review",
                "language": "nl",
                "text": f"{phase} was {polarity}",
                "created_at": created_at,
                "ingested_at": created_at,
                "redactions": 0,
            }
        )
        brands[external_id] = (brand,)
        truths[external_id] = {phase: polarity}
    return store_demo(engine, DemoData(tuple(rows), brands, truths))
