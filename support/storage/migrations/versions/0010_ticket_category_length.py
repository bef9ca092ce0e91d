"""Ticket categories as long as the console allows (32 characters, was 16).

The ticket form now offers the categories maintainers configure in the console.
SQLite does not enforce VARCHAR lengths, and rebuilding the table there (batch mode)
would drop it with foreign keys on, cascading to every ticket event: PostgreSQL only.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    _resize(16, 32)


def downgrade() -> None:
    _resize(32, 16)


def _resize(old: int, new: int) -> None:
    if op.get_bind().dialect.name == "sqlite":
        return
    op.alter_column(
        "tickets",
        "category",
        existing_type=sa.String(old),
        type_=sa.String(new),
        existing_nullable=False,
    )
