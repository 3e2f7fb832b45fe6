"""labels: the CX team's corrections of sentiment and phase, training data for the own model

Revision ID: 0005
Revises: 0004 (message handling and explorer indexes)
Create Date: 2026-12-01 20:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    string = sqlmodel.sql.sqltypes.AutoString
    op.create_table(
        "label",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=True),
        sa.Column("unit_position", sa.Integer(), nullable=True),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("language", string(length=10), nullable=True),
        sa.Column("polarity", string(length=20), nullable=True),
        sa.Column("phase", string(length=40), nullable=True),
        sa.Column("model_score", sa.Float(), nullable=True),
        sa.Column("model_phases", string(length=400), nullable=True),
        sa.Column("model", string(length=200), nullable=True),
        sa.Column("origin", string(length=40), nullable=False),
        sa.Column("created_by", string(length=100), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["message_id"], ["message.id"]),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("label", schema=None) as batch_op:
        batch_op.create_index("ix_label_message_id", ["message_id"], unique=False)
        batch_op.create_index("ix_label_created_at", ["created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("label", schema=None) as batch_op:
        batch_op.drop_index("ix_label_created_at")
        batch_op.drop_index("ix_label_message_id")
    op.drop_table("label")
