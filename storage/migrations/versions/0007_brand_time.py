"""message_brand.created_at (the message's) and an index (brand, created_at, message_id)

Revision ID: 0007
Revises: 0006 (text search)
Create Date: 2026-12-01 22:00:00.000000

The explorer's message-level charts with a brand filter walk that brand's links newest-first
through the new index instead of every message of the period (storage/explore.py,
_mentions_query). The column is a copy of message.created_at, written with the link
(storage.messages.store_batch); a message's created_at does not change once stored. The
upgrade backfills it from message. On SQLite, batch mode recreates message_brand (not message:
the FTS5 triggers of 0006 stay).
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BACKFILL = (
    "UPDATE message_brand SET created_at = "
    "(SELECT message.created_at FROM message WHERE message.id = message_brand.message_id)"
)


def upgrade() -> None:
    with op.batch_alter_table("message_brand", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True)
        )
    op.execute(BACKFILL)
    with op.batch_alter_table("message_brand", schema=None) as batch_op:
        batch_op.alter_column(
            "created_at", existing_type=sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False
        )
        batch_op.create_index(
            "ix_message_brand_brand_created", ["brand", "created_at", "message_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("message_brand", schema=None) as batch_op:
        batch_op.drop_index("ix_message_brand_brand_created")
        batch_op.drop_column("created_at")
