"""Baseline: the first released schema.

A new database is created from the models and stamped at the newest revision; this
baseline marks where databases made by pledgewatch 0.1 start. Later schema changes add
revisions after it, so an upgrade keeps a user's data.

Revision ID: 0001
Revises:
"""

from collections.abc import Sequence

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
