"""What the KB decided for each bot reply; paraphrase suggestions from the analytics.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("messages") as batch:
        batch.add_column(sa.Column("kb", sa.JSON(none_as_null=True), nullable=True))
        # The analytics read one period of messages at a time.
        batch.create_index("ix_messages_created_at", ["created_at"])
    op.create_table(
        "paraphrase_suggestions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("query", sa.String(200), nullable=False),
        sa.Column("faq_id", sa.String(64), nullable=False, index=True),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("query", "faq_id"),
    )


def downgrade() -> None:
    op.drop_table("paraphrase_suggestions")
    with op.batch_alter_table("messages") as batch:
        batch.drop_index("ix_messages_created_at")
        batch.drop_column("kb")
