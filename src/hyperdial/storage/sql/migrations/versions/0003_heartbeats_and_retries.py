"""Add trial heartbeats and a study's retry count, for reaping stale trials within a budget.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ADD COLUMN on every backend (SQLite too: a nullable column, and a NOT NULL one
    # with a constant default, need no table rebuild). Existing rows get NULL and 0.
    op.add_column("hyperdial_trials", sa.Column("heartbeat_at", sa.BigInteger, nullable=True))
    op.add_column(
        "hyperdial_studies",
        sa.Column("retries", sa.Integer, nullable=False, server_default=sa.text("0")),
    )


def downgrade() -> None:
    # SQLite drops a column in place since 3.35 (neither column is indexed or constrained).
    op.drop_column("hyperdial_studies", "retries")
    op.drop_column("hyperdial_trials", "heartbeat_at")
