"""Escalations name the conversation they queue: sender_id becomes conversation_id.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29
"""

from __future__ import annotations

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Batch mode, so that SQLite (which Alembic cannot ALTER freely) takes it too.
    with op.batch_alter_table("escalations") as batch:
        batch.drop_index("ix_escalations_sender_id")
        batch.alter_column("sender_id", new_column_name="conversation_id")
    # After the batch: inside it the new index would still look for the old column name.
    op.create_index("ix_escalations_conversation_id", "escalations", ["conversation_id"])


def downgrade() -> None:
    with op.batch_alter_table("escalations") as batch:
        batch.drop_index("ix_escalations_conversation_id")
        batch.alter_column("conversation_id", new_column_name="sender_id")
    op.create_index("ix_escalations_sender_id", "escalations", ["sender_id"])
