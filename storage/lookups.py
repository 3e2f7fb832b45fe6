"""Small read-only lookups the ingest edge needs before it stores: known ids and brand keys.

They only answer questions; writing stays in storage.messages."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select
from sqlmodel import Session

from storage.models import Brand, Message

_CHUNK = 500  # ids per IN (...): stays under SQLite's bound-parameter limit


def existing_external_ids(session: Session, source: str, ids: Iterable[str]) -> set[str]:
    """Which of `ids` are already stored for `source`."""
    wanted = list(dict.fromkeys(ids))
    found: set[str] = set()
    for start in range(0, len(wanted), _CHUNK):
        chunk = wanted[start : start + _CHUNK]
        query = select(Message.external_id).where(
            Message.source == source,
            Message.external_id.in_(chunk),  # type: ignore[attr-defined]
        )
        found.update(session.scalars(query))
    return found


def brand_keys(session: Session) -> set[str]:
    """The brand keys mirrored from the configuration (storage.catalogue)."""
    return set(session.scalars(select(Brand.key)))
