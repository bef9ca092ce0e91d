"""Alembic environment: runs on the connection support.storage.migrate hands over."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from support.storage import Base

target_metadata = Base.metadata
connection = context.config.attributes.get("connection")

if connection is None:  # `alembic` command line: connect with the configured URL
    url = context.config.get_main_option("sqlalchemy.url")
    assert url, "sqlalchemy.url is not configured"
    with create_engine(url).connect() as fresh:
        context.configure(connection=fresh, target_metadata=target_metadata)
        with context.begin_transaction():
            context.run_migrations()
else:
    context.configure(connection=connection, target_metadata=target_metadata)
    with context.begin_transaction():
        context.run_migrations()
