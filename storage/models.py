"""The tables of CX Pulse. Alembic migrations under storage/migrations create them.

Datetimes are timezone-aware UTC in Python (SQLModel's UTCDateTime column type stores them)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


class Brand(SQLModel, table=True):
    key: str = Field(primary_key=True, max_length=40)
    name: str = Field(max_length=200)
    own: bool = False


class Phase(SQLModel, table=True):
    key: str = Field(primary_key=True, max_length=40)
    position: int
    name_nl: str = Field(max_length=200)
    name_en: str = Field(max_length=200)
    target: float


class Source(SQLModel, table=True):
    key: str = Field(primary_key=True, max_length=40)
    type: str = Field(max_length=40)


class Message(SQLModel, table=True):
    """One customer text (a review, a post, or one turn of a chat), stored once per source id."""

    __table_args__ = (
        UniqueConstraint("source", "external_id", name="uq_message_source_external_id"),
        Index("ix_message_unscored", "scored_at", "id"),
        # The explorer (storage/explore.py): narrow filters walk these newest-first, and the
        # verbatim table sorts by sentiment or rating without sorting the whole period.
        Index("ix_message_channel_created", "channel", "created_at"),
        Index("ix_message_source_created", "source", "created_at"),
        Index("ix_message_language_created", "language", "created_at"),
        Index("ix_message_sentiment", "sentiment"),
        Index("ix_message_rating", "rating"),
        # Sorting by rating (five values, ties in time order) over a period (migration 0006).
        Index("ix_message_rating_created", "rating", "created_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(max_length=40)
    external_id: str = Field(max_length=200)
    channel: str = Field(max_length=20)
    language: str | None = Field(default=None, max_length=10)
    text: str = Field(sa_column=Column(Text, nullable=False))  # redacted: safe to display anywhere
    # The unredacted text, only when redaction.keep_original is on; purged after the retention.
    original_text: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_at: datetime = Field(index=True)
    ingested_at: datetime = Field(default_factory=utcnow)
    rating: float | None = None
    conversation_id: str | None = Field(default=None, max_length=200, index=True)
    turn_role: str | None = Field(default=None, max_length=20)
    redactions: int = 0  # how many pieces of personal data were removed from `text`
    scored_at: datetime | None = None
    # A scoring worker's claim: others skip the message until the claim expires (lease), so a
    # worker that dies mid-batch only delays its messages, it never loses them.
    claimed_by: str | None = Field(default=None, max_length=100)
    claimed_until: datetime | None = None
    sentiment: float | None = None  # mean over the scored units, -1..1
    sentiment_label: str | None = Field(default=None, max_length=20)
    model: str | None = Field(default=None, max_length=200)


class MessageBrand(SQLModel, table=True):
    """Which brands a message is about; a post that mentions two brands belongs to both."""

    __tablename__ = "message_brand"
    __table_args__ = (
        # The explorer walks one brand's messages newest-first (storage/explore.py,
        # _mentions_query) instead of every message of the period (migration 0007).
        Index("ix_message_brand_brand_created", "brand", "created_at", "message_id"),
    )
    message_id: int = Field(foreign_key="message.id", primary_key=True)
    brand: str = Field(primary_key=True, max_length=40, index=True)
    # The message's created_at, copied when the link is written (storage.messages.store_batch):
    # a message's created_at does not change once stored.
    created_at: datetime


class UnitScore(SQLModel, table=True):
    """Sentiment of one sentence or clause of a message, for one phase (or "general")."""

    __tablename__ = "unit_score"
    id: int | None = Field(default=None, primary_key=True)
    message_id: int = Field(foreign_key="message.id", index=True)
    position: int
    text: str = Field(sa_column=Column(Text, nullable=False))
    phase: str = Field(max_length=40)
    score: float
    label: str = Field(max_length=20)
    confidence: float
    model: str = Field(max_length=200)
    model_revision: str = Field(max_length=100)


class MessagePhase(SQLModel, table=True):
    """A message's sentiment about one phase: the mean of its units in that phase."""

    __tablename__ = "message_phase"
    message_id: int = Field(foreign_key="message.id", primary_key=True)
    phase: str = Field(primary_key=True, max_length=40)
    score: float
    label: str = Field(max_length=20)
    units: int


class Rollup(SQLModel, table=True):
    """Per hour × brand × phase × channel: how many message-phases, their sum and labels."""

    __table_args__ = (
        # Covers the explorer's period reads (storage/explore.py): a 90-day chart sums ~200,000
        # rows from the index alone instead of visiting the table once per row.
        Index(
            "ix_rollup_covering",
            "bucket",
            "brand",
            "phase",
            "channel",
            "count",
            "score_sum",
            "negative",
            "positive",
        ),
    )

    bucket: datetime = Field(primary_key=True)
    brand: str = Field(primary_key=True, max_length=40)
    phase: str = Field(primary_key=True, max_length=40)
    channel: str = Field(primary_key=True, max_length=20)
    count: int = 0
    score_sum: float = 0.0
    negative: int = 0
    positive: int = 0


class Cursor(SQLModel, table=True):
    """Where a source's next fetch starts; written in the same transaction as its batch."""

    source: str = Field(primary_key=True, max_length=40)
    value: str = Field(sa_column=Column(Text, nullable=False))
    updated_at: datetime = Field(default_factory=utcnow)


class Lease(SQLModel, table=True):
    """A named lease (e.g. "scheduler"): whoever holds an unexpired one leads; others wait."""

    name: str = Field(primary_key=True, max_length=40)
    holder: str = Field(max_length=200)
    expires_at: datetime


class SourceHealth(SQLModel, table=True):
    """How each source is doing: shown on the status page and by `cxpulse sources status`."""

    __tablename__ = "source_health"
    source: str = Field(primary_key=True, max_length=40)
    last_run_at: datetime | None = None
    last_success_at: datetime | None = None
    last_error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    last_error_at: datetime | None = None
    consecutive_failures: int = 0
    items_fetched: int = 0  # new messages stored, all runs together
    last_items: int = 0  # new messages stored by the last successful run
    next_attempt_at: datetime | None = None  # backing off until then after failures


class Quarantine(SQLModel, table=True):
    """Input that could not be parsed, kept with its error so nothing is silently dropped."""

    id: int | None = Field(default=None, primary_key=True)
    source: str = Field(max_length=40, index=True)
    reference: str = Field(max_length=500)
    payload: str = Field(sa_column=Column(Text, nullable=False))
    error: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(default_factory=utcnow)


class Alert(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    brand: str = Field(max_length=40)
    phase: str = Field(max_length=40)
    started_at: datetime = Field(index=True)
    ended_at: datetime | None = None
    observed: float
    expected: float
    reason: str = Field(sa_column=Column(Text, nullable=False))


class User(SQLModel, table=True):
    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(max_length=100, unique=True)
    password_hash: str = Field(max_length=300)
    role: str = Field(default="viewer", max_length=20)
    active: bool = True
    created_at: datetime = Field(default_factory=utcnow)


class MessageHandling(SQLModel, table=True):
    """What the CX team did with a message: handled or not, who has it, and a note."""

    __tablename__ = "message_handling"
    message_id: int = Field(foreign_key="message.id", primary_key=True)
    handled: bool = False
    assignee: str | None = Field(default=None, max_length=100)
    note: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    updated_by: str = Field(max_length=100)
    updated_at: datetime = Field(default_factory=utcnow)


class Label(SQLModel, table=True):
    """A correction by the CX team: the right polarity and/or phase of a unit or a whole message.

    Each label is training data for the organisation's own model (sentiment.finetune); the text is
    kept as it was labelled (redacted), so a later change to segmentation cannot move the label."""

    id: int | None = Field(default=None, primary_key=True)
    # None for labels imported from a file about texts that are not stored messages.
    message_id: int | None = Field(default=None, foreign_key="message.id", index=True)
    unit_position: int | None = None  # None: the label is about the whole message
    text: str = Field(sa_column=Column(Text, nullable=False))
    language: str | None = Field(default=None, max_length=10)
    polarity: str | None = Field(default=None, max_length=20)  # negative / neutral / positive
    phase: str | None = Field(default=None, max_length=40)  # the right phase, or "general"
    # What the model said when the label was given: a correction's "before".
    model_score: float | None = None
    model_phases: str | None = Field(default=None, max_length=400)  # comma-separated
    model: str | None = Field(default=None, max_length=200)
    origin: str = Field(default="explorer", max_length=40)  # explorer / import / …
    created_by: str = Field(max_length=100)
    created_at: datetime = Field(default_factory=utcnow, index=True)


# Text search lives beside the models, not in them (migration 0006): SQLite's FTS5 table over
# message.text (with the shadow tables FTS5 keeps) and PostgreSQL's trigram GIN index have no
# SQLModel form, so Alembic's schema comparison must not see them as strays to drop.
TEXT_SEARCH_TABLE = "message_fts"
TEXT_SEARCH_INDEX = "ix_message_text_trgm"


def described_by_models(name: str | None, type_: str, parent_names: object) -> bool:
    """Alembic `include_name` hook: False for the text-search objects of migration 0006."""
    if type_ == "table" and name is not None:
        return name != TEXT_SEARCH_TABLE and not name.startswith(f"{TEXT_SEARCH_TABLE}_")
    if type_ == "index":
        return name != TEXT_SEARCH_INDEX
    return True
