"""From a source's batch to stored rows: validate, attribute brands, redact personal data, store.

The cursor is stored in the same transaction as the batch, so a crash re-reads, never skips."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import asdict
from datetime import UTC

from sqlalchemy import Engine

from ingest.base import Batch, IncomingMessage, Rejected, Source
from ingest.brands import BrandMatcher
from ingest.redact import Redactor
from storage.db import session_scope
from storage.messages import StoreResult, load_cursor, store_batch
from storage.models import Message, Quarantine

log = logging.getLogger(__name__)

MAX_TEXT_CHARS = 20_000
MAX_EXTERNAL_ID_CHARS = 200  # the column's size


class Normaliser:
    """Turns incoming messages into storable rows: checked, brand-attributed and redacted."""

    def __init__(
        self, redactor: Redactor, brands: BrandMatcher, keep_original: bool = False
    ) -> None:
        self.redactor = redactor
        self.brands = brands
        self.keep_original = keep_original

    def problem(self, message: IncomingMessage) -> str | None:
        if not message.external_id:
            return "external_id is empty"
        if len(message.external_id) > MAX_EXTERNAL_ID_CHARS:
            return f"external_id is longer than {MAX_EXTERNAL_ID_CHARS} characters"
        if not message.text or not message.text.strip():
            return "text is empty"
        if len(message.text) > MAX_TEXT_CHARS:
            return f"text is {len(message.text)} characters; the limit is {MAX_TEXT_CHARS}"
        if message.created_at.tzinfo is None:
            return "created_at has no time zone"
        return None

    def to_row(self, message: IncomingMessage) -> Message:
        redaction = self.redactor.redact(message.text)
        return Message(
            source=message.source,
            external_id=message.external_id,
            channel=message.channel,
            language=message.language,
            text=redaction.text,
            original_text=message.text if self.keep_original and redaction.found else None,
            created_at=message.created_at.astimezone(UTC),
            rating=message.rating,
            conversation_id=message.conversation_id,
            turn_role=message.turn_role,
            redactions=len(redaction.found),
        )

    def brands_of(self, message: IncomingMessage) -> tuple[str, ...]:
        return message.brands or self.brands.match(message.text)


def quarantine_row(rejected: Rejected) -> Quarantine:
    return Quarantine(
        source=rejected.source,
        reference=rejected.reference,
        payload=rejected.payload,
        error=rejected.error,
    )


def store(engine: Engine, source_key: str, batch: Batch, normaliser: Normaliser) -> StoreResult:
    """Store one batch and its cursor in one transaction; invalid messages go to quarantine."""
    rows: list[Message] = []
    brands: dict[str, Sequence[str]] = {}
    rejected = list(batch.rejected)
    for message in batch.messages:
        problem = normaliser.problem(message)
        if problem:
            payload = json.dumps(asdict(message), default=str, ensure_ascii=False)
            rejected.append(
                Rejected(source_key, f"{source_key}#{message.external_id}", payload, problem)
            )
            continue
        rows.append(normaliser.to_row(message))
        brands[message.external_id] = normaliser.brands_of(message)
    with session_scope(engine) as session:
        result = store_batch(
            session,
            source_key,
            rows,
            brands,
            [quarantine_row(r) for r in rejected],
            batch.next_cursor,
        )
    for item in rejected:
        log.warning("quarantined %s: %s", item.reference, item.error)
    return result


MAX_PAGES_PER_RUN = 50  # a backlog is caught up over several runs, not in one endless one


def run_source(engine: Engine, source: Source, normaliser: Normaliser) -> StoreResult:
    """One scheduled run: fetch from the stored cursor and store each batch with its next cursor,
    page after page while the source says more is waiting."""
    inserted = duplicates = quarantined = 0
    for _ in range(MAX_PAGES_PER_RUN):
        with session_scope(engine) as session:
            cursor = load_cursor(session, source.key)
        batch = source.fetch(cursor)
        page = store(engine, source.key, batch, normaliser)
        inserted, duplicates = inserted + page.inserted, duplicates + page.duplicates
        quarantined += page.quarantined
        if not batch.has_more:
            break
    result = StoreResult(inserted, duplicates, quarantined)
    log.info(
        "source %s: %d new, %d already stored, %d quarantined",
        source.key,
        result.inserted,
        result.duplicates,
        result.quarantined,
    )
    return result
