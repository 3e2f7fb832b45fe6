"""text search index on message.text (SQLite FTS5 trigram table, PostgreSQL pg_trgm GIN index);
message(rating, created_at) for the verbatim table sorted by rating

Revision ID: 0006
Revises: 0005 (labels)
Create Date: 2026-12-01 21:00:00.000000

Both index substrings (trigrams), so the explorer's search keeps its meaning: every word (and
a clicked phrase) must occur in the redacted text, case-insensitively, anywhere in a word.
Neither has a SQLModel form; storage.models.described_by_models keeps them out of schema
comparisons.

SQLite: `message_fts` is an external-content FTS5 table over message.text (it stores only the
index, rowid = message.id), kept in sync by triggers on insert, delete and updates of `text`
(a scoring update does not touch it). A later migration that makes Alembic's batch mode
*recreate* the message table drops these triggers with it and must create them again.
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SQLITE_UPGRADE = (
    "CREATE VIRTUAL TABLE message_fts USING fts5("
    "text, content='message', content_rowid='id', tokenize='trigram')",
    "CREATE TRIGGER message_fts_insert AFTER INSERT ON message BEGIN "
    "INSERT INTO message_fts (rowid, text) VALUES (new.id, new.text); END",
    "CREATE TRIGGER message_fts_delete AFTER DELETE ON message BEGIN "
    "INSERT INTO message_fts (message_fts, rowid, text) VALUES ('delete', old.id, old.text); END",
    "CREATE TRIGGER message_fts_update AFTER UPDATE OF text ON message BEGIN "
    "INSERT INTO message_fts (message_fts, rowid, text) VALUES ('delete', old.id, old.text); "
    "INSERT INTO message_fts (rowid, text) VALUES (new.id, new.text); END",
    # The backfill: index every message stored before this revision.
    "INSERT INTO message_fts (message_fts) VALUES ('rebuild')",
)
SQLITE_DOWNGRADE = (
    "DROP TRIGGER IF EXISTS message_fts_update",
    "DROP TRIGGER IF EXISTS message_fts_delete",
    "DROP TRIGGER IF EXISTS message_fts_insert",
    "DROP TABLE IF EXISTS message_fts",
)
POSTGRES_UPGRADE = (
    # A trusted extension (PostgreSQL 13+): the database owner may create it.
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    # Building the index is the backfill; ILIKE '%word%' uses it as it stands.
    "CREATE INDEX ix_message_text_trgm ON message USING gin (text gin_trgm_ops)",
)
# The extension stays: other schemas in the database may use it, and it holds no data.
POSTGRES_DOWNGRADE = ("DROP INDEX IF EXISTS ix_message_text_trgm",)


def _run(statements: Sequence[str]) -> None:
    for statement in statements:
        op.execute(statement)


def upgrade() -> None:
    with op.batch_alter_table("message", schema=None) as batch_op:
        batch_op.create_index("ix_message_rating_created", ["rating", "created_at"], unique=False)
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        _run(SQLITE_UPGRADE)
    elif dialect == "postgresql":
        _run(POSTGRES_UPGRADE)


def downgrade() -> None:
    with op.batch_alter_table("message", schema=None) as batch_op:
        batch_op.drop_index("ix_message_rating_created")
    dialect = op.get_bind().dialect.name
    if dialect == "sqlite":
        _run(SQLITE_DOWNGRADE)
    elif dialect == "postgresql":
        _run(POSTGRES_DOWNGRADE)
