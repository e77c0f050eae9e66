"""Widen intermediate values to text: a study with several objectives reports one per objective.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-05
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

_Text = sa.Text().with_variant(mysql.LONGTEXT(), "mysql", "mariadb")


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        return  # SQLite does not enforce VARCHAR lengths: the column already holds any text
    op.alter_column(
        "hyperdial_trial_intermediate",
        "value",
        existing_type=sa.String(32),
        type_=_Text,
        existing_nullable=False,
    )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        return
    op.alter_column(
        "hyperdial_trial_intermediate",
        "value",
        existing_type=_Text,
        type_=sa.String(32),
        existing_nullable=False,
    )
