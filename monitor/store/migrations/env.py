"""Alembic environment: runs on the connection monitor.store.db hands it."""

from alembic import context
from sqlmodel import SQLModel

import monitor.store.tables  # noqa: F401

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=SQLModel.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
with context.begin_transaction():
    context.run_migrations()
