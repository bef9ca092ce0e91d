"""WeChat resilience: leases on inbox claims, and the 客服消息 outbox.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("wechat_inbox") as table:
        # Until when the claiming worker owns the callback; NULL for rows written before.
        table.add_column(sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True))
        # The callback's XML while it is being processed, so a takeover can redo it.
        table.add_column(sa.Column("payload", sa.Text(), nullable=True))
    op.create_table(
        "wechat_outbox",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("openid", sa.String(128), nullable=False),
        sa.Column("parts", sa.JSON(), nullable=False),
        sa.Column("sent_parts", sa.Integer(), nullable=False),
        sa.Column("message_ids", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("errcode", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_wechat_outbox_due", "wechat_outbox", ["status", "next_attempt_at"])


def downgrade() -> None:
    op.drop_index("ix_wechat_outbox_due", table_name="wechat_outbox")
    op.drop_table("wechat_outbox")
    with op.batch_alter_table("wechat_inbox") as table:
        table.drop_column("payload")
        table.drop_column("lease_until")
