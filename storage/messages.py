"""Storing fetched messages idempotently, together with the cursor and quarantine of their batch.

The same (source, external id) stored twice is one row: re-delivered input is counted, not kept."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Table, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from storage.models import Cursor, Message, MessageBrand, Quarantine, utcnow


@dataclass(frozen=True)
class StoreResult:
    inserted: int
    duplicates: int
    quarantined: int
    inserted_ids: frozenset[str] = frozenset()  # external ids stored by this call (not before)


def _insert(session: Session, table: Table):  # type: ignore[no-untyped-def]
    dialect = session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)


def store_batch(
    session: Session,
    source: str,
    messages: Sequence[Message],
    brands: Mapping[str, Sequence[str]],
    quarantined: Sequence[Quarantine] = (),
    cursor: str | None = None,
) -> StoreResult:
    """Insert new messages (skipping ones already stored), their brands, quarantine and cursor.

    Runs inside the caller's transaction, so the cursor only moves if the batch is stored."""
    inserted_ids: dict[str, int] = {}
    created: dict[str, datetime] = {}
    table = Message.__table__  # type: ignore[attr-defined]
    if messages:
        # One statement compiled once and executed with many parameter sets: SQLAlchemy batches
        # it into multi-row INSERTs ("insertmanyvalues") and collects RETURNING of new rows only.
        statement = (
            _insert(session, table)
            .on_conflict_do_nothing(index_elements=["source", "external_id"])
            .returning(table.c.id, table.c.external_id, table.c.created_at)
        )
        rows = [m.model_dump(exclude={"id"}) for m in messages]
        for id_, ext, created_at in session.execute(statement, rows):
            inserted_ids[ext] = id_
            created[ext] = created_at
    links = [
        # The stored created_at, copied for the explorer's per-brand walk (migration 0007).
        {"message_id": message_id, "brand": brand, "created_at": created[external_id]}
        for external_id, message_id in inserted_ids.items()
        for brand in dict.fromkeys(brands.get(external_id, ()))
    ]
    if links:
        session.execute(_insert(session, MessageBrand.__table__), links)  # type: ignore[attr-defined]
    session.add_all(quarantined)
    if cursor is not None:
        session.merge(Cursor(source=source, value=cursor, updated_at=utcnow()))
    return StoreResult(
        len(inserted_ids),
        len(messages) - len(inserted_ids),
        len(quarantined),
        frozenset(inserted_ids),
    )


def purge_originals(session: Session, older_than: datetime) -> int:
    """Delete the kept unredacted texts of messages ingested before `older_than`."""
    result = session.execute(
        update(Message)
        .where(Message.original_text.is_not(None), Message.ingested_at < older_than)  # type: ignore[union-attr]
        .values(original_text=None)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def add_quarantine(session: Session, *items: Quarantine) -> None:
    session.add_all(items)


def quarantine_counts(session: Session) -> dict[str, int]:
    query = select(Quarantine.source, func.count()).group_by(Quarantine.source)
    return {source: int(count) for source, count in session.execute(query)}


def load_cursor(session: Session, source: str) -> str | None:
    row = session.get(Cursor, source)
    return row.value if row else None


def quarantined(session: Session, source: str | None = None, limit: int = 100) -> list[Quarantine]:
    query = select(Quarantine).order_by(Quarantine.id.desc()).limit(limit)  # type: ignore[union-attr]
    if source is not None:
        query = query.where(Quarantine.source == source)
    return list(session.scalars(query))
