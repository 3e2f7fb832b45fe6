"""message handling and explorer indexes (messages and rollups)

Revision ID: 0004
Revises: 0003 (worker claims and leases)
Create Date: 2026-11-24 09:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (name, columns) of the message indexes the explorer's filters and sorting use.
MESSAGE_INDEXES = (
    ("ix_message_channel_created", ["channel", "created_at"]),
    ("ix_message_source_created", ["source", "created_at"]),
    ("ix_message_language_created", ["language", "created_at"]),
    ("ix_message_sentiment", ["sentiment"]),
    ("ix_message_rating", ["rating"]),
)
# Every column of the rollup: the explorer's period sums read the index alone.
ROLLUP_COVERING = [
    "bucket",
    "brand",
    "phase",
    "channel",
    "count",
    "score_sum",
    "negative",
    "positive",
]


def upgrade() -> None:
    op.create_table(
        "message_handling",
        sa.Column("message_id", sa.Integer(), nullable=False),
        sa.Column("handled", sa.Boolean(), nullable=False),
        sa.Column("assignee", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("updated_by", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("updated_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["message_id"], ["message.id"]),
        sa.PrimaryKeyConstraint("message_id"),
    )
    with op.batch_alter_table("message", schema=None) as batch_op:
        for name, columns in MESSAGE_INDEXES:
            batch_op.create_index(name, columns, unique=False)
    with op.batch_alter_table("rollup", schema=None) as batch_op:
        batch_op.create_index("ix_rollup_covering", ROLLUP_COVERING, unique=False)


def downgrade() -> None:
    with op.batch_alter_table("rollup", schema=None) as batch_op:
        batch_op.drop_index("ix_rollup_covering")
    with op.batch_alter_table("message", schema=None) as batch_op:
        for name, _columns in reversed(MESSAGE_INDEXES):
            batch_op.drop_index(name)
    op.drop_table("message_handling")
