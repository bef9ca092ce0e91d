"""Escalations the user withdrew while waiting (「不用人工了」): closed like a resolved
case, but the console says the user cancelled, not that an agent solved it.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Batch mode, so that SQLite takes it too (a new column needs no table rebuild).
    # Cases closed before it read as resolved: who closed them was not recorded.
    with op.batch_alter_table("escalations") as batch:
        batch.add_column(
            sa.Column("withdrawn", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("escalations") as batch:
        batch.drop_column("withdrawn")
