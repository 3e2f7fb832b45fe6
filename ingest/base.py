"""The contract every source fulfils: fetch from a cursor, return a batch and the next cursor.

Like a Singer/Airbyte incremental stream: the cursor is stored in the same transaction as the
batch it covers, so a crash re-reads a little and loses nothing."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, Protocol

Channel = Literal["review", "social", "chat"]
TurnRole = Literal["customer", "agent", "bot"]


@dataclass(frozen=True)
class IncomingMessage:
    """One customer text as a source delivers it, before redaction and storage."""

    source: str
    external_id: str
    channel: Channel
    text: str
    created_at: datetime  # timezone-aware (UTC)
    brands: tuple[str, ...] = ()  # brand keys; a post that mentions two brands belongs to both
    rating: float | None = None  # the source's own scale, e.g. 1-5 stars
    conversation_id: str | None = None
    turn_role: TurnRole | None = None
    author: str | None = None
    language: str | None = None  # a hint from the source, if it gives one


@dataclass(frozen=True)
class Rejected:
    """Input that could not be turned into a message: kept in quarantine with its reason."""

    source: str
    reference: str  # where it came from, e.g. "reviews.csv:17" or "demo#123"
    payload: str
    error: str


@dataclass
class Batch:
    messages: list[IncomingMessage] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)
    next_cursor: str | None = None
    has_more: bool = False  # more is waiting right now: the runner fetches again from next_cursor


class Source(Protocol):
    """A stream of customer messages with a resumable cursor."""

    key: str

    def fetch(self, cursor: str | None) -> Batch:
        """Return what is new since `cursor` and the cursor that covers it."""
        ...
